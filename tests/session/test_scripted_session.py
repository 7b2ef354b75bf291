"""rtnb.Session on a ScriptedTransport: the session's logic end to end, in milliseconds.

The same scenarios as tests/session/test_session.py (tools, handoffs, guardrails, barge-in at
the played position, push-to-talk, failures), with a scripted server instead of the
engine: no sockets, no models.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

import rtnb
from rtnb import Agent, output_guardrail, tool
from rtnb.session.playback import ClockPlayer
from rtnb.session.scripted import (
    ScriptedTransport,
    audio,
    error,
    failed,
    handoff,
    on,
    text,
    tool_call,
    user_turn,
)

STORY = ("Once upon a time a small robot lived in a lighthouse by the sea. Every night it "
         "polished the great lamp. One stormy evening the robot saw a ship in trouble.")


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city."""
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


@tool(timeout=0.2)
async def slow_lookup(order_id: str) -> str:
    """Look up an order."""
    await asyncio.sleep(5)
    return "never"


BILLING = Agent("Billing", "You handle invoices and payments.")


def assistant(**kw) -> Agent:
    return Agent("Assistant", "Use tools.", tools=kw.pop("tools", [get_weather]), **kw)


def client_kinds(s: rtnb.Session) -> list[str]:
    return [e.type for e in s.log if e.direction == "client"]


async def test_a_session_runs_on_a_script_in_milliseconds():
    transport = ScriptedTransport(text("Hello! How can I help?"))
    async with rtnb.Session(assistant(), transport=transport) as s:
        await s.say("Hi")
        reply = await s.wait(timeout=5)
    assert reply == "Hello! How can I help?"
    assert s.backend.kind == "scripted" and not transport.remaining
    assert [e["type"] for e in transport.sent] == [
        "session.update", "conversation.item.create", "response.create"]
    assert len(s.turns) == 1 and s.turns[0].kind == "text"


async def test_tool_round_trip():
    transport = ScriptedTransport(tool_call("get_weather", city="Paris"),
                                  text("It's 18 degrees and sunny in Paris."))
    async with rtnb.Session(assistant(), transport=transport) as s:
        await s.say("What's the weather in Paris?")
        reply = await s.wait(timeout=5)
    assert "sunny" in reply
    call = s.transcript.tool_calls[-1]
    assert call.name == "get_weather" and call.args == {"city": "Paris"}
    assert json.loads(call.output)["temperature_c"] == 18
    # The tool's output went back, then exactly one follow-up response.create.
    assert client_kinds(s)[-2:] == ["conversation.item.create", "response.create"]
    assert transport.sent[-2]["item"]["type"] == "function_call_output"
    turn = s.turns[0]
    assert turn.tools[0][0] == "get_weather" and turn.tool_time is not None


async def test_tool_timeout_becomes_the_output():
    transport = ScriptedTransport(tool_call("slow_lookup", order_id="42"), text("Sorry."))
    async with rtnb.Session(assistant(tools=[slow_lookup]), transport=transport) as s:
        await s.say("Where is order 42?")
        await s.wait(timeout=5)
    assert "timed out" in json.loads(s.transcript.tool_calls[0].output)["error"]


async def test_unknown_tool_gets_an_error_output():
    transport = ScriptedTransport(tool_call("no_such_tool"), text("I can't do that."))
    async with rtnb.Session(assistant(), transport=transport) as s:
        await s.say("Do the impossible.")
        assert await s.wait(timeout=5) == "I can't do that."
    output = next(e["item"]["output"] for e in transport.sent
                  if (e.get("item") or {}).get("type") == "function_call_output")
    assert json.loads(output) == {"error": "unknown tool no_such_tool"}


async def test_handoff_switches_agent_and_keeps_the_conversation():
    transport = ScriptedTransport(handoff("Billing"), audio("Billing here, I can help."))
    async with rtnb.Session(assistant(handoffs=[BILLING]), transport=transport) as s:
        await s.say("I was charged twice.")
        reply = await s.wait(timeout=5)
    assert s.agent is BILLING and reply == "Billing here, I can help."
    crumbs = [e.title for e in s.transcript.entries if e.kind == "breadcrumb"]
    assert crumbs == ["Agent: Assistant", "Agent: Billing"]
    kinds = client_kinds(s)
    after = kinds[kinds.index("session.update", 1):]
    assert after == ["session.update", "conversation.item.create", "response.create"]
    assert transport.config["instructions"] == BILLING.instructions  # the server's view
    handoff_output = transport.sent[-2]["item"]
    assert json.loads(handoff_output["output"]) == {"assistant": "Billing"}
    assert s.turns[-1].handoff_time is not None


