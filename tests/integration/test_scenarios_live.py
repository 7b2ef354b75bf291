"""Each scenario, end to end on the local engine: every sample line gets an answer."""

from __future__ import annotations

import pytest

import rtnb
from rtnb import scenarios

pytestmark = pytest.mark.slow

EXPECT = {
    # scenario: (agents visited in order, a phrase the conversation must contain)
    "chat_supervisor": (["chatAgent"], "98101"),
    "customer_service_retail": (["authentication", "returns", "sales", "simulatedHuman"],
                                "RMA-"),
    "simple_handoff": (["greeter", "haikuWriter"], ""),
    "triage": (["triage", "billing", "triage", "technical"], "INV-1042"),
}


@pytest.mark.parametrize("name", scenarios.names())
async def test_scenario_runs_end_to_end(engine, name):
    scenario = scenarios.get(name)
    async with rtnb.Session(scenario.root, backend=engine) as session:
        for line in scenario.sample_lines:
            await session.say(line)
            reply = await session.wait(timeout=30)
            assert reply, f"no answer to {line!r}"
    assert session.transcript.errors == []
    visited = [e.title.removeprefix("Agent: ") for e in session.transcript.entries
               if e.kind == "breadcrumb"]
    agents, phrase = EXPECT[name]
    assert [a for i, a in enumerate(visited) if i == 0 or a != visited[i - 1]] == agents
    assert phrase in str(session.transcript)
    assert len(session.turns) == len(scenario.sample_lines)
    assert all(t.e2e is not None for t in session.turns)
