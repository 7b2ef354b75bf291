"""Tool approvals and tool output guardrails in the session machine (pure transitions)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from rtnb import Agent, GuardrailResult, tool, tool_output_guardrail
from rtnb.events import REJECTION_MESSAGE, blocked_output_text
from rtnb.session import machine as m

from .machine_helpers import call, done, state, summary


@tool(needs_approval=True)
def refund(order: str) -> dict:
    """Refund an order."""
    return {"refunded": order}


@tool(needs_approval=lambda args: float(args.get("amount", 0)) > 100)
def transfer(amount: float) -> dict:
    """Transfer money."""
    return {"sent": amount}


@tool_output_guardrail(message="That record is private.")
def no_ssn(output: str) -> bool:
    return "ssn" in output


@tool(output_guardrails=[no_ssn])
def lookup(name: str) -> dict:
    """Look up a customer."""
    return {"name": name}


CLERK = Agent("Clerk", "Refunds.", tools=[refund, transfer, lookup])
CREATE = ("send", "response.create")
OUTPUT = ("send", "conversation.item.create", "function_call_output")
ACTIVE = {"active_response": "r1", "responses": (m.Response("r1"),)}


def clerk(**changes: Any) -> m.State:
    return state(agent=CLERK, **changes)


def waiting(approval: str = "pending", done: bool = True, **fields: Any) -> m.Response:
    fields = {"tool": refund, "agent": CLERK, **fields}
    c = m.Call("c1", "refund", '{"order": "42"}', approval=approval, **fields)
    return m.Response("r1", done=done, following_up=done, calls=(c,))


def outputs(actions: tuple) -> list[str]:
    return [a.event["item"]["output"] for a in actions if isinstance(a, m.Send)
            and (a.event.get("item") or {}).get("type") == "function_call_output"]


# (name, state, input, state fields expected after, action summaries)
TABLE: list[tuple[str, m.State, Any, dict[str, Any], list[tuple]]] = [
    ("a tool that needs approval waits and asks", clerk(**ACTIVE),
     call("refund", arguments='{"order": "42"}'), {},
     [("log", "local.tool.approval_requested")]),
    ("a policy is asked first", clerk(**ACTIVE), call("transfer", arguments='{"amount": 500}'),
     {}, [("check approval", "transfer")]),
    ("the policy says yes: it waits", clerk(responses=(waiting("checking", done=False),)),
     m.ApprovalChecked("c1", True), {}, [("log", "local.tool.approval_requested")]),
    ("the policy says no: it runs", clerk(responses=(waiting("checking", done=False),)),
     m.ApprovalChecked("c1", False), {"pending_approvals": ()}, [("tool", "refund")]),
    ("a late policy answer for a decided call is ignored", clerk(responses=(waiting(),)),
     m.ApprovalChecked("c1", False), {}, []),
    ("the response ends while the call waits: nothing goes out",
     clerk(active_response="r1", responses=(waiting(done=False),)), done(),
     {"active_response": None}, []),
    ("approved: it runs", clerk(responses=(waiting(),)), m.Approve("c1"),
     {"pending_approvals": ()}, [("log", "local.tool.approved"), ("tool", "refund")]),
    ("rejected: the model is told, and answers again", clerk(responses=(waiting(),)),
     m.Reject("c1", "not today"), {"pending_approvals": (), "responses": (),
                                    "pending_creates": 1},
     [("log", "local.tool.rejected"), OUTPUT, CREATE]),
    ("rejected before the response ended: sent at its end",
     clerk(active_response="r1", responses=(waiting(done=False),)), m.Reject("c1"),
     {"pending_approvals": ()}, [("log", "local.tool.rejected")]),
    ("approving a call that does not wait does nothing", clerk(responses=(waiting("approved"),)),
     m.Approve("c1"), {}, []),
    ("rejecting twice sends one output", clerk(responses=(waiting("rejected"),)),
     m.Reject("c1"), {}, []),
    ("the tool's output passes its guardrail",
     clerk(responses=(waiting("approved", tool=lookup),)),
     m.ToolFinished("c1", '{"name": "Ann"}', (GuardrailResult("no_ssn", False),)),
     {"responses": ()}, [("log", "local.tool.guardrail"), OUTPUT, CREATE]),
]


@pytest.mark.parametrize("name,before,event,after,actions", TABLE, ids=[r[0] for r in TABLE])
def test_transition(name, before, event, after, actions):
    new, out = m.step(before, event)
    assert [summary(a) for a in out] == actions
    for field, value in after.items():
        assert getattr(new, field) == value, field


def test_a_waiting_call_holds_the_answer_open():
    new, _ = m.step(clerk(inputs=1, active_response="r1", responses=(waiting(done=False),)),
                    done())
    assert not new.settled and [c.call_id for c in new.pending_approvals] == ["c1"]
    new, out = m.step(new, m.Approve("c1"))
    assert not new.settled and [summary(a) for a in out][-1] == ("tool", "refund")
    new, out = m.step(new, m.ToolFinished("c1", '{"refunded": "42"}'))
    assert outputs(out) == ['{"refunded": "42"}'] and new.pending_creates == 1


@pytest.mark.parametrize("reason,text", [(None, REJECTION_MESSAGE),
                                         ("too big", f"{REJECTION_MESSAGE} Reason: too big")])
def test_the_rejection_is_what_the_model_reads(reason, text):
    new, out = m.step(clerk(responses=(waiting(),)), m.Reject("c1", reason))
    assert outputs(out) == [text]
    log = next(a.record for a in out if isinstance(a, m.Log))
    assert (log.reason, log.output, log.name) == (reason, text, "refund")


def test_only_the_approved_call_runs_with_its_own_arguments_and_agent():
    other = m.Call("c2", "refund", '{"order": "7"}', tool=refund, agent=CLERK,
                   approval="pending")
    response = replace(waiting(), calls=(*waiting().calls, other))
    new, out = m.step(clerk(responses=(response,)), m.Approve("c2"))
    run = next(a for a in out if isinstance(a, m.RunTool))
    assert (run.call_id, run.arguments, run.agent) == ("c2", '{"order": "7"}', CLERK)
    assert [c.call_id for c in new.pending_approvals] == ["c1"]
    assert not outputs(out)  # c1 still waits, and outputs go in call order


def test_a_tripped_tool_guardrail_replaces_the_output():
    before = clerk(responses=(waiting("approved", tool=lookup),))
    tripped = GuardrailResult("no_ssn", True, "PII", "an SSN")
    _, out = m.step(before, m.ToolFinished("c1", '{"ssn": "123"}', (tripped,)))
    assert outputs(out) == ["That record is private."]
    log = next(a.record for a in out if isinstance(a, m.Log))
    assert log.TYPE == "local.tool.guardrail" and log.output == "That record is private."
    assert log.result["tripped"] and log.result["category"] == "PII"


def test_without_a_message_the_safe_output_names_tool_and_guardrail_only():
    before = clerk(responses=(waiting("approved"),))  # refund has no guardrail of that name
    tripped = GuardrailResult("leak_check", True, "SECRET", "x", text='{"key": "abc"}')
    _, out = m.step(before, m.ToolFinished("c1", '{"key": "abc"}', (tripped,)))
    assert outputs(out) == [blocked_output_text("refund", "leak_check", "SECRET")]
    assert "abc" not in outputs(out)[0]
