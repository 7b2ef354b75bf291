"""Transcription sessions and transcription logprobs in the sans-I/O core (no models)."""

from __future__ import annotations

import base64

import pytest
from openai.types.realtime import RealtimeTranscriptionSessionCreateRequest

from rtnb.engine.core import RealtimeCore, StartResponse, Transcribe
from tests.engine.test_core import EnergyVad, events, send, silence, tone, types
from tests.wire import validate_server_event

LOGPROBS = "item.input_audio_transcription.logprobs"


def transcriber() -> RealtimeCore:
    return RealtimeCore(vad_factory=EnergyVad, intent="transcription")


def feed(core: RealtimeCore, pcm: bytes) -> list:
    return send(core, type="input_audio_buffer.append", audio=base64.b64encode(pcm).decode())


def test_session_created_is_a_transcription_session():
    (created,) = transcriber().start()
    session = created["session"]
    assert session["type"] == "transcription" and "output" not in session["audio"]
    parsed = RealtimeTranscriptionSessionCreateRequest.model_validate(session)
    assert parsed.audio.input.turn_detection.type == "server_vad"
    assert session["audio"]["input"]["transcription"]["model"]
    with pytest.raises(ValueError):
        RealtimeCore(intent="translation")


def test_update_keeps_the_type_and_takes_include():
    core = transcriber()
    out = send(core, type="session.update", session={
        "type": "transcription", "include": [LOGPROBS],
        "audio": {"input": {"transcription": {"model": "gpt-live-transcribe"},
                            "turn_detection": {"type": "server_vad", "silence_duration_ms": 300,
                                               "create_response": True}}}})
    (updated,) = events(out)
    assert updated["type"] == "session.updated" and updated["session"]["include"] == [LOGPROBS]
    td = updated["session"]["audio"]["input"]["turn_detection"]
    assert td["silence_duration_ms"] == 300 and "create_response" not in td
    (err,) = events(send(core, type="session.update", session={"type": "realtime"}))
    assert err["type"] == "error" and err["error"]["param"] == "session.type"
    realtime = RealtimeCore(vad_factory=EnergyVad)
    (err,) = events(send(realtime, type="session.update", session={"type": "transcription"}))
    assert err["type"] == "error" and "realtime session" in err["error"]["message"]


def test_a_turn_is_committed_and_transcribed_but_never_answered():
    core = transcriber()
    out = feed(core, silence(300)) + feed(core, tone(800)) + feed(core, silence(900))
    assert types(out)[:3] == ["input_audio_buffer.speech_started",
                              "input_audio_buffer.speech_stopped",
                              "input_audio_buffer.committed"]
    assert not [o for o in out if isinstance(o, StartResponse)]
    assert "response.created" not in types(out)
    (job,) = [o for o in out if isinstance(o, Transcribe)]
    assert job.emit and not job.logprobs
    done = core.transcribed(job.item_id, "hello there", job.emit, len(job.audio) / 48)
    for ev in done:
        validate_server_event(ev)
    assert types(done)[-1] == "conversation.item.input_audio_transcription.completed"
    # The audio is not kept once transcribed: a transcription session may run for hours.
    assert core.conversation.get(job.item_id).audio == {}
    (err,) = events(send(core, type="response.create", event_id="e1"))
    assert err["error"]["code"] == "unsupported_event" and err["error"]["event_id"] == "e1"


@pytest.mark.parametrize("intent", [None, "transcription"])
def test_logprobs_ride_on_the_deltas_and_the_completed_event(intent):
    core = RealtimeCore(vad_factory=EnergyVad, intent=intent)
    kind = intent or "realtime"
    send(core, type="session.update", session={
        "type": kind, "include": [LOGPROBS],
        "audio": {"input": {"turn_detection": None,
                            "transcription": {"model": "whisper-tiny.en"}}}})
    feed(core, tone(500))
    (job,) = [o for o in send(core, type="input_audio_buffer.commit")
              if isinstance(o, Transcribe)]
    assert job.logprobs
    pairs = [(" Book", -0.1), (" a", -0.01), (" table", -0.2), (".", -0.05)]
    out = core.transcribed(job.item_id, "Book a table.", True, 500, pairs)
    for ev in out:
        validate_server_event(ev)
    deltas = [e for e in out if e["type"].endswith("transcription.delta")]
    (completed,) = [e for e in out if e["type"].endswith("transcription.completed")]
    assert "".join(d["delta"] for d in deltas) == completed["transcript"] == "Book a table."
    assert [d["logprobs"][0]["token"] for d in deltas] == [t for t, _ in pairs]
    assert completed["logprobs"] == [
        {"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in pairs]


def test_logprobs_that_do_not_spell_the_transcript_stay_on_completed_only():
    core = RealtimeCore(vad_factory=EnergyVad)
    send(core, type="session.update", session={
        "type": "realtime", "include": [LOGPROBS], "audio": {"input": {
            "turn_detection": None, "transcription": {"model": "whisper-tiny.en"}}}})
    feed(core, tone(500))
    (job,) = [o for o in send(core, type="input_audio_buffer.commit")
              if isinstance(o, Transcribe)]
    out = core.transcribed(job.item_id, "Hi there", True, 500, [(" Hello", -0.3)])
    deltas = [e for e in out if e["type"].endswith("transcription.delta")]
    assert [d["delta"] for d in deltas] == ["Hi", " there"]
    assert all("logprobs" not in d for d in deltas)
    assert out[-1]["logprobs"][0]["token"] == " Hello"
