"""The reply's first sentence is prepared in the silence window and used by the response.

Real models through the official SDK: the speculative decode at the user's pause lets the
engine ask the (predictable) rule brain ahead and start the first sentence's synthesis;
the response then streams that audio instead of synthesizing the sentence again.
"""

from __future__ import annotations

import asyncio
import base64

from openai import AsyncOpenAI

from tests import speechgen

#: Audio is sent faster than real time, so the test waits where a user pauses: the
#: speculative decode then finishes inside the silence window, as it does live.
PAUSE_S = 1.5


def said_trimmed(text: str) -> bytes:
    """Synthetic speech without the synthesizer's own silence at either end."""
    return speechgen.trim(speechgen.utterance(text))


def ms(n: float) -> bytes:
    """``n`` ms of silence."""
    return bytes(int(n) * 48)


async def spoken_turn(url: str, pieces: list[bytes], session: dict | None = None) -> dict:
    """Send ``pieces`` of the user's audio with a pause after each but the last.

    Each piece but the last ends in 400 ms of silence: a pause (over ``PAUSE_MS``) the
    engine decodes at, inside the 500 ms silence window.
    """
    client = AsyncOpenAI(api_key="x", websocket_base_url=url)
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        if session:
            await conn.session.update(session={"type": "realtime", **session})
        for n, pcm in enumerate(pieces):
            if n:
                await asyncio.sleep(PAUSE_S)
            for i in range(0, len(pcm), 1920):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(pcm[i:i + 1920]).decode())
        audio, transcript = 0, ""
        async for ev in conn:
            if ev.type == "response.output_audio.delta":
                audio += len(base64.b64decode(ev.delta))
            elif ev.type == "response.output_audio_transcript.done":
                transcript = ev.transcript
            elif ev.type == "response.done":
                return {"audio": audio, "transcript": transcript, "status": ev.response.status}
    raise AssertionError("the connection closed before response.done")


async def test_the_response_speaks_the_prepared_first_sentence(engine):
    stats = engine.server.engine.stats
    before = (stats.prepared, stats.prepared_used)
    said = said_trimmed("What is the weather in Paris?")
    got = await spoken_turn(engine.url, [speechgen.with_silence(said, 300, 400), ms(500)])
    assert got["status"] == "completed" and got["audio"] > 24000 and got["transcript"]
    assert stats.prepared == before[0] + 1
    assert stats.prepared_used == before[1] + 1


async def test_a_text_reply_prepares_nothing(engine):
    stats = engine.server.engine.stats
    before = stats.prepared
    said = speechgen.with_silence(said_trimmed("Hello there."), 300, 400)
    got = await spoken_turn(engine.url, [said, ms(500)], {"output_modalities": ["text"]})
    assert got["status"] == "completed" and got["audio"] == 0
    assert stats.prepared == before


async def test_speech_after_a_pause_drops_the_first_guess(engine):
    stats = engine.server.engine.stats
    before = (stats.prepared, stats.prepared_used)
    first = said_trimmed("I would like to book a table")
    then = said_trimmed("for two people tonight.")
    got = await spoken_turn(engine.url, [speechgen.with_silence(first, 300, 400),
                                         speechgen.with_silence(then, 0, 400), ms(500)])
    assert got["status"] == "completed" and got["audio"] > 24000
    # One guess per pause: the one after "I would like to book a table" is stale once
    # the user goes on; only the last one is spoken.
    assert stats.prepared == before[0] + 2
    assert stats.prepared_used == before[1] + 1
