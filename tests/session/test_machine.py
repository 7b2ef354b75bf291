"""The session state machine, transition by transition (pure: no sockets, no models)."""

from __future__ import annotations

from typing import Any

import pytest

from rtnb.session import machine as m
from rtnb.session.config import Settings

from .machine_helpers import (
    ASSISTANT,
    BILLING,
    call,
    created,
    delta,
    done,
    result,
    server,
    state,
    summary,
)

UPDATE = ("send", "session.update")
CREATE = ("send", "response.create")
CANCEL = ("send", "response.cancel")
MESSAGE = ("send", "conversation.item.create", "message")
OUTPUT = ("send", "conversation.item.create", "function_call_output")
NO_VAD = Settings(turn_detection=None)
ACTIVE = {"active_response": "r1", "responses": (m.Response("r1"),)}
TOOL_PENDING = m.Response("r1", done=True, following_up=True,
                          calls=(m.Call("c1", "get_weather"),))

# (name, state changes before, input, state fields expected after, action summaries)
TABLE: list[tuple[str, dict[str, Any], Any, dict[str, Any], list[tuple]]] = [
    ("connect configures the agent", {"connected": False}, m.Opened("local"),
     {"connected": True}, [("log", "local.connected"), UPDATE]),
    ("a replay connects quietly", {"connected": False}, m.Opened("replay", quiet=True),
     {"connected": True}, []),
    ("reconnect restores history unlogged", {"connected": False},
     m.Opened("url", reconnect=True, previous="dropped", restore=({"type": "message"},)),
     {"connected": True},
     [("log", "local.reconnected"), UPDATE, ("send unlogged", "conversation.item.create")]),
    ("a drop is logged once", {}, m.Closed("dropped"), {"connected": False},
     [("log", "local.disconnected")]),
    ("closing a closed session logs nothing", {"connected": False}, m.Closed("closed"),
     {"connected": False}, []),
    ("reset drops what the old connection owed",
     {"inputs": 2, "answered": 1, "pending_creates": 1, "expect_commit": True, **ACTIVE},
     m.Reset(), {"active_response": None, "pending_creates": 0, "answered": 2,
                 "responses": ()}, []),
    ("say sends a message and asks for a response", {},
     m.UserMessage(({"type": "input_text", "text": "hi"},)),
     {"inputs": 1, "answered": 0, "pending_creates": 1}, [MESSAGE, CREATE]),
    ("an image without a response is answered at once", {},
     m.UserMessage(({"type": "input_image"},), respond=False),
     {"inputs": 1, "answered": 1}, [MESSAGE]),
    ("audio under server VAD waits for a turn", {}, m.AudioStarted(),
     {"inputs": 1, "expect_commit": True}, []),
    ("audio without VAD or commit is no input", {"settings": NO_VAD}, m.AudioStarted(),
     {"inputs": 0, "expect_commit": False}, []),
    ("audio committed by hand is an input", {"settings": NO_VAD}, m.AudioStarted(commit=True),
     {"inputs": 1, "expect_commit": False}, []),
    ("commit asks for a response", {}, m.Commit(), {"pending_creates": 1},
     [("send", "input_audio_buffer.commit"), CREATE]),
    ("talk button pressed interrupts and clears", ACTIVE, m.StartTalking(),
     {"talking": True}, [("flush", "interrupt"), CANCEL, ("send", "input_audio_buffer.clear")]),
    ("talk button released commits", {"talking": True}, m.StopTalking(),
     {"talking": False, "inputs": 1, "pending_creates": 1},
     [("send", "input_audio_buffer.commit"), CREATE]),
    ("interrupt while idle only flushes", {}, m.Interrupt(), {}, [("flush", "interrupt")]),
    ("interrupt cancels the active response", ACTIVE, m.Interrupt(), {},
     [("flush", "interrupt"), CANCEL]),
    ("update_agent reconfigures and logs", {}, m.SwitchAgent(BILLING), {"agent": BILLING},
     [UPDATE, ("log", "local.handoff")]),
    ("a codec switch is sent when connected", {}, m.SetCodec("audio/pcmu"), {}, [UPDATE]),
    ("a codec switch waits for the connection", {"connected": False},
     m.SetCodec("audio/pcmu"), {}, []),
    ("raw events are sent as they are", {}, m.SendRaw({"type": "response.create"}),
     {"pending_creates": 1}, [CREATE]),
    ("response.created makes it active; nothing pending, create ids are forgotten",
     {"pending_creates": 1, "inputs": 1, "create_ids": ("evt_rtnb_3",)}, created(),
     {"pending_creates": 0, "active_response": "r1", "create_ids": ()}, []),
    ("create ids are kept while creates are pending",
     {"pending_creates": 2, "create_ids": ("evt_rtnb_3", "evt_rtnb_5")}, created(),
     {"pending_creates": 1, "create_ids": ("evt_rtnb_3", "evt_rtnb_5")}, []),
    ("speech starts: barge-in", {}, server("input_audio_buffer.speech_started", item_id="u1"),
     {"expect_commit": True}, [("flush", "barge_in")]),
    ("speech stops on the VAD item", {}, server("input_audio_buffer.speech_stopped",
                                                item_id="u1"), {"vad_item": "u1"}, []),
    ("server VAD answers its own commit", {"vad_item": "u1", "expect_commit": True},
     server("input_audio_buffer.committed", item_id="u1"),
     {"expect_commit": False, "pending_creates": 1}, []),
    ("a manual commit is not answered by the server", {"vad_item": "u1"},
     server("input_audio_buffer.committed", item_id="u2"), {"pending_creates": 0}, []),
    ("create_response false: nothing expected",
     {"vad_item": "u1", "settings": Settings({"type": "server_vad", "create_response": False})},
     server("input_audio_buffer.committed", item_id="u1"), {"pending_creates": 0}, []),
    ("idle timeout: the server answers", {}, server("input_audio_buffer.timeout_triggered"),
     {"pending_creates": 1}, []),
    ("cleared buffer ends the wait for a turn", {"expect_commit": True, "inputs": 1},
     server("input_audio_buffer.cleared"), {"expect_commit": False, "answered": 1}, []),
    ("a refused response.create fails the answer",
     {"inputs": 1, "pending_creates": 1, "create_ids": ("evt_rtnb_3",)},
     server("error", error={"code": "invalid_value", "message": "no", "event_id": "evt_rtnb_3"}),
     {"pending_creates": 0, "create_ids": (), "answered": 1,
      "failures": (m.Failure("no", "invalid_value", "evt_rtnb_3"),)}, []),
    ("a create racing an active response is reconciled",
     {"inputs": 1, "pending_creates": 2, "create_ids": ("evt_rtnb_3",), **ACTIVE},
     server("error", error={"code": "conversation_already_has_active_response",
                            "message": "busy", "event_id": "evt_rtnb_3"}),
     {"pending_creates": 1, "failures": ()}, []),
    ("a cancel racing the response's end is no failure", {},
     server("error", error={"code": "response_cancel_not_active", "event_id": "evt_rtnb_9"}),
     {"failures": ()}, []),
    ("an error that answers no request of ours is no failure", {},
     server("error", error={"code": "server_error", "message": "hiccup"}), {"failures": ()},
     []),
    ("a failed response fails the answer", {"inputs": 1, **ACTIVE},
     done("r1", "failed", type="failed", error={"message": "brain down", "code": "x"}),
     {"active_response": None, "answered": 1, "responses": (),
      "failures": (m.Failure("brain down", "x", response_id="r1"),)}, []),
    ("a tool call runs at once", ACTIVE, call("get_weather"), {}, [("tool", "get_weather")]),
    ("a handoff call waits for the response's end", ACTIVE, call("transfer_to_billing"), {},
     []),
    ("text crossing 100 characters runs the guardrails", ACTIVE, delta("x" * 100), {},
     [("guardrails", "partial")]),
    ("text under 100 characters does not", ACTIVE, delta("x" * 99), {}, []),
    ("a completed response is checked once more at its end",
     {"active_response": "r1", "responses": (m.Response("r1", text="Hello."),)}, done(),
     {"active_response": None}, [("guardrails", "final")]),
    ("a tool response waits for its tool",
     {"active_response": "r1", "responses": (m.Response("r1", calls=(
         m.Call("c1", "get_weather"),)),)}, done(), {"responses": (TOOL_PENDING,)}, []),
    ("the tool's result goes back with a new response.create",
     {"responses": (TOOL_PENDING,)}, m.ToolFinished("c1", '{"ok": 1}'),
     {"responses": (), "pending_creates": 1}, [OUTPUT, CREATE]),
    ("an unknown tool gets an error output",
     {"active_response": "r1", "responses": (m.Response("r1", calls=(
         m.Call("c1", "nope", output='{"error": "unknown tool nope"}'),)),)},
     done(), {"responses": ()}, [OUTPUT, CREATE]),
    ("a handoff switches agent, answers the call, asks again",
     {"active_response": "r1", "responses": (m.Response("r1", calls=(
         m.Call("c1", "transfer_to_billing", handoff=BILLING),)),)},
     done(), {"agent": BILLING, "responses": ()},
     [UPDATE, ("log", "local.handoff"), OUTPUT, CREATE]),
    ("a flush that cut audio truncates it", {}, m.PlaybackStopped("barge_in", "i1", 1234.4),
     {}, [("log", "local.playback.flushed"), ("send", "conversation.item.truncate")]),
    ("a flush with nothing playing only logs", {}, m.PlaybackStopped("barge_in"), {},
     [("log", "local.playback.flushed")]),
    ("a trip cuts the response off and retries once",
     {"inputs": 1, "active_response": "r1", "responses": (m.Response("r1", checks=1),)},
     m.GuardrailsFinished("r1", "i1", False, (result(True),)),
     {"corrections": 1, "pending_creates": 1},
     [("log", "local.guardrail"), ("flush", "guardrail"), CANCEL, MESSAGE, CREATE]),
    ("a second trip gives up",
     {"inputs": 1, "corrections": 1, "responses": (m.Response("r2", checks=1, done=True),)},
     m.GuardrailsFinished("r2", "i2", True, (result(True),)),
     {"corrections": 1, "responses": (), "answered": 1},
     [("log", "local.guardrail"), ("flush", "guardrail"), ("log", "local.guardrail.gave_up")]),
    ("results after a trip are not logged",
     {"responses": (m.Response("r1", checks=1, tripped=True),)},
     m.GuardrailsFinished("r1", "i1", False, (result(False),)), {}, []),
    ("a passing check is logged", {"responses": (m.Response("r1", checks=1),)},
     m.GuardrailsFinished("r1", "i1", False, (result(False),)),
     {"responses": (m.Response("r1"),)}, [("log", "local.guardrail")]),
]