async def test_guardrail_trips_while_speaking_and_retries_once():
    seen = []

    @output_guardrail
    def no_storms(text: str):
        seen.append(len(text))
        return {"tripped": "stormy" in text, "category": "OFF_BRAND",
                "rationale": "no weather drama"}

    transport = ScriptedTransport(audio(STORY), audio("Sorry, let me tell a calm story."))
    agent = assistant(output_guardrails=[no_storms])
    async with rtnb.Session(agent, transport=transport, guardrail_chars=50) as s:
        await s.say("Tell me a story.")
        await s.wait(timeout=5)
    trips = [e.event for e in s.log if e.type == "local.guardrail"
             and e.event["result"]["tripped"]]
    assert len(trips) == 1 and not trips[0]["final"]  # caught mid-story, at a 50-char mark
    assert seen[0] >= 50 and seen[0] % 50 < 20
    corrective = [e["item"] for e in transport.sent if e["type"] == "conversation.item.create"
                  and "blocked by the no_storms guardrail" in json.dumps(e)]
    assert len(corrective) == 1 and corrective[0]["id"].startswith("item_rtnbfix")
    assert s.transcript.last("assistant") == "Sorry, let me tell a calm story."
    assert len(s.turns) == 1  # the corrective message is not a user turn


async def test_a_guardrail_that_always_trips_gives_up_after_one_retry():
    @output_guardrail
    def strict(text: str) -> bool:
        return True

    transport = ScriptedTransport(text("First try."), text("Second try."), text("Never."))
    async with rtnb.Session(assistant(output_guardrails=[strict]), transport=transport) as s:
        await s.say("Hello")
        await s.wait(timeout=5)
    assert [e.type for e in s.log if e.type.startswith("local.guardrail")] == [
        "local.guardrail", "local.guardrail", "local.guardrail.gave_up"]
    assert client_kinds(s).count("response.create") == 2
    assert len(transport.remaining) == 1  # the third reply was never asked for


async def test_barge_in_truncates_at_the_played_position():
    now = [0.0]
    player = ClockPlayer(lambda: now[0])
    transport = ScriptedTransport(
        audio(STORY),
        on("input_audio_buffer.append", user_turn("Stop please.", ms=600), text("Okay.")))
    async with rtnb.Session(assistant(), transport=transport, player=player) as s:
        await s.say("Tell me a story.")
        await s.wait(timeout=5)
        assert player.remaining() > 5  # the whole story is queued
        now[0] += 1.234  # the simulated speaker has played 1.234 s
        await s.send_audio(np.zeros(24_000, dtype=np.int16))
        assert await s.wait(timeout=5) == "Okay."
    truncate = next(e["audio_end_ms"] for e in transport.sent
                    if e["type"] == "conversation.item.truncate")
    assert truncate == 1234
    flushed = next(e.event for e in s.log if e.type == "local.playback.flushed")
    assert flushed["reason"] == "barge_in" and flushed["played_ms"] == 1234.0
    story = next(m for m in s.transcript.entries if getattr(m, "interrupted_ms", None))
    assert story.interrupted_ms == 1234 and story.status == "interrupted"
    # Only the words whose audio had started by 1.234 s stay in the transcript.
    assert STORY.startswith(story.text) and 0 < len(story.text) < len(STORY) / 3
    assert s.turns[0].barge_in is not None


async def test_interrupt_cancels_an_open_response():
    now = [0.0]
    player = ClockPlayer(lambda: now[0])
    transport = ScriptedTransport(audio(STORY, finish=False))
    async with rtnb.Session(assistant(), transport=transport, player=player) as s:
        await s.say("Tell me a story.")
        await asyncio.sleep(0.05)
        assert s.active_response is not None and not s.idle
        now[0] += 0.5
        await s.interrupt()
        await s.wait(timeout=5)
    assert client_kinds(s)[-2:] == ["conversation.item.truncate", "response.cancel"]
    done = [e.event["response"] for e in s.log if e.type == "response.done"]
    assert done[-1]["status"] == "cancelled" and s.active_response is None


