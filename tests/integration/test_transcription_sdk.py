"""Transcription sessions and transcription logprobs through the official openai SDK.

Real engine, real Whisper, real sockets; every server event is validated with the
SDK's own types (openai-agents' strict union) before it is parsed.
"""

from __future__ import annotations

import math

import pytest
from openai import AsyncOpenAI

from rtnb.wer import word_error_rate
from tests.integration.test_engine_sdk import of, recv, stream, until

pytestmark = pytest.mark.slow

LOGPROBS = "item.input_audio_transcription.logprobs"


def transcription_connect(engine):
    """A transcription session, as OpenAI opens one: no model, ``intent=transcription``."""
    client = AsyncOpenAI(api_key="local", websocket_base_url=engine.url)
    return client.realtime.connect(extra_query={"intent": "transcription"})


def check_logprobs(entries, transcript: str) -> None:
    assert entries, "no logprobs"
    assert "".join(e.token for e in entries).strip() == transcript
    for e in entries:
        assert e.logprob <= 0 and math.isfinite(e.logprob)
        assert bytes(e.bytes).decode() == e.token


async def test_transcription_session_transcribes_turns_and_gives_no_answer(engine, speech):
    said = ["I would like to book a table for two.", "Can you change it to Friday?"]
    async with transcription_connect(engine) as conn:
        created = await recv(conn)
        assert created.type == "session.created" and created.session.type == "transcription"
        await conn.session.update(session={
            "type": "transcription", "include": [LOGPROBS],
            "audio": {"input": {"transcription": {"model": "gpt-live-transcribe",
                                                  "language": "en"},
                                "turn_detection": {"type": "server_vad",
                                                   "silence_duration_ms": 400}}}})
        updated = await recv(conn)
        assert updated.type == "session.updated" and updated.session.type == "transcription"
        assert updated.session.include == [LOGPROBS]
        for text in said:
            await stream(conn, speech.with_silence(speech.utterance(text), 300, 900))
        events = await until(conn, "conversation.item.input_audio_transcription.completed",
                             timeout=60, n=2)
        # Nothing answers: the next event after a response.create is its refusal.
        await conn.response.create()
        refused = await recv(conn)
    kinds = [e.type for e in events]
    assert not [k for k in kinds if k.startswith("response.")]
    assert kinds.count("input_audio_buffer.speech_started") == 2
    assert kinds.count("input_audio_buffer.committed") == 2
    completed = of(events, "conversation.item.input_audio_transcription.completed")
    for text, done in zip(said, completed, strict=True):
        assert word_error_rate(text, done.transcript) <= 0.25
        check_logprobs(done.logprobs, done.transcript)
        deltas = [e for e in of(events, "conversation.item.input_audio_transcription.delta")
                  if e.item_id == done.item_id]
        assert "".join(d.delta for d in deltas) == done.transcript
        assert [lp for d in deltas for lp in d.logprobs] == done.logprobs
    assert refused.type == "error" and refused.error.code == "unsupported_event"


async def test_a_realtime_session_can_include_logprobs(engine, speech):
    said = "What's the weather in Paris?"
    client = AsyncOpenAI(api_key="local", websocket_base_url=engine.url)
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        await conn.session.update(session={
            "type": "realtime", "include": [LOGPROBS], "output_modalities": ["text"],
            "audio": {"input": {"turn_detection": None,
                                "transcription": {"model": "gpt-live-transcribe"}}}})
        await stream(conn, speech.utterance(said))
        await conn.input_audio_buffer.commit()
        events = await until(conn, "conversation.item.input_audio_transcription.completed")
        # A transcription-session update is refused on a realtime session.
        await conn.session.update(session={"type": "transcription"})
        refused = await until(conn, "error")
    (done,) = of(events, "conversation.item.input_audio_transcription.completed")
    assert word_error_rate(said, done.transcript) <= 0.25
    check_logprobs(done.logprobs, done.transcript)
    assert refused[-1].error.param == "session.type"