@pytest.mark.parametrize("name,before,event,after,actions", TABLE, ids=[r[0] for r in TABLE])
def test_transition(name, before, event, after, actions):
    new, out = m.step(state(**before), event)
    assert [summary(a) for a in out] == actions
    for field, value in after.items():
        assert getattr(new, field) == value, field


def test_ids_are_numbered_like_before():
    new, out = m.step(state(), m.UserMessage(({"type": "input_text", "text": "hi"},)))
    item, create = (a.event for a in out)
    assert item["item"]["id"] == "item_rtnb000001" and item["event_id"] == "evt_rtnb_2"
    assert create == {"event_id": "evt_rtnb_3", "type": "response.create"}
    assert new.create_ids == ("evt_rtnb_3",)
    _, out = m.step(new, m.SendRaw({"type": "x", "event_id": "mine"}))
    assert out[0].event["event_id"] == "mine"  # a caller's own id wins


def test_truncate_cuts_at_the_played_millisecond():
    _, out = m.step(state(), m.PlaybackStopped("interrupt", "i1", 1234.56))
    flushed, truncate = out
    assert flushed.record.played_ms == 1234.6 and flushed.record.item_id == "i1"
    assert truncate.event["audio_end_ms"] == 1234 and truncate.event["item_id"] == "i1"


