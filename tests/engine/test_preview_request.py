"""The core's preview of a turn's brain request (the engine prepares its first audio)."""

from __future__ import annotations

import pytest

from rtnb.engine.brain.base import item_text
from rtnb.engine.core import RealtimeCore, Speculate, StartResponse, Transcribe
from tests.engine.test_core import EnergyVad, append, send, silence, text_turn, tone


@pytest.fixture
def core():
    c = RealtimeCore(vad_factory=EnergyVad)
    c.start()
    return c


def shape(request):
    return (request.instructions, request.tools, request.tool_choice, request.max_output_chars,
            [(i.get("type"), i.get("role"), item_text(i)) for i in request.history])


def test_the_preview_is_the_request_the_turn_then_makes(core):
    send(core, type="session.update", session={
        "type": "realtime", "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "lookup", "description": "Find it.",
                   "parameters": {"type": "object", "properties": {}}}]})
    first = text_turn(core)  # an earlier exchange in the history
    core.output_message(first)
    core.output_chunk(first, "Earlier answer.", tone(100))
    core.output_message_done(first)
    core.finish(first)
    out = append(core, silence(400) + tone(700) + silence(300))
    assert any(isinstance(o, Speculate) for o in out)  # a pause, the turn not over
    preview, params = core.preview_request("what time is it")
    assert params["voice"] == core.session["audio"]["output"]["voice"]
    out = append(core, silence(500))
    job = next(o for o in out if isinstance(o, Transcribe))
    rid = next(o for o in out if isinstance(o, StartResponse)).response_id
    core.transcribed(job.item_id, "what time is it", False, len(job.audio) / 48)
    assert shape(preview) == shape(core.brain_request(rid))
    assert preview.history[-1]["role"] == "user"
    assert item_text(preview.history[-1]) == "what time is it"


@pytest.mark.parametrize("update", [
    {"output_modalities": ["text"]},
    {"audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": False}}}},
])
def test_no_preview_when_the_turn_would_not_speak_a_reply(core, update):
    send(core, type="session.update", session={"type": "realtime", **update})
    assert core.preview_request("hello") is None


def test_no_preview_while_a_response_is_in_progress_or_for_empty_text(core):
    assert core.preview_request("  ") is None
    assert core.preview_request("hello") is not None
    text_turn(core)  # its response is still in progress
    assert core.preview_request("hello") is None


def test_no_preview_in_a_transcription_session():
    c = RealtimeCore(vad_factory=EnergyVad, intent="transcription")
    c.start()
    assert c.preview_request("hello") is None
