"""Session configuration: GA defaults and ``session.update`` merge semantics."""

from __future__ import annotations

import pytest

from rtnb.engine.config import (
    VOICES,
    check_session,
    default_session,
    format_type,
    merge_session,
    server_vad,
)
from rtnb.engine.errors import ProtocolError


@pytest.fixture
def session():
    return default_session("sess_1", "gpt-realtime-2.1")


def update(**fields):
    return {"type": "realtime", **fields}


def test_the_default_session_is_a_valid_ga_session(session):
    check_session(session)
    assert session["object"] == "realtime.session" and session["model"] == "gpt-realtime-2.1"
    assert session["audio"]["input"]["turn_detection"] == server_vad()
    assert session["audio"]["output"]["voice"] in VOICES


def test_only_the_fields_sent_change_and_the_input_is_not_touched(session):
    before = default_session("sess_1", "gpt-realtime-2.1")
    new = merge_session(session, update(instructions="Be brief.",
                                        audio={"output": {"voice": "verse"}}))
    assert session == before  # a new object; the current one is left as it was
    assert new["instructions"] == "Be brief."
    assert new["audio"]["output"] == {**before["audio"]["output"], "voice": "verse"}
    assert new["audio"]["input"] == before["audio"]["input"]


def test_turn_detection_is_replaced_whole_with_defaults_for_what_is_missing(session):
    s = merge_session(session, update(audio={"input": {"turn_detection": {
        "type": "server_vad", "silence_duration_ms": 200}}}))
    s = merge_session(s, update(audio={"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.7}}}))
    assert s["audio"]["input"]["turn_detection"] == server_vad(threshold=0.7)
    s = merge_session(s, update(audio={"input": {"turn_detection": {"type": "semantic_vad"}}}))
    assert s["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad", "eagerness": "auto", "create_response": True,
        "interrupt_response": True}
    s = merge_session(s, update(audio={"input": {"turn_detection": None}}))
    assert s["audio"]["input"]["turn_detection"] is None  # push-to-talk


def test_null_leaves_a_required_field_alone_and_switches_an_optional_one_off(session):
    s = merge_session(session, update(audio={"input": {"transcription": {"model": "gpt-live-transcribe"}}}))
    s = merge_session(s, update(instructions=None, tools=None,
                                audio={"input": {"transcription": None, "format": None}}))
    assert s["instructions"] == session["instructions"] and s["tools"] == []
    assert s["audio"]["input"]["transcription"] is None
    assert s["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}


def test_server_fields_cannot_be_changed(session):
    s = merge_session(session, update(id="sess_other", object="x", expires_at=1))
    assert (s["id"], s["object"], s["expires_at"]) == (
        session["id"], session["object"], session["expires_at"])


@pytest.mark.parametrize(("fields", "param"), [
    ({"audio": {"output": {"voice": "robot"}}}, "session.audio.output.voice"),
    ({"audio": {"output": {"speed": 3}}}, "session.audio.output.speed"),
    ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
     "session.audio.input.format.rate"),
    ({"audio": {"input": {"format": {"type": "audio/opus"}}}}, "session.audio.input.format.type"),
    ({"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}}},
     "session.audio.input.turn_detection.threshold"),
    ({"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}}},
     "session.audio.input.turn_detection.eagerness"),
    ({"output_modalities": ["audio", "text"]}, "session.output_modalities"),
    ({"tools": [{"type": "function", "name": "a"}, {"type": "function", "name": "a"}]},
     "session.tools[1].name"),
    ({"tool_choice": {"type": "function", "name": "nope"}}, "session.tool_choice"),
])
def test_invalid_sessions_name_the_parameter(session, fields, param):
    with pytest.raises(ProtocolError) as info:
        merge_session(session, update(**fields))
    assert info.value.param == param and info.value.type == "invalid_request_error"


@pytest.mark.parametrize(("fmt", "name"), [
    ({"type": "audio/pcmu"}, "audio/pcmu"), ({}, "audio/pcm"), ("audio/pcma", "audio/pcma"),
    (None, "audio/pcm")])
def test_format_type(fmt, name):
    assert format_type(fmt) == name
