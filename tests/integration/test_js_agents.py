"""The stock JavaScript Agents SDK (``@openai/agents``, pinned in tests/js) over WebSocket.

``node tests/js/agents_ws.mjs`` runs a RealtimeSession with ``transport: 'websocket'``
against the real engine: text, a tool, a handoff, an output guardrail, a tool that
needs approval (approved, then rejected), a tool output guardrail, a spoken turn under
server VAD, a barge-in, and a hosted MCP tool that the engine runs against our own MCP
server (tests/mcp_server.py), with an approval given through the SDK. The script checks
every server event against the
SDK's own zod union (the SDK would silently drop one that fails); this test asserts
on its report.
"""

from __future__ import annotations

import pytest

from tests import jsharness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def orders():
    from tests.mcp_server import orders

    with orders() as running:
        yield running


@pytest.fixture(scope="module")
def report(engine, speech, orders, tmp_path_factory):
    folder = tmp_path_factory.mktemp("js-speech")
    question, stop = folder / "question.pcm", folder / "stop.pcm"
    question.write_bytes(speech.utterance("What's the weather in Paris?"))
    stop.write_bytes(speech.utterance("Stop, please. Wait a moment."))
    return jsharness.run("agents_ws.mjs", engine.url, str(question), str(stop), orders.url)


def test_every_server_event_passes_the_sdks_zod_schemas(report):
    assert report["events"] > 200
    assert report["invalid"] == []
    assert report["unknownTypes"] == []  # none fell back to the SDK's generic event


def test_text_turn(report):
    text = report["scenarios"]["text"]
    assert text["output"]
    assert {"response.output_audio.delta", "response.output_audio_transcript.delta",
            "response.done"} <= set(text["types"])


def test_tool_runs_in_the_sdk_and_the_answer_uses_it(report):
    tool = report["scenarios"]["tool"]
    assert tool["args"] == {"city": "Paris"}
    assert "sunny" in tool["output"].lower() and "18" in tool["output"]


def test_handoff_switches_agent(report):
    handoff = report["scenarios"]["handoff"]
    assert (handoff["from"], handoff["to"], handoff["answeredBy"]) == (
        "Triage", "Billing", "Billing")
    assert "billing" in handoff["output"].lower()


def test_output_guardrail_trips_and_the_sdk_asks_again(report):
    guardrail = report["scenarios"]["guardrail"]
    assert guardrail["message"].startswith("Output guardrail triggered")
    assert guardrail["feedback"] == 2  # "Hello!" plus the SDK's corrective message
    # The SDK cancels the reply unless it saw it end first. A cancel that comes after the
    # reply ended gets OpenAI's error code from the engine; nothing else goes wrong.
    if guardrail["firstStatus"] == "cancelled":
        assert guardrail["cancelSent"]
    late = guardrail["cancelSent"] and guardrail["firstStatus"] != "cancelled"
    assert report["errors"] == (["response_cancel_not_active"] if late else [])


def test_tool_approval_approve_then_reject(report):
    approval = report["scenarios"]["approval"]
    assert (approval["tool"], approval["args"]) == ("refund_order", {"order_id": "42"})
    assert approval["ranBeforeApproval"] == 0 and approval["ran"] == ["42"]
    assert "42" in approval["approvedText"] and "refunded" in approval["approvedText"].lower()
    assert approval["rejectedText"] == "Tool execution was not approved."
    # A tool output guardrail replaced the card number before the engine saw it.
    assert approval["guardedText"] == "That card number is private."


def test_spoken_turn_under_server_vad(report):
    spoken = report["scenarios"]["spoken"]
    assert "paris" in spoken["transcript"].lower()
    assert "sunny" in spoken["output"].lower() and spoken["audioDeltas"] > 0


def test_barge_in_truncates_at_what_the_sdk_played(report):
    barge = report["scenarios"]["bargeIn"]
    assert barge["speechStarted"] and barge["itemMatches"]
    assert 0 < barge["audioEndMs"] < 8000
    heard = barge["heardTranscript"]
    assert barge["fullTranscript"].startswith(heard) and heard != barge["fullTranscript"]


def test_hosted_mcp_tool_runs_on_the_engine_and_an_approval_continues_it(report, orders):
    mcp = report["scenarios"]["mcp"]
    assert mcp["listed"] == ["cancel_order", "check_warehouse", "get_order_status"]
    assert mcp["lookup"]["name"] == "get_order_status"
    assert mcp["lookup"]["arguments"] == {"order_id": "A1234"}
    assert "shipped yesterday" in mcp["lookup"]["output"]
    assert "shipped yesterday" in mcp["lookupText"]
    assert mcp["approvalFor"] == "mcp_approval_request"
    assert mcp["cancel"]["arguments"] == {"order_id": "B77"}
    assert "cancelled" in mcp["cancel"]["output"] and "cancelled" in mcp["cancelText"]
    assert ("cancel_order", {"order_id": "B77"}) in orders.calls
    assert {"mcp_list_tools.completed", "response.mcp_call.completed",
            "response.mcp_call_arguments.done"} <= set(mcp["types"])
