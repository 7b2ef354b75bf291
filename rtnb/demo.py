"""``rtnb demo``: the local engine plus a talking session.

A synthetic user (the engine's own TTS) speaks each line into an
``rtnb.Session`` paced like a microphone; the engine detects the turn,
transcribes, calls a tool and answers with speech. The transcript and the
per-turn latency are printed, and the call is saved as a recording.
"""

from __future__ import annotations

import asyncio

from .agents import Agent, tool

DEFAULT_LINES = [
    "Hello there!",
    "What's the weather in Paris?",
    "Thanks, goodbye.",
]


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


def run_demo(lines: list[str] | None, out_path: str) -> int:
    from .engine.background import shared_engine

    print("rtnb demo: starting the local engine (loading offline speech models)...", flush=True)
    engine = shared_engine(progress=lambda m: print(f"  {m}", flush=True))
    print(f"engine at {engine.url}", flush=True)
    try:
        asyncio.run(_talk(lines or DEFAULT_LINES, out_path))
    finally:
        engine.stop()
    return 0


async def _talk(lines: list[str], out_path: str) -> None:
    from .engine.parts import default_tts
    from .session import Session

    agent = Agent("Assistant", "You are a friendly assistant. Use get_weather for weather.",
                  tools=[get_weather])
    tts = default_tts()
    async with Session(agent, backend="local") as session:
        for line in lines:
            speech = b"".join(pcm for _, pcm in tts.synthesize(line, voice="coral"))
            print(f"\nyou   > {line}", flush=True)
            await session.send_audio(speech + b"\x00" * (48 * 900), paced=True)
            await session.wait()
            await session.wait_played()
            turn = session.turns[-1]
            print(f"heard > {turn.user_text}")
            for call in [c for c in session.transcript.tool_calls if c.t >= turn.t]:
                print(f"tool  > {call.name}({call.arguments}) = {call.output}")
            print(f"agent > {session.transcript.last('assistant')}")
            print(f"        e2e {turn.e2e:.0f} ms (includes the 500 ms silence window), "
                  f"end of turn {turn.end_of_turn_delay:.0f} ms, "
                  f"first audio {turn.ttfb:.0f} ms after response.created", flush=True)
        path = session.save(out_path)
    print(f"\n{session.metrics()!r}\n\nrecording saved to {path}/ (events.jsonl, input.wav, "
          "output.wav); rtnb.load() replays it.")
