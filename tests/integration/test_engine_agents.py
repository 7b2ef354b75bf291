"""openai-agents' RealtimeRunner against the real engine.

openai-agents validates every server event with pydantic and reports a failure
as an ``error`` session event, so each test also asserts that none occurred.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from agents import (
    GuardrailFunctionOutput,
    OutputGuardrail,
    ToolGuardrailFunctionOutput,
    function_tool,
    tool_output_guardrail,
)
from agents.realtime import RealtimeAgent, RealtimeRunner, realtime_handoff

pytestmark = pytest.mark.slow


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return json.dumps({"nextResponse": f"It is sunny and 21 degrees in {city}."})


@function_tool
def tell_story() -> str:
    """Tell a long story."""
    return json.dumps({"nextResponse": "Once upon a time there was a small robot. " * 6})


def config(engine, **settings):
    return {"url": engine.url + "/realtime?model=gpt-realtime-2.1", "api_key": "local",
            "initial_model_settings": settings}


class Recorder:
    """Collects session events; waits for a predicate over them."""

    def __init__(self, session):
        self.session = session
        self.events = []
        self._task = asyncio.create_task(self._pump())
        self._changed = asyncio.Event()

    async def _pump(self):
        async for ev in self.session:
            self.events.append(ev)
            self._changed.set()

    async def wait(self, pred, timeout=30.0):
        async def loop():
            while not pred(self.events):
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(loop(), timeout)
        return self.events

    def of(self, kind):
        return [e for e in self.events if e.type == kind]

    def errors(self):
        return [getattr(e, "error", e) for e in self.of("error")]

    async def close(self):
        self._task.cancel()


def count(kind, n=1):
    return lambda evs: sum(e.type == kind for e in evs) >= n


async def run(agent, engine, body, **settings):
    runner = RealtimeRunner(agent)
    session = await runner.run(model_config=config(engine, **settings))
    async with session:
        rec = Recorder(session)
        try:
            await body(session, rec)
        finally:
            await rec.close()
    assert rec.errors() == [], rec.errors()
    return rec


async def test_text_turn_with_audio(engine):
    agent = RealtimeAgent(name="Assistant", instructions="You are friendly.")

    async def body(session, rec):
        await session.send_message("Hello!")
        await rec.wait(count("audio_end"))
        assert sum(len(e.audio.data) for e in rec.of("audio")) > 48 * 300

    await run(agent, engine, body)


async def test_spoken_turn_and_tool_round_trip(engine, speech):
    agent = RealtimeAgent(name="Assistant", instructions="Use tools for weather.",
                          tools=[get_weather])
    # openai-agents asks for semantic_vad: when the end-of-turn model hears the words as
    # unfinished, the turn ends only after medium's 4 s longest wait, so the silence after
    # the question outlasts it (a live mic streams silence just the same).
    pcm = speech.with_silence(speech.utterance("What's the weather in Berlin?"), 300, 4600)

    async def body(session, rec):
        for i in range(0, len(pcm), 1920):
            await session.send_audio(pcm[i:i + 1920])
        await rec.wait(count("tool_end"))
        start = rec.of("tool_start")[0]
        assert start.tool.name == "get_weather"
        assert json.loads(start.arguments) == {"city": "Berlin"}
        await rec.wait(lambda evs: any(
            e.type == "history_updated" and "sunny and 21 degrees in Berlin" in json.dumps(
                [i.model_dump() for i in e.history]) for e in evs))

    await run(agent, engine, body)


async def test_handoff_keeps_context(engine):
    billing = RealtimeAgent(name="Billing", instructions="You handle invoices and payments.",
                            handoff_description="Questions about bills, invoices, charges "
                                                "and payments.")
    technical = RealtimeAgent(name="Technical", instructions="You fix technical problems.",
                              handoff_description="Broken devices, errors, outages and "
                                                  "connection problems.")
    triage = RealtimeAgent(name="Triage", instructions="Route the user to the right agent.",
                           handoffs=[realtime_handoff(billing), realtime_handoff(technical)])

    async def body(session, rec):
        await session.send_message("I was charged twice on my last invoice.")
        await rec.wait(count("handoff"))
        handoff = rec.of("handoff")[0]
        assert (handoff.from_agent.name, handoff.to_agent.name) == ("Triage", "Billing")
        await rec.wait(count("audio_end", 1))
        # The earlier user message is still in the history after the handoff.
        history = rec.of("history_updated")[-1].history
        texts = json.dumps([i.model_dump() for i in history])
        assert "charged twice" in texts

    await run(triage, engine, body)


async def test_output_guardrail_trips(engine):
    def no_robots(ctx, agent, output):
        return GuardrailFunctionOutput(output_info={"found": "robot" in output},
                                       tripwire_triggered="robot" in output)

    agent = RealtimeAgent(name="Storyteller", instructions="Tell stories with tools.",
                          tools=[tell_story], output_guardrails=[
                              OutputGuardrail(guardrail_function=no_robots, name="no_robots")])

    async def body(session, rec):
        await session.send_message("Please tell me a long story.")
        await rec.wait(count("guardrail_tripped"))
        tripped = rec.of("guardrail_tripped")[0]
        assert tripped.guardrail_results[0].output.tripwire_triggered

    await run(agent, engine, body,
              output_guardrails=[], guardrails_settings={"debounce_text_length": 40})


async def test_barge_in_interrupts_audio(engine, speech):
    agent = RealtimeAgent(name="Storyteller", instructions="Tell stories with tools.",
                          tools=[tell_story])
    interruption = speech.utterance("Wait, stop please.")

    async def body(session, rec):
        await session.send_message("Tell me a long story.")
        await rec.wait(count("tool_end"))
        await rec.wait(lambda evs: len([e for e in evs if e.type == "audio"]) >= 2)
        for i in range(0, len(interruption), 1920):
            await session.send_audio(interruption[i:i + 1920])
        await rec.wait(count("audio_interrupted"))

    await run(agent, engine, body)


@function_tool(needs_approval=True)
def refund_order(order_id: str) -> str:
    """Refund an order by its number."""
    return json.dumps({"order_id": order_id, "refunded": True})


@tool_output_guardrail
def no_card_numbers(data):
    if "4111" in str(data.output):
        return ToolGuardrailFunctionOutput.reject_content("That card number is private.")
    return ToolGuardrailFunctionOutput.allow()


@function_tool(tool_output_guardrails=[no_card_numbers])
def card_on_file(customer_id: str) -> str:
    """The payment card a customer has on file."""
    return json.dumps({"customer_id": customer_id, "card": "4111 1111 1111 1111"})


async def test_tool_approval_approve_then_reject(engine):
    """openai-agents pauses a needs_approval call (tool_approval_required); the engine's
    events for it, the approved run and the rejected call all pass its validation. Then
    a tool output guardrail replaces an output before the engine reads it back."""
    agent = RealtimeAgent(name="Clerk", instructions="Refund orders.",
                          tools=[refund_order, card_on_file])

    def history_has(text):
        return lambda evs: any(e.type == "history_updated" and text in json.dumps(
            [i.model_dump() for i in e.history]) for e in evs)

    async def body(session, rec):
        await session.send_message("Please refund order 42")
        await rec.wait(count("tool_approval_required"))
        asked = rec.of("tool_approval_required")[0]
        assert (asked.tool.name, json.loads(asked.arguments)) == ("refund_order",
                                                                  {"order_id": "42"})
        assert not rec.of("tool_start")  # nothing runs before the approval
        await session.approve_tool_call(asked.call_id)
        await rec.wait(count("tool_end"))
        await rec.wait(history_has("Order id is 42 and refunded is yes"))

        await session.send_message("Please refund order 43")
        await rec.wait(count("tool_approval_required", 2))
        await session.reject_tool_call(rec.of("tool_approval_required")[1].call_id)
        await rec.wait(history_has("Tool execution was not approved."))
        assert len(rec.of("tool_start")) == 1  # the rejected call never ran

        await session.send_message("Which payment card does customer 7 have on file?")
        await rec.wait(history_has("That card number is private."))
        assert "4111" not in json.dumps([i.model_dump() for i in rec.of(
            "history_updated")[-1].history])

    await run(agent, engine, body)