async def test_push_to_talk():
    transport = ScriptedTransport(text("Madrid is sunny."))
    async with rtnb.Session(assistant(), transport=transport, turn_detection=None) as s:
        await s.start_talking()
        await s.send_audio(np.zeros(12_000, dtype=np.int16))
        await s.stop_talking()
        assert await s.wait(timeout=5) == "Madrid is sunny."
        with pytest.raises(rtnb.SessionError, match="without start_talking"):
            await s.stop_talking()
    assert client_kinds(s)[-2:] == ["input_audio_buffer.commit", "response.create"]
    assert transport.sent[0]["session"]["audio"]["input"]["turn_detection"] is None


async def test_a_failed_response_raises_in_wait_with_the_servers_message():
    transport = ScriptedTransport(failed("RuntimeError: brain endpoint http://127.0.0.1:9 is "
                                         "dead"), text("Back again."))
    async with rtnb.Session(assistant(), transport=transport) as s:
        await s.say("hello")
        with pytest.raises(rtnb.SessionError, match="brain endpoint .* is dead") as raised:
            await s.wait(timeout=5)
        assert raised.value.server_errors[0]["response_id"].startswith("resp_")
        await s.say("hello again")  # a new input starts clean
        assert await s.wait(timeout=5) == "Back again."


async def test_an_error_for_the_sessions_own_request_raises_in_wait():
    transport = ScriptedTransport(on("conversation.item.create",
                                     error("Invalid item content.", "invalid_value")),
                                  text("Still here."))
    async with rtnb.Session(assistant(), transport=transport) as s:
        await s.say("hello")
        with pytest.raises(rtnb.SessionError,
                           match=r"refused conversation.item.create \(evt_rtnb_\d+\): "
                                 r"Invalid item content. \[invalid_value\]"):
            await s.wait(timeout=5)
    added = [e.event["item"]["role"] for e in s.log if e.type == "conversation.item.added"]
    assert added == ["assistant"]  # the refused user message was not added


async def test_a_create_without_a_scripted_reply_raises_instead_of_hanging():
    async with rtnb.Session(assistant(), transport=ScriptedTransport()) as s:
        await s.say("hello")
        with pytest.raises(rtnb.SessionError, match="no reply for this response.create"):
            await s.wait(timeout=5)


async def test_a_dropped_connection_is_reported():
    transport = ScriptedTransport(audio(STORY, finish=False))
    async with rtnb.Session(assistant(), transport=transport) as s:
        await s.say("Tell me a story.")
        await asyncio.sleep(0.05)
        transport.drop("connection reset by peer")
        with pytest.raises(rtnb.SessionError, match="connection lost: connection reset"):
            await s.wait(timeout=5)
        assert not s.connected and s.log[-1].type == "local.disconnected"
        with pytest.raises(rtnb.SessionError, match="not connected"):
            await s.say("Hello?")


async def test_input_before_connecting_is_refused_and_not_counted():
    s = rtnb.Session(assistant(), transport=ScriptedTransport())
    with pytest.raises(rtnb.SessionError, match="not connected"):
        await s.say("hi")
    assert s.state.inputs == 0 and len(s.log) == 0


async def test_saved_scripted_session_replays_through_the_same_path(tmp_path):
    transport = ScriptedTransport(tool_call("get_weather", city="Oslo"),
                                  audio("Oslo is sunny today."))
    async with rtnb.Session(assistant(), transport=transport) as s:
        await s.say("Weather in Oslo?")
        await s.wait(timeout=5)
    path = s.save(tmp_path / "call")
    seen = []
    replay = rtnb.load(path).replay(speed=None)
    replay.on_event(seen.append)
    await replay.connect()
    await asyncio.wait_for(replay._reader, 5)
    assert not replay.connected and replay.closed_reason == "replay finished"
    assert [e.to_json() for e in replay.log] == [e.to_json() for e in s.log]
    assert len(seen) == len(s.log)
    assert bytes(replay.log.output_audio) == bytes(s.log.output_audio)
    assert replay.metrics().rows() == s.metrics().rows()
    assert replay.transcript.lines() == s.transcript.lines()
    assert replay.player.remaining() > 0  # the audio went to its player, as live
    with pytest.raises(rtnb.SessionError, match="takes no input"):
        await replay.say("hello")
    with pytest.raises(rtnb.SessionError, match="cannot reconnect"):
        await replay.reconnect()


async def test_users_scripts_can_push_server_events():
    transport = ScriptedTransport()
    async with rtnb.Session(assistant(), transport=transport) as s:
        transport.push({"type": "rate_limits.updated", "rate_limits": []})
        await asyncio.sleep(0.01)
    assert any(e.type == "rate_limits.updated" for e in s.log)
    assert all(e.event.get("event_id") for e in s.log if e.direction == "server")
