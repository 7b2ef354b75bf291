"""WebRTC calls on the real engine, placed with the official SDK (``client.realtime.calls``).

The caller is aiortc (tests/webrtc_peer.py): Opus both ways over real UDP on this
machine, events on the ``oai-events`` data channel. Every event the engine sends
is validated with openai-agents' strict union before anything else looks at it.
"""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("aiortc")

from openai import AsyncOpenAI, AuthenticationError, BadRequestError, NotFoundError  # noqa: E402

from rtnb.wer import word_error_rate  # noqa: E402
from tests.wire import validate_server_event  # noqa: E402

pytestmark = pytest.mark.slow

LONG_REPLY = ("This is a long answer. It has several sentences, and each one takes a while "
              "to say. You can interrupt me at any time before I get to the end of it.")
WEATHER = {
    "type": "function", "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}


def client_for(engine, key: str = "local") -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key, base_url=engine.http_url, max_retries=0)


@pytest.fixture
async def caller():
    from tests.webrtc_peer import Caller

    peers = []

    def make():
        peers.append(Caller())
        return peers[-1]

    yield make
    for peer in peers:
        await peer.close()


def checked(events):
    for event in events:
        validate_server_event(event)
    return events


def kinds(events):
    return [e["type"] for e in events]


async def long_reply(call):
    """Ask for LONG_REPLY (the brain reads a supervisor's nextResponse verbatim)."""
    call.send({"type": "conversation.item.create", "item": {
        "type": "function_call", "name": "getNextResponseFromSupervisor",
        "call_id": "call_long", "arguments": "{}"}})
    call.send({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": "call_long",
        "output": json.dumps({"nextResponse": LONG_REPLY})}})
    call.send({"type": "response.create"})
    return checked(await call.until("output_audio_buffer.started"))


async def generated(call, events: list[dict]) -> None:
    """Wait for the reply's ``response.done``, unless it came with ``events`` already (a
    reply whose sentences are cached is generated before its playback starts)."""
    if "response.done" not in kinds(events):
        await call.until("response.done")


async def test_spoken_question_tool_call_and_spoken_answer(engine, speech, caller):
    """Multipart offer with a session, Opus up, a tool call on the data channel, Opus down."""
    from rtnb.engine.parts import default_asr

    call = caller()
    raw = await call.call(client_for(engine), session={
        "type": "realtime", "instructions": "Use tools for weather.", "tools": [WEATHER],
        "audio": {"input": {"transcription": {"model": "gpt-live-transcribe"}}}})
    assert raw.status_code == 201
    assert raw.headers["content-type"] == "application/sdp"
    assert raw.headers["location"] == f"/v1/realtime/calls/{call.call_id}"
    assert engine.server.calls.get(call.call_id) is not None
    created = checked(await call.until("session.created"))[0]
    assert created["session"]["instructions"] == "Use tools for weather."
    assert [t["name"] for t in created["session"]["tools"]] == ["get_weather"]

    call.mic.say(speech.with_silence(speech.utterance("What's the weather in Paris?"), 300, 0))
    events = checked(await call.until("response.done"))
    transcript = next(e["transcript"] for e in events
                      if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert "paris" in transcript.lower()
    args = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert args["name"] == "get_weather" and json.loads(args["arguments"]) == {"city": "Paris"}
    call.send({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": args["call_id"],
        "output": json.dumps({"temperature_c": 18, "conditions": "sunny"})}})
    call.send({"type": "response.create"})
    events = checked(await call.until("output_audio_buffer.stopped"))
    order = kinds(events)
    assert "response.output_audio.delta" not in order  # the audio is media on WebRTC
    assert (order.index("response.content_part.added") < order.index(
        "output_audio_buffer.started") and order.index("response.done") < order.index(
        "output_audio_buffer.stopped"))
    done = next(e for e in events if e["type"] == "response.done")["response"]
    started = next(e for e in events if e["type"] == "output_audio_buffer.started")
    assert started["response_id"] == done["id"]
    answer = done["output"][0]["content"][0]["transcript"]
    assert "sunny" in answer.lower()
    # What the caller heard (Opus, resampled) is that answer: Whisper agrees with the transcript.
    heard = default_asr().transcribe_full(bytes(call.heard))  # the reference decode
    assert word_error_rate(answer, heard) < 0.35, (answer, heard)


