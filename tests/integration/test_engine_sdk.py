"""The official openai SDK against the real engine: real sockets, real models.

Every server event is validated strictly (openai-agents' own union) before the
SDK parses it, so one malformed event fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pytest
from openai import AsyncOpenAI, OpenAI

from rtnb.wer import word_error_rate
from tests.wire import validate_server_event

pytestmark = pytest.mark.slow

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string",
                                                             "description": "City name"}},
                   "required": ["city"]},
}


def connect(engine, **kw):
    client = AsyncOpenAI(api_key=kw.pop("api_key", "local"), websocket_base_url=engine.url)
    return client.realtime.connect(model="gpt-realtime-2.1")


async def recv(conn, timeout=30.0):
    raw = await asyncio.wait_for(conn.recv_bytes(), timeout)
    validate_server_event(json.loads(raw))
    return conn.parse_event(raw)


async def until(conn, kind: str, timeout=30.0, n=1):
    """Events up to and including the n-th event of type ``kind``."""
    seen = []
    while True:
        ev = await recv(conn, timeout)
        seen.append(ev)
        if ev.type == kind:
            n -= 1
            if n == 0:
                return seen


async def stream(conn, pcm: bytes, chunk_ms: int = 40):
    step = chunk_ms * 48
    for i in range(0, len(pcm), step):
        await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i:i + step]).decode())


def audio_of(events) -> bytes:
    return b"".join(base64.b64decode(e.delta) for e in events
                    if e.type == "response.output_audio.delta")


def of(events, kind):
    return [e for e in events if e.type == kind]


async def test_text_turn_with_audio_reply(engine):
    async with connect(engine) as conn:
        first = await recv(conn)
        assert first.type == "session.created"
        await conn.conversation.item.create(item={
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Hello!"}]})
        await conn.response.create()
        events = await until(conn, "response.done")
    pcm = audio_of(events)
    assert len(pcm) > 48 * 300  # at least 0.3 s of 24 kHz PCM16
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 1000  # not silence
    deltas = "".join(e.delta for e in of(events, "response.output_audio_transcript.delta"))
    done = of(events, "response.output_audio_transcript.done")[0].transcript
    assert deltas == done and done
    assert of(events, "response.done")[0].response.status == "completed"


def test_sync_client_text_only(engine):
    client = OpenAI(api_key="local", websocket_base_url=engine.url)
    with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        conn.conversation.item.create(item={
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Who are you?"}]})
        conn.response.create()
        kinds, text = [], ""
        for ev in conn:
            kinds.append(ev.type)
            if ev.type == "response.output_text.done":
                text = ev.text
            if ev.type == "response.done":
                break
    assert "response.output_audio.delta" not in kinds
    assert "not" in text.lower() and ("language model" in text.lower() or "llm" in text.lower())


async def test_spoken_turn_under_server_vad(engine, speech):
    said = "What's the weather in Paris?"
    pcm = speech.with_silence(speech.utterance(said), 400, 1000)
    async with connect(engine) as conn:
        await conn.session.update(session={
            "type": "realtime", "tools": [WEATHER],
            "audio": {"input": {"transcription": {"model": "gpt-live-transcribe"}}}})
        await stream(conn, pcm)
        events = await until(conn, "response.done")
    kinds = [e.type for e in events]
    for kind in ("input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                 "input_audio_buffer.committed",
                 "conversation.item.input_audio_transcription.completed"):
        assert kind in kinds
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index(
        "input_audio_buffer.speech_stopped") < kinds.index("input_audio_buffer.committed")
    transcript = of(events, "conversation.item.input_audio_transcription.completed")[0]
    assert word_error_rate(said, transcript.transcript) <= 0.25
    started = of(events, "input_audio_buffer.speech_started")[0]
    stopped = of(events, "input_audio_buffer.speech_stopped")[0]
    speech_ms = len(speech.utterance(said)) / 48
    assert 0 <= started.audio_start_ms <= 400
    assert abs(stopped.audio_end_ms - (400 + speech_ms)) < 300
    call = of(events, "response.function_call_arguments.done")[0]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}


async def test_push_to_talk_and_tool_round_trip(engine, speech):
    said = "What's the weather in Tokyo?"
    async with connect(engine) as conn:
        await conn.session.update(session={
            "type": "realtime", "tools": [WEATHER],
            "audio": {"input": {"turn_detection": None}}})
        await conn.input_audio_buffer.clear()
        await stream(conn, speech.with_silence(speech.utterance(said), 100, 200))
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        events = await until(conn, "response.done")
        assert "input_audio_buffer.speech_started" not in [e.type for e in events]
        call = of(events, "response.function_call_arguments.done")[0]
        assert json.loads(call.arguments)["city"] == "Tokyo"
        await conn.conversation.item.create(item={
            "type": "function_call_output", "call_id": call.call_id,
            "output": json.dumps({"nextResponse": "It is sunny in Tokyo today."})})
        await conn.response.create()
        events = await until(conn, "response.done")
    done = of(events, "response.output_audio_transcript.done")[0]
    assert done.transcript == "It is sunny in Tokyo today."
    assert len(audio_of(events)) > 48 * 500


async def test_barge_in_cancels_and_truncate_keeps_heard_text(engine, speech):
    long_reply = ("This is a long answer. It has several sentences. Each one takes a while to "
                  "say. You will interrupt me before I finish.")
    async with connect(engine) as conn:
        # The brain reads a supervisor's nextResponse verbatim: a long, known reply.
        await conn.conversation.item.create(item={
            "type": "function_call", "name": "getNextResponseFromSupervisor",
            "call_id": "call_story", "arguments": "{}"})
        await conn.conversation.item.create(item={
            "type": "function_call_output", "call_id": "call_story",
            "output": json.dumps({"nextResponse": long_reply})})
        await conn.response.create()
        first = await until(conn, "response.output_audio.delta")
        item_id = of(first, "response.output_audio.delta")[0].item_id
        # The user starts talking while the reply is still being generated.
        await stream(conn, speech.utterance("Stop, please."))
        events = await until(conn, "response.done")
        kinds = [e.type for e in events]
        assert "input_audio_buffer.speech_started" in kinds
        done = of(events, "response.done")[0].response
        if done.status == "cancelled":
            assert done.status_details.reason == "turn_detected"
        played_ms = 300  # what the client's player actually played
        await conn.conversation.item.truncate(item_id=item_id, content_index=0,
                                              audio_end_ms=played_ms)
        truncated = await until(conn, "conversation.item.truncated")
        assert truncated[-1].audio_end_ms == played_ms
        await conn.conversation.item.retrieve(item_id=item_id)
        item = (await until(conn, "conversation.item.retrieved"))[-1].item
    heard = item.content[0].transcript
    assert len(base64.b64decode(item.content[0].audio)) == played_ms * 48
    assert long_reply.startswith(heard) and len(heard) < len(long_reply)


async def test_error_event_echoes_client_id_and_session_survives(engine):
    async with connect(engine) as conn:
        await recv(conn)
        await conn.send({"type": "response.cancel", "event_id": "evt_mine"})
        err = (await until(conn, "error"))[-1]
        assert err.error.code == "response_cancel_not_active"
        assert err.error.event_id == "evt_mine"
        await conn.send({"type": "input_audio_buffer.commit"})
        err = (await until(conn, "error"))[-1]
        assert err.error.code == "input_audio_buffer_commit_empty"
        # A spoken item (push to talk): the first response waits for its transcript, so
        # it is surely still active when the second response.create arrives (a reply said
        # before comes from the sentence cache and could finish in between).
        from tests import speechgen

        await conn.session.update(session={"type": "realtime", "audio": {"input": {
            "turn_detection": None}}})
        await conn.input_audio_buffer.append(
            audio=base64.b64encode(speechgen.utterance("Hi there.")).decode())
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        await conn.response.create()
        events = await until(conn, "error")
        assert events[-1].error.code == "conversation_already_has_active_response"
        events = await until(conn, "response.done")
        assert of(events, "response.done")[0].response.status == "completed"


async def test_g711_output(engine):
    async with connect(engine) as conn:
        await conn.session.update(session={"type": "realtime", "audio": {"output": {
            "format": {"type": "audio/pcma"}}}})
        await conn.conversation.item.create(item={
            "type": "message", "role": "user", "content": [{"type": "input_text",
                                                            "text": "hello"}]})
        await conn.response.create()
        events = await until(conn, "response.done")
    wire = audio_of(events)
    from rtnb import audio

    pcm = audio.decode(wire, "audio/pcma")
    assert abs(len(pcm) / 48 - len(wire) / 8) < 5  # 8 kHz, one byte per sample
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 1000


def test_responses_and_moderations_over_http(engine):
    client = OpenAI(api_key="local", base_url=engine.http_url)
    tools = [{"type": "function", "name": "lookupPolicyDocument",
              "description": "Look up internal policy documents by topic.",
              "parameters": {"type": "object", "properties": {"topic": {"type": "string"}},
                             "required": ["topic"]}}]
    first = client.responses.create(model="rtnb-local", tools=tools,
                                    input="What is your policy on roaming fees?")
    calls = [o for o in first.output if o.type == "function_call"]
    assert calls and calls[0].name == "lookupPolicyDocument"
    second = client.responses.create(
        model="rtnb-local", tools=tools, previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id,
                "output": json.dumps({"message": "Roaming costs $5 per day."})}])
    assert second.output_text == "Roaming costs $5 per day."
    mod = client.moderations.create(input=["I will hurt you badly", "have a nice day"])
    assert [r.flagged for r in mod.results] == [True, False]
