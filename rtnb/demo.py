"""``rtnb demo``: start the local engine and hold a short spoken conversation.

A synthetic user (the engine's own TTS) speaks each line; the official
``openai`` SDK streams it to the engine under server VAD; the transcript, the
reply and the latency of each turn are printed, and both sides are written to
a WAV file.
"""

from __future__ import annotations

import asyncio
import base64
import time

DEFAULT_LINES = [
    "Hello there!",
    "What's the weather in Paris?",
    "Thanks, goodbye.",
]

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}


def run_demo(lines: list[str] | None, out_path: str) -> int:
    from .engine.background import start_engine

    print("rtnb demo: starting the local engine (loading offline speech models)...", flush=True)
    with start_engine(progress=lambda m: print(f"  {m}", flush=True)) as engine:
        print(f"engine at {engine.url}", flush=True)
        return asyncio.run(_talk(engine.url, lines or DEFAULT_LINES, out_path))


async def _talk(url: str, lines: list[str], out_path: str) -> int:
    import numpy as np
    from openai import AsyncOpenAI

    from . import audio
    from .engine.parts import default_tts

    tts = default_tts()
    client = AsyncOpenAI(api_key="local", websocket_base_url=url)
    timeline: list[bytes] = []
    async with client.realtime.connect(model="rtnb-local") as conn:
        await conn.session.update(session={
            "type": "realtime",
            "instructions": "You are a friendly assistant. Use get_weather for weather questions.",
            "tools": [WEATHER_TOOL],
            "audio": {"input": {"transcription": {"model": "whisper-tiny.en"}}},
        })
        for line in lines:
            speech = b"".join(pcm for _, pcm in tts.synthesize(line))
            silence = b"\x00" * (48 * 800)
            timeline.append(speech + silence)
            print(f"\nyou  > {line}", flush=True)
            sent_at = time.perf_counter()
            for i in range(0, len(speech + silence), 4800):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode((speech + silence)[i:i + 4800]).decode())
            reply = await _collect_turn(conn, sent_at)
            timeline.append(reply)
    audio.write_wav(out_path, np.frombuffer(b"".join(timeline), dtype="<i2").astype("float32")
                    / 32768.0)
    print(f"\nwrote {out_path}")
    return 0


async def _collect_turn(conn, sent_at: float) -> bytes:
    """Print one turn's events until the final response is done; return its audio."""
    out = bytearray()
    stopped_at = None
    first_audio = None
    async for event in conn:
        kind = event.type
        if kind == "input_audio_buffer.speech_stopped":
            stopped_at = time.perf_counter()
        elif kind == "conversation.item.input_audio_transcription.completed":
            print(f"heard> {event.transcript}", flush=True)
        elif kind == "response.output_audio.delta":
            if first_audio is None:
                first_audio = time.perf_counter()
            out += base64.b64decode(event.delta)
        elif kind == "response.output_audio_transcript.done":
            print(f"agent> {event.transcript}", flush=True)
        elif kind == "response.function_call_arguments.done":
            print(f"tool > {event.name}({event.arguments})", flush=True)
            await conn.conversation.item.create(item={
                "type": "function_call_output", "call_id": event.call_id,
                "output": '{"city": "Paris", "temperature_c": 18, "conditions": "sunny"}'})
            await conn.response.create()
        elif kind == "error":
            print(f"error> {event.error.message}", flush=True)
        elif kind == "response.done":
            calls = [o for o in event.response.output or [] if o.type == "function_call"]
            if not calls:
                if stopped_at and first_audio:
                    print(f"       (first audio {1000 * (first_audio - stopped_at):.0f} ms "
                          "after the end-of-turn decision)", flush=True)
                return bytes(out)
    return bytes(out)
