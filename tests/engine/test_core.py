"""The sans-I/O protocol core: events in, events and effects out. No sockets, no models."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from rtnb.engine.core import (
    CancelResponse,
    RealtimeCore,
    Speculate,
    StartResponse,
    Transcribe,
)
from tests.wire import validate_server_event


class EnergyVad:
    """A stand-in VAD for protocol tests: a frame is speech when it is loud."""

    def __init__(self):
        self._rest = b""

    def process(self, pcm: bytes):
        data = self._rest + pcm
        n = len(data) // 1536
        self._rest = data[n * 1536:]
        frames = np.frombuffer(data[: n * 1536], dtype="<i2").reshape(n, 768)
        return (np.abs(frames.astype(np.float32)).mean(axis=1) > 1000).astype(np.float32)

    def reset(self):
        self._rest = b""


def tone(ms: int) -> bytes:
    t = np.arange(ms * 24) / 24000
    return (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes()


def silence(ms: int) -> bytes:
    return b"\x00" * (ms * 48)


def send(core: RealtimeCore, **event) -> list:
    out = core.receive(json.dumps(event))
    for ev in out:
        if isinstance(ev, dict):
            validate_server_event(ev)
    return out


def events(out) -> list[dict]:
    return [e for e in out if isinstance(e, dict)]


def types(out) -> list[str]:
    return [e["type"] for e in events(out)]


def append(core, pcm: bytes) -> list:
    return send(core, type="input_audio_buffer.append", audio=base64.b64encode(pcm).decode())


@pytest.fixture
def core():
    c = RealtimeCore(vad_factory=EnergyVad)
    for ev in c.start():
        validate_server_event(ev)
    return c


def test_session_created_is_full_ga_session(core):
    created = RealtimeCore().start()[0]
    assert created["type"] == "session.created"
    assert created["session"]["type"] == "realtime"
    assert created["session"]["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}


def test_session_update_changes_only_sent_fields(core):
    out = send(core, type="session.update", session={
        "type": "realtime", "instructions": "Be brief.",
        "audio": {"output": {"voice": "verse"}}})
    session = events(out)[0]["session"]
    assert session["instructions"] == "Be brief."
    assert session["audio"]["output"]["voice"] == "verse"
    assert session["audio"]["output"]["format"]["type"] == "audio/pcm"  # kept
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"  # kept


def test_turn_detection_replaced_whole_and_null_means_push_to_talk(core):
    out = send(core, type="session.update", session={"type": "realtime", "audio": {"input": {
        "turn_detection": {"type": "server_vad", "silence_duration_ms": 200}}}})
    td = events(out)[0]["session"]["audio"]["input"]["turn_detection"]
    assert td["silence_duration_ms"] == 200 and td["threshold"] == 0.5  # defaults, not old
    out = send(core, type="session.update", session={"type": "realtime", "audio": {"input": {
        "turn_detection": None}}})
    assert events(out)[0]["session"]["audio"]["input"]["turn_detection"] is None
    assert types(append(core, tone(600) + silence(800))) == []  # no VAD events


def test_server_vad_turn_sequence(core):
    out = append(core, silence(400) + tone(700))
    assert types(out) == ["input_audio_buffer.speech_started"]
    started = events(out)[0]
    assert started["audio_start_ms"] == 384 - 300  # onset frame minus prefix padding
    out = append(core, silence(700))
    kinds = [type(o).__name__ if not isinstance(o, dict) else o["type"] for o in out]
    assert kinds == [
        "Speculate",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "Transcribe",
        "response.created",
        "StartResponse",
    ]
    spec = next(o for o in out if isinstance(o, Speculate))
    job = next(o for o in out if isinstance(o, Transcribe))
    assert job.key == spec.key  # the speculative transcript can be reused
    item_id = events(out)[1]["item_id"]
    assert item_id == started["item_id"]
    assert events(out)[0]["audio_end_ms"] == 1120  # the tone ends inside frame 1088-1120
    assert len(job.audio) / 48 > 700


def test_transcription_events_when_enabled(core):
    send(core, type="session.update", session={"type": "realtime", "audio": {"input": {
        "transcription": {"model": "gpt-live-transcribe"}}}})
    out = append(core, tone(500) + silence(700))
    job = next(o for o in out if isinstance(o, Transcribe))
    assert job.emit
    out = core.transcribed(job.item_id, "hello there", job.emit, 500)
    assert types(out) == [
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]
    for ev in out:
        validate_server_event(ev)
    assert core.conversation.get(job.item_id).item["content"][0]["transcript"] == "hello there"


def run_reply(core, rid, text="Hi there.", pcm=None, call=None):
    """Play the part of the I/O layer: one message, optional tool call, done."""
    out = core.output_message(rid)
    out += core.output_chunk(rid, text, pcm if pcm is not None else tone(300))
    out += core.output_message_done(rid)
    if call:
        out += core.output_function_call(rid, call, '{"city": "Paris"}')
    out += core.finish(rid)
    for ev in events(out):
        validate_server_event(ev)
    return out


def text_turn(core, text="hello"):
    send(core, type="conversation.item.create", item={
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    out = send(core, type="response.create")
    return next(o.response_id for o in out if isinstance(o, StartResponse))


def test_canonical_text_in_audio_out_sequence(core):
    rid = text_turn(core)
    out = run_reply(core, rid, call="get_weather")
    assert types(out) == [
        "response.output_item.added", "conversation.item.added",
        "response.content_part.added",
        "response.output_audio_transcript.delta", "response.output_audio.delta",
        "response.output_audio.done", "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done", "conversation.item.done",
        "response.output_item.added", "conversation.item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "conversation.item.done",
        "response.done", "rate_limits.updated",
    ]
    done = events(out)[-2]["response"]
    assert done["status"] == "completed"
    assert done["usage"]["output_token_details"]["audio_tokens"] > 0
    assert [o["type"] for o in done["output"]] == ["message", "function_call"]
    assert core.active is None


def test_every_event_id_unique(core):
    rid = text_turn(core)
    out = run_reply(core, rid)
    ids = [e["event_id"] for e in events(out)]
    assert len(ids) == len(set(ids))


def test_barge_in_cancels_with_turn_detected(core):
    rid = text_turn(core)
    core.output_message(rid)
    core.output_chunk(rid, "A long answer", tone(400))
    out = append(core, tone(300))
    assert types(out) == [
        "input_audio_buffer.speech_started",
        "response.output_audio.done", "response.output_audio_transcript.done",
        "response.content_part.done", "response.output_item.done", "conversation.item.done",
        "response.done", "rate_limits.updated",
    ]
    done = [e for e in events(out) if e["type"] == "response.done"][0]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert CancelResponse(rid) in out
    assert core.output_chunk(rid, "more", tone(100)) == []  # late output is dropped


def test_response_cancel_and_not_active(core):
    rid = text_turn(core)
    out = send(core, type="response.cancel")
    done = [e for e in events(out) if e["type"] == "response.done"][0]["response"]
    assert done["status_details"]["reason"] == "client_cancelled"
    assert CancelResponse(rid) in out
    out = send(core, type="response.cancel", event_id="evt_c2")
    err = events(out)[0]["error"]
    assert err["code"] == "response_cancel_not_active" and err["event_id"] == "evt_c2"


def test_truncate_keeps_only_heard_transcript(core):
    rid = text_turn(core)
    core.output_message(rid)
    core.output_chunk(rid, "First part.", tone(1000))
    core.output_chunk(rid, " Second part.", tone(1000))
    core.output_message_done(rid)
    core.finish(rid)
    item_id = core.responses[rid].output[0]["id"]
    out = send(core, type="conversation.item.truncate", item_id=item_id, content_index=0,
               audio_end_ms=700)
    assert types(out) == ["conversation.item.truncated"]
    out = send(core, type="conversation.item.retrieve", item_id=item_id)
    item = events(out)[0]["item"]
    assert item["content"][0]["transcript"] == "First part."
    assert len(base64.b64decode(item["content"][0]["audio"])) == 700 * 48
    out = send(core, type="conversation.item.truncate", item_id=item_id, content_index=0,
               audio_end_ms=5000)
    assert events(out)[0]["error"]["code"] == "invalid_value"


def test_out_of_band_response_does_not_touch_conversation(core):
    text_turn(core)
    core.finish(core.active)
    n = len(core.conversation)
    out = send(core, type="response.create", response={
        "conversation": "none", "output_modalities": ["text"], "metadata": {"topic": "x"}})
    rid = next(o.response_id for o in out if isinstance(o, StartResponse))
    assert core.active is None
    out = run_reply(core, rid, text="classified")
    assert "conversation.item.added" not in types(out)
    assert "response.output_text.delta" in types(out)
    assert len(core.conversation) == n


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_event"),
        ('{"event_id": "e"}', "missing_required_parameter"),
        ('{"type": 5}', "invalid_type"),
        ('{"type": "bogus.event"}', "unknown_event_type"),
        ('{"type": "input_audio_buffer.append", "audio": "@@@"}', "invalid_value"),
        ('{"type": "input_audio_buffer.append", "audio": "AAAA"}', "invalid_value"),  # 3 bytes: odd PCM
        ('{"type": "input_audio_buffer.append"}', "missing_required_parameter"),
        ('{"type": "conversation.item.create"}', "missing_required_parameter"),
        ('{"type": "conversation.item.retrieve", "item_id": "nope"}', "item_not_found"),
        ('{"type": "conversation.item.delete", "item_id": "nope"}', "item_not_found"),
        ('{"type": "conversation.item.truncate", "item_id": "nope", "content_index": 0, '
         '"audio_end_ms": 1}', "item_not_found"),
        ('{"type": "input_audio_buffer.commit"}', "input_audio_buffer_commit_empty"),
        ('{"type": "response.cancel"}', "response_cancel_not_active"),
        ('{"type": "output_audio_buffer.clear"}', "unsupported_event"),
        ('{"type": "session.update", "session": {"type": "realtime", "audio": {"output": '
         '{"voice": "robot"}}}}', "invalid_value"),
        ('{"type": "session.update", "session": {"type": "realtime", "tools": '
         '[{"type": "function"}]}}', "missing_required_parameter"),
    ],
)
def test_error_codes(core, raw, code):
    data = json.loads(raw) if raw.startswith("{") and not raw.startswith("{not") else None
    if isinstance(data, dict):
        data["event_id"] = "client_1"
        raw = json.dumps(data)
    out = core.receive(raw)
    assert len(out) == 1
    ev = validate_server_event(out[0])
    assert ev.error.code == code
    if isinstance(data, dict):
        assert ev.error.event_id == "client_1"
    # The session survives: a normal turn still works.
    rid = text_turn(core)
    assert core.active == rid


def test_active_response_conflict(core):
    text_turn(core)
    out = send(core, type="response.create", event_id="x9")
    err = events(out)[0]["error"]
    assert err["code"] == "conversation_already_has_active_response"
    assert err["event_id"] == "x9"


def test_item_ordering_and_previous_item_id(core):
    def mk(i, prev=None):
        return send(core, type="conversation.item.create", previous_item_id=prev,
                    item={"id": i, "type": "message", "role": "user",
                          "content": [{"type": "input_text", "text": i}]})

    mk("a")
    mk("b")
    out = mk("c", "root")
    assert events(out)[0]["previous_item_id"] is None
    out = mk("d", "a")
    assert events(out)[0]["previous_item_id"] == "a"
    assert [i["id"] for i in core.conversation.items()] == ["c", "a", "d", "b"]
    assert events(mk("a"))[0]["error"]["code"] == "duplicate_item_id"
    assert events(mk("e", "zzz"))[0]["error"]["code"] == "item_not_found"


def test_push_to_talk_commit(core):
    send(core, type="session.update", session={"type": "realtime", "audio": {"input": {
        "turn_detection": None}}})
    append(core, tone(50))
    out = send(core, type="input_audio_buffer.commit")
    assert events(out)[0]["error"]["code"] == "input_audio_buffer_commit_empty"
    append(core, tone(100))
    out = send(core, type="input_audio_buffer.commit")
    assert types(out) == ["input_audio_buffer.committed", "conversation.item.added",
                          "conversation.item.done"]
    assert not any(isinstance(o, StartResponse) for o in out)  # push-to-talk: client asks
    assert types(send(core, type="input_audio_buffer.clear")) == ["input_audio_buffer.cleared"]


def test_g711_output_is_one_byte_per_sample_at_8k(core):
    send(core, type="session.update", session={"type": "realtime", "audio": {"output": {
        "format": {"type": "audio/pcmu"}}}})
    rid = text_turn(core)
    out = run_reply(core, rid, pcm=tone(1000))
    audio = b"".join(base64.b64decode(e["delta"]) for e in events(out)
                     if e["type"] == "response.output_audio.delta")
    assert abs(len(audio) - 8000) <= 80  # 1 s of 8 kHz G.711


def test_idle_timeout_commits_and_responds(core):
    send(core, type="session.update", session={"type": "realtime", "audio": {"input": {
        "turn_detection": {"type": "server_vad", "idle_timeout_ms": 1000}}}})
    rid = text_turn(core)
    run_reply(core, rid, pcm=tone(200))
    out = append(core, silence(1500))
    assert types(out)[:2] == ["input_audio_buffer.timeout_triggered",
                              "input_audio_buffer.committed"]
    assert any(isinstance(o, StartResponse) for o in out)