def test_the_correction_carries_the_guardrails_reasons():
    s = state(inputs=1, active_response="r1", responses=(m.Response("r1", checks=1),))
    _, out = m.step(s, m.GuardrailsFinished("r1", "i1", False, (result(True),)))
    message = next(a.event["item"] for a in out if isinstance(a, m.Send)
                   and a.event["type"] == "conversation.item.create")
    assert message["id"].startswith("item_rtnbfix")
    assert "blocked by the no_storms guardrail (OFF_BRAND: storms)" in (
        message["content"][0]["text"])
    cancel = next(a.event for a in out if isinstance(a, m.Send)
                  and a.event["type"] == "response.cancel")
    assert cancel["response_id"] == "r1"


def test_tool_outputs_go_back_in_call_order_as_they_finish():
    s = state(active_response="r1", responses=(m.Response("r1"),))
    for event in (call("get_weather", "c1"), call("get_weather", "c2"),
                  call("transfer_to_billing", "c3"), done()):
        s, _ = m.step(s, event)
    s, out = m.step(s, m.ToolFinished("c2", "two"))
    assert out == ()  # c1 is still running: c2 waits behind it
    s, out = m.step(s, m.ToolFinished("c1", "one"))
    outputs = [a.event["item"]["output"] for a in out if isinstance(a, m.Send)
               and a.event.get("item", {}).get("type") == "function_call_output"]
    assert outputs == ["one", "two", '{"assistant": "Billing"}']
    assert s.agent is BILLING and s.pending_creates == 1 and not s.responses


def test_guardrails_use_the_agent_in_charge():
    s = state(agent=BILLING, active_response="r1", responses=(m.Response("r1"),))
    _, out = m.step(s, delta("x" * 200))
    assert out == ()  # Billing has no guardrails
    _, out = m.step(state(active_response="r1", responses=(m.Response("r1"),)),
                    delta("x" * 200))
    assert out[0].guardrails == tuple(ASSISTANT.output_guardrails)


def test_settled_means_wait_returns():
    s, _ = m.step(state(), m.UserMessage(({"type": "input_text", "text": "hi"},)))
    assert not s.settled and not s.idle
    for event in (created(), delta("Hello."), done()):
        s, out = m.step(s, event)
    assert not s.settled and s.idle  # the final guardrail check is still running
    s, _ = m.step(s, m.GuardrailsFinished("r1", "i1", True, (result(False),)))
    assert s.settled and not s.failed and not s.responses
