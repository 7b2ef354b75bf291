"""Declarative agents and @tool: schemas from hints and docstrings, failure handling."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Literal

import pydantic
import pytest
from agents.realtime import RealtimeAgent, realtime_handoff

from rtnb import Agent, ToolContext, tool


@tool
def book_table(city: str, guests: int, when: Literal["lunch", "dinner"] = "dinner",
               phone: Annotated[str, pydantic.Field(pattern=r"^\d{10}$")] = "0000000000",
               ctx: ToolContext = None) -> dict:
    """Book a restaurant table.

    Args:
        city: Where to eat.
        guests: How many people,
            including the caller.
        when: Which meal.
    """
    return {"city": city, "guests": guests, "when": when, "has_ctx": ctx is not None}


def test_schema_from_hints_and_docstring():
    schema = book_table.parameters
    assert book_table.description == "Book a restaurant table."
    assert schema["required"] == ["city", "guests"]
    props = schema["properties"]
    assert set(props) == {"city", "guests", "when", "phone"}  # ctx is not a parameter
    assert props["guests"] == {"type": "integer",
                               "description": "How many people, including the caller."}
    assert props["when"]["enum"] == ["lunch", "dinner"]
    assert props["phone"]["pattern"] == r"^\d{10}$"
    json.dumps(book_table.to_wire())


def test_run_validates_and_passes_context():
    ctx = ToolContext(session=None, call_id="c1", agent=Agent("A"))
    out = json.loads(asyncio.run(book_table.run('{"city": "Oslo", "guests": "3"}', ctx)))
    assert out == {"city": "Oslo", "guests": 3, "when": "dinner", "has_ctx": True}
    bad = json.loads(asyncio.run(book_table.run('{"city": "Oslo", "guests": "many"}')))
    assert "invalid arguments for book_table" in bad["error"]
    bad = json.loads(asyncio.run(book_table.run('{"city": "Oslo", "guests": 2, '
                                                '"phone": "12"}')))
    assert "invalid arguments" in bad["error"]
    assert "invalid arguments" in json.loads(asyncio.run(book_table.run("{not json")))["error"]


def test_timeouts_and_exceptions_become_outputs():
    @tool(timeout=0.05)
    async def slow() -> str:
        """Slow."""
        await asyncio.sleep(1)
        return "late"

    @tool(timeout=0.05)
    def slow_sync() -> str:
        """Slow too."""
        import time

        time.sleep(0.3)
        return "late"

    @tool
    def boom() -> str:
        """Fails."""
        raise KeyError("missing")

    assert json.loads(asyncio.run(slow.run("{}")))["error"] == "slow timed out after 0.05s"
    assert "timed out" in json.loads(asyncio.run(slow_sync.run("{}")))["error"]
    assert json.loads(asyncio.run(boom.run("{}")))["error"] == "boom failed: KeyError: 'missing'"


def test_handoff_tools_match_openai_agents():
    billing = Agent("Billing Team", handoff_description="Bills.")
    theirs = realtime_handoff(RealtimeAgent(name="Billing Team", handoff_description="Bills."))
    mine = Agent("Triage", handoffs=[billing]).handoff_tools()[0]
    assert mine["name"] == theirs.tool_name
    assert mine["description"] == theirs.tool_description
    assert mine["parameters"] == theirs.input_json_schema


def test_agent_validation_and_graph():
    a = Agent("A")
    b = Agent("B", handoffs=[a])
    a.handoffs.append(b)  # cycles are fine
    assert {x.name for x in a.reachable()} == {"A", "B"}
    assert "handoffs=['B']" in repr(a)
    with pytest.raises(TypeError):
        Agent("C", tools=[lambda: 1])
    with pytest.raises(ValueError, match="duplicate"):
        Agent("D", tools=[book_table, book_table])
