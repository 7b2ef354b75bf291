"""The README's scripted-transport example runs as written, and its claims hold."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import rtnb
from rtnb.session.scripted import ScriptedTransport, audio, error, on, text, tool_call, user_turn

README = Path(__file__).resolve().parents[2] / "README.md"


@rtnb.tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city."""
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


def example() -> str:
    section = README.read_text().split("## Testing an agent without models", 1)[1]
    return re.search(r"```python\n(.+?)\n```", section, re.DOTALL).group(1)


async def test_the_readme_example_runs():
    namespace: dict = {}
    exec("async def run(agent):\n" + textwrap.indent(example(), "    ") +  # noqa: S102
         "\n    return scripted, transport", namespace)
    agent = rtnb.Agent("Assistant", "Use tools for weather.", tools=[get_weather])
    session, transport = await namespace["run"](agent)
    assert isinstance(transport, rtnb.ScriptedTransport) and not session.connected


async def test_replies_add_up_to_one_response():
    transport = ScriptedTransport(text("One moment.") + tool_call("get_weather", city="Rome"),
                                  text("Rome is sunny."))
    agent = rtnb.Agent("Assistant", tools=[get_weather])
    async with rtnb.Session(agent, transport=transport) as s:
        await s.say("Weather in Rome?")
        assert await s.wait(timeout=5) == "Rome is sunny."
    created = [e for e in s.log if e.type == "response.created"]
    assert len(created) == 2
    first = [e.event["item"]["type"] for e in s.log if e.type == "response.output_item.done"]
    assert first[:2] == ["message", "function_call"]


async def test_user_turn_cancels_an_open_response_and_a_short_commit_is_refused():
    transport = ScriptedTransport(
        audio("A very long answer that goes on and on.", finish=False),
        on("input_audio_buffer.append", user_turn("Stop."), text("Stopped.")),
        on("conversation.item.create", error("no images here", "invalid_value")))
    async with rtnb.Session(rtnb.Agent("A"), transport=transport) as s:
        await s.say("Talk to me.")
        await s.send_audio(np.zeros(4800, dtype=np.int16))
        assert await s.wait(timeout=5) == "Stopped."
        done = [e.event["response"] for e in s.log if e.type == "response.done"]
        assert done[0]["status"] == "cancelled"
        assert done[0]["status_details"]["reason"] == "turn_detected"
        s.turn_detection = None
        await s.start_talking()
        await s.send_audio(np.zeros(1200, dtype=np.int16), commit=True)  # 50 ms
        with pytest.raises(rtnb.SessionError, match="buffer too small.*no reply"):
            await s.wait(timeout=5)
        errors = [e.event["error"]["code"] for e in s.log if e.type == "error"]
    assert errors == ["input_audio_buffer_commit_empty", "scripted_reply_missing"]
    assert len(transport.remaining) == 1  # the item.create step never came


async def test_push_and_drop():
    transport = ScriptedTransport()
    async with rtnb.Session(rtnb.Agent("A"), transport=transport) as s:
        transport.push({"type": "rate_limits.updated", "rate_limits": []})
        transport.drop("the test pulled the plug")
        while s.connected:
            await asyncio.sleep(0.001)
    assert s.closed_reason == "the test pulled the plug"
    assert [e.type for e in s.log][-2:] == ["rate_limits.updated", "local.disconnected"]
