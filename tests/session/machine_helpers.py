"""Agents, inputs and action summaries for the session machine's tests (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rtnb import Agent, GuardrailResult, OutputGuardrail, tool
from rtnb.session import machine as m
from rtnb.session.config import Settings


@tool
def get_weather(city: str) -> dict:
    """Get the weather for a city."""
    return {"city": city}


def tripwire(text: str) -> bool:
    return "stormy" in text


GUARD = OutputGuardrail("no_storms", tripwire)
BILLING = Agent("Billing", "You handle invoices.")
ASSISTANT = Agent("Assistant", "Use tools.", tools=[get_weather], handoffs=[BILLING],
                  output_guardrails=[GUARD])


def state(**changes: Any) -> m.State:
    """A connected machine state for ASSISTANT, with ``changes`` applied."""
    settings = changes.pop("settings", Settings())
    return replace(m.State(ASSISTANT, settings, connected=True), **changes)


def summary(action: m.Action) -> tuple:
    """A short, comparable form of an action."""
    if isinstance(action, m.Send):
        verb = "send" if action.log else "send unlogged"
        if action.event["type"] == "conversation.item.create" and action.log:
            return (verb, action.event["type"], (action.event.get("item") or {}).get("type"))
        return (verb, action.event["type"])
    if isinstance(action, m.Log):
        return ("log", action.record.TYPE)
    if isinstance(action, m.FlushPlayback):
        return ("flush", action.reason)
    if isinstance(action, m.RunTool):
        return ("tool", action.tool.name)
    if isinstance(action, m.CheckApproval):
        return ("check approval", action.tool.name)
    if isinstance(action, m.RunGuardrails):
        return ("guardrails", "final" if action.final else "partial")
    raise AssertionError(action)


def server(kind: str, **fields: Any) -> m.ServerEvent:
    return m.ServerEvent({"type": kind, **fields})


def created(rid: str = "r1") -> m.ServerEvent:
    return server("response.created", response={"id": rid})


def done(rid: str = "r1", status: str = "completed", **details: Any) -> m.ServerEvent:
    return server("response.done", response={"id": rid, "status": status,
                                             "status_details": details or None})


def delta(text: str, rid: str = "r1", item: str = "i1") -> m.ServerEvent:
    return server("response.output_audio_transcript.delta", response_id=rid, item_id=item,
                  delta=text)


def call(name: str, call_id: str = "c1", rid: str = "r1", arguments: str = "{}"
         ) -> m.ServerEvent:
    return server("response.function_call_arguments.done", response_id=rid, call_id=call_id,
                  name=name, arguments=arguments)


def result(tripped: bool) -> GuardrailResult:
    return GuardrailResult("no_storms", tripped, "OFF_BRAND" if tripped else "NONE", "storms")