async def test_cancel_clear_and_truncate_cut_what_is_unplayed(engine, caller):
    call = caller()
    await call.call(client_for(engine))
    await call.until("session.created")
    client = client_for(engine)

    # 1. response.cancel while the reply plays, its generation over (a fast machine's case
    # anyway): the rest is never played.
    events = await long_reply(call)
    item_id = next(e for e in events if e["type"] == "response.output_item.added")["item"]["id"]
    await generated(call, events)
    await asyncio.sleep(0.8)
    call.send({"type": "response.cancel"})
    events = checked(await call.until("conversation.item.truncated"))
    assert "output_audio_buffer.cleared" in kinds(events)
    cut = events[-1]
    assert cut["item_id"] == item_id and 100 <= cut["audio_end_ms"] < 6000
    call.send({"type": "conversation.item.retrieve", "item_id": item_id})
    item = checked(await call.until("conversation.item.retrieved"))[-1]["item"]
    heard_text = item["content"][0]["transcript"]
    assert heard_text and LONG_REPLY.startswith(heard_text) and heard_text != LONG_REPLY
    assert "audio" not in item["content"][0]  # item audio stays off the data channel

    # 2. output_audio_buffer.clear (what the JS SDK's interrupt() sends).
    await long_reply(call)
    await asyncio.sleep(0.5)
    call.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear"})
    events = checked(await call.until("conversation.item.truncated"))
    assert "output_audio_buffer.cleared" in kinds(events)
    assert not any(e["type"] == "error" for e in events)

    # 3. A client truncate stops the item playing; 4. the call ends with hangup.
    events = await long_reply(call)
    item_id = next(e for e in events if e["type"] == "response.output_item.added")["item"]["id"]
    await asyncio.sleep(0.5)
    call.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
               "audio_end_ms": 400})
    checked(await call.until("output_audio_buffer.cleared"))
    await asyncio.sleep(0.5)  # what was already on the wire
    heard_before = len(call.heard)
    await asyncio.sleep(0.6)
    tail = call.heard[heard_before:]
    assert max(abs(int.from_bytes(tail[i:i + 2], "little", signed=True))
               for i in range(0, len(tail) - 1, 2)) < 300  # silence after the cut
    await client.realtime.calls.hangup(call.call_id)
    for _ in range(100):
        if engine.server.calls.get(call.call_id) is None:
            break
        await asyncio.sleep(0.05)
    assert engine.server.calls.get(call.call_id) is None
    with pytest.raises(NotFoundError):
        await client.realtime.calls.hangup(call.call_id)


async def test_barge_in_by_voice_cuts_playback_the_server_knows(engine, speech, caller):
    """The reply is fully generated long before it is played: only the server knows where
    playback is, so the barge-in truncates there."""
    call = caller()
    await call.call(client_for(engine))
    await call.until("session.created")
    events = await long_reply(call)
    item_id = next(e for e in events if e["type"] == "response.output_item.added")["item"]["id"]
    await generated(call, events)  # generation is over; playback is not
    call.mic.say(speech.utterance("Stop, please."))
    events = checked(await call.until("conversation.item.truncated"))
    order = kinds(events)
    assert order.index("input_audio_buffer.speech_started") < order.index(
        "output_audio_buffer.cleared")
    assert events[-1]["item_id"] == item_id
    assert 0 < events[-1]["audio_end_ms"] < 9000


async def test_websocket_joins_a_call_with_call_id(engine, caller):
    call = caller()
    client = client_for(engine)
    await call.call(client)
    await call.until("session.created")
    async with AsyncOpenAI(api_key="local", websocket_base_url=engine.url).realtime.connect(
            call_id=call.call_id) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv_bytes(), 10))
        assert first["type"] == "session.created"
        await ws.session.update(session={"type": "realtime", "instructions": "From the server."})
        await ws.conversation.item.create(item={
            "type": "message", "role": "user", "content": [{"type": "input_text",
                                                            "text": "Hello!"}]})
        await ws.response.create()
        seen = []
        while "response.done" not in seen:
            event = json.loads(await asyncio.wait_for(ws.recv_bytes(), 30))
            validate_server_event(event)
            seen.append(event["type"])
    # The caller got the same session's events on its data channel, and heard the reply.
    events = checked(await call.until("output_audio_buffer.stopped"))
    assert "session.updated" in kinds(events) and "response.done" in kinds(events)
    updated = next(e for e in events if e["type"] == "session.updated")
    assert updated["session"]["instructions"] == "From the server."
    with pytest.raises(Exception, match="404"):
        async with AsyncOpenAI(api_key="local", websocket_base_url=engine.url).realtime.connect(
                call_id="rtc_unknown") as ws:
            await ws.recv_bytes()


async def test_auth_bad_offers_and_sip_only_actions(engine, caller):
    from rtnb.engine.background import start_engine

    with start_engine(engine=engine.server.engine, token="secret-token") as running:
        call = caller()
        offer = await call.offer()
        with pytest.raises(AuthenticationError):
            await client_for(running, "wrong").realtime.calls.create(sdp=offer)
        with pytest.raises(BadRequestError):
            await client_for(running, "secret-token").realtime.calls.create(
                sdp="v=0 not really")
        with pytest.raises(BadRequestError, match="voice"):
            await client_for(running, "secret-token").realtime.calls.create(
                sdp=offer, session={"type": "realtime", "audio": {"output": {"voice": "nobody"}}})
        # A browser's short-lived key works, as on OpenAI.
        key = running.issue_client_secret()
        await call.call(client_for(running, key))
        checked(await call.until("session.created"))
        with pytest.raises(BadRequestError, match="SIP"):
            await client_for(running, key).realtime.calls.reject(call.call_id)


async def test_a_transcription_call(engine, speech, caller):
    """A call whose session is a transcription session: the mic's speech comes back as text."""
    said = "I would like to book a table for two."
    call = caller()
    raw = await call.call(client_for(engine), session={
        "type": "transcription", "include": ["item.input_audio_transcription.logprobs"]})
    assert raw.status_code == 201
    created = checked(await call.until("session.created"))[0]
    assert created["session"]["type"] == "transcription"
    call.mic.say(speech.with_silence(speech.utterance(said), 300, 900))
    events = checked(await call.until("conversation.item.input_audio_transcription.completed"))
    done = events[-1]
    assert word_error_rate(said, done["transcript"]) <= 0.25 and done["logprobs"]
    call.send({"type": "response.create"})
    refused = checked(await call.until("error"))
    assert not [k for k in kinds(events + refused) if k.startswith(("response.",
                                                                     "output_audio_buffer."))]
