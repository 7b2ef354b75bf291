"""Tool approvals and tool output guardrails through rtnb.Session (scripted server).

The same flow as the machine's transition tables, through the shell: ``wait()``
returns while a call waits, ``approve``/``reject`` continue it, the log, the
transcript and the metrics show it.
"""

from __future__ import annotations

import asyncio
import json

import pytest

import rtnb
from rtnb import Agent, tool, tool_output_guardrail
from rtnb.analysis import timelines
from rtnb.events import REJECTION_MESSAGE
from rtnb.session.scripted import ScriptedTransport, text, tool_call

RAN: list[str] = []


@tool(needs_approval=True)
def refund(order: str) -> dict:
    """Refund an order."""
    RAN.append(order)
    return {"refunded": order}


async def big_only(arguments: dict) -> bool:
    await asyncio.sleep(0)
    return float(arguments["amount"]) > 100


@tool(needs_approval=big_only)
def transfer(amount: float) -> dict:
    """Transfer money."""
    return {"sent": amount}


@tool_output_guardrail
def no_card_numbers(output: str) -> bool:
    return "4111" in output


@tool(output_guardrails=[no_card_numbers])
def card_on_file(name: str) -> dict:
    """The customer's card."""
    return {"name": name, "card": "4111 1111 1111 1111"}


CLERK = Agent("Clerk", "Refunds.", tools=[refund, transfer, card_on_file])


def sent_outputs(transport: ScriptedTransport) -> list[str]:
    return [e["item"]["output"] for e in transport.sent if e["type"] == "conversation.item.create"
            and e["item"].get("type") == "function_call_output"]


def local(session: rtnb.Session, kind: str) -> list[dict]:
    return [e.event for e in session.log if e.type == kind]


async def test_approve_runs_the_tool_and_the_answer_follows():
    RAN.clear()
    transport = ScriptedTransport(tool_call("refund", order="42"), text("Order 42 is refunded."))
    async with rtnb.Session(CLERK, transport=transport) as s:
        await s.say("Refund order 42")
        assert await s.wait() == ""  # returns: the call waits for the user
        [call] = s.pending_approvals
        assert (call.name, json.loads(call.arguments)) == ("refund", {"order": "42"})
        assert RAN == [] and sent_outputs(transport) == []
        assert s.transcript.tool_calls[0].approval == "pending"
        await asyncio.sleep(0.05)  # the user thinks
        await s.approve(call)
        assert await s.wait() == "Order 42 is refunded."
    assert RAN == ["42"] and sent_outputs(transport) == ['{"refunded": "42"}']
    assert s.transcript.tool_calls[0].approval == "approved"
    assert [e.type for e in s.log if e.type.startswith("local.tool")] == [
        "local.tool.approval_requested", "local.tool.approved"]
    [tl] = timelines(s.log.entries)
    approved = next(e.t for e in s.log if e.type == "local.tool.approved")
    wait, run = tl.span("approval"), tl.span("tool")
    assert wait.end == run.start == approved  # the user's time is not the tool's
    assert s.metrics()[0].approval_wait == wait.ms >= 50
    assert s.metrics()[0].tool_time == run.ms


async def test_reject_tells_the_model_and_the_tool_never_runs():
    RAN.clear()
    transport = ScriptedTransport(tool_call("refund", order="42"), text("I can't do that."))
    async with rtnb.Session(CLERK, transport=transport) as s:
        await s.say("Refund order 42")
        await s.wait()
        await s.reject(s.pending_approvals[0].call_id, "over the limit")
        assert await s.wait() == "I can't do that."
    assert RAN == []
    assert sent_outputs(transport) == [f"{REJECTION_MESSAGE} Reason: over the limit"]
    assert local(s, "local.tool.rejected")[0]["reason"] == "over the limit"
    turn = s.metrics()[0]
    assert turn.approval_wait is not None and turn.tool_time is None  # it never ran


async def test_a_policy_decides_per_call():
    transport = ScriptedTransport(tool_call("transfer", amount=20), text("Sent 20."),
                                  tool_call("transfer", amount=500), text("Sent 500."))
    async with rtnb.Session(CLERK, transport=transport) as s:
        await s.say("Send 20")
        assert await s.wait() == "Sent 20."  # small: no approval
        await s.say("Send 500")
        await s.wait()
        assert [c.name for c in s.pending_approvals] == ["transfer"]
        await s.approve(s.pending_approvals[0])
        assert await s.wait() == "Sent 500."
    assert len(local(s, "local.tool.approval_requested")) == 1


async def test_approving_what_does_not_wait_is_an_error():
    async with rtnb.Session(CLERK, transport=ScriptedTransport()) as s:
        with pytest.raises(rtnb.SessionError, match="no tool call 'c9' waits for approval"):
            await s.approve("c9")


async def test_a_tripped_tool_guardrail_keeps_the_output_from_the_model():
    transport = ScriptedTransport(tool_call("card_on_file", name="Ann"), text("I can't share it."))
    async with rtnb.Session(CLERK, transport=transport) as s:
        await s.say("What card does Ann have?")
        await s.wait()
    [output] = sent_outputs(transport)
    assert "4111" not in output and "no_card_numbers" in output and "card_on_file" in output
    [check] = local(s, "local.tool.guardrail")
    assert check["result"]["tripped"] and check["output"] == output
    assert s.transcript.tool_calls[0].output == output
    assert "[no_card_numbers: FLAGGED]" in repr(s.transcript)


@pytest.mark.parametrize("policy,arguments,needed", [
    (lambda args: args["amount"] > 100, '{"amount": 5}', False),
    (lambda args: args["amount"] > 100, '{"amount": 500}', True),
    (lambda args, ctx: ctx.call_id == "c1", '{"amount": 5}', True),
    (lambda args: 1 / 0, '{"amount": 5}', True),  # a failing policy asks
    (lambda args: False, "not json", True),  # arguments it cannot read: ask
])
async def test_approval_policies(policy, arguments, needed):
    t = tool(lambda amount: amount, name="pay", needs_approval=policy)
    assert await t.approval_needed(arguments, rtnb.ToolContext(None, "c1", CLERK)) is needed


def test_needs_approval_must_be_a_bool_or_callable():
    with pytest.raises(TypeError, match="needs_approval"):
        tool(lambda: 1, name="x", needs_approval="yes")


async def test_a_failing_fail_closed_tool_guardrail_withholds_and_sees_the_call():
    seen = []

    @tool_output_guardrail(fail_closed=True, message="Not available right now.")
    def strict(output: str, ctx: rtnb.ToolContext) -> bool:
        seen.append((ctx.call_id, ctx.agent.name))
        raise RuntimeError("checker down")

    @tool(output_guardrails=[strict])
    def balance(account: str) -> dict:
        """An account's balance."""
        return {"account": account, "balance": 12}

    transport = ScriptedTransport(tool_call("balance", account="A1"), text("Sorry."))
    async with rtnb.Session(Agent("Bank", "Balances.", tools=[balance]),
                            transport=transport) as s:
        await s.say("What's my balance?")
        await s.wait()
    assert sent_outputs(transport) == ["Not available right now."]
    assert seen == [(s.transcript.tool_calls[0].call_id, "Bank")]
    [check] = local(s, "local.tool.guardrail")
    assert check["result"]["error"] == "RuntimeError: checker down"
