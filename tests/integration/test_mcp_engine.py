"""An rtnb.Agent's MCP tools through the local engine (our own MCP server, both transports).

The engine's brain picks the MCP tool from the description the server gave, the session
calls it on the server, and the answer reads back its result; a tool error reaches the
model as an error output, and the conversation goes on.
"""

from __future__ import annotations

import json

import pytest

import rtnb
from rtnb import Agent
from tests.mcpharness import http_server, stdio_server

pytest.importorskip("mcp")
pytestmark = pytest.mark.slow


async def test_mcp_tools_over_stdio_and_http_through_the_engine(engine):
    with http_server() as url:
        servers = [stdio_server(allowed_tools=["lookup_order"]), rtnb.MCPServer.http(url, name="shop-http",
                                                       allowed_tools=["cancel_order"])]
        agent = Agent("Shop", "Help with orders.", mcp_servers=servers)
        async with rtnb.Session(agent, backend=engine, turn_detection=None) as s:
            await s.say("What is the status of order 42?")
            shipped = await s.wait()
            await s.say("Please cancel order 7")
            refused = await s.wait()
    calls = s.transcript.tool_calls
    assert [(c.name, c.args) for c in calls] == [("lookup_order", {"order_id": "42"}),
                                                 ("cancel_order", {"order_id": "7"})]
    assert json.loads(calls[0].output) == {"order_id": "42", "status": "shipped"}
    assert "order 7 can no longer be cancelled" in json.loads(calls[1].output)["error"]
    assert "shipped" in shipped.lower()
    assert "cancelled" in refused.lower()
    assert [e.event["server"] for e in s.log if e.type == "local.mcp.tools"] == [
        "shop", "shop-http"]
    assert not any(server.connected for server in servers)


async def test_openai_agents_mcp_tools_through_the_engine(engine):
    """openai-agents' own MCP client (RealtimeAgent(mcp_servers=...)) with our server: the
    engine calls the listed tool and reads back its result, every event valid for it."""
    import sys

    from agents.mcp import MCPServerStdio
    from agents.realtime import RealtimeAgent

    from tests.integration.test_engine_agents import run
    from tests.mcpharness import SERVER

    async with MCPServerStdio({"command": sys.executable, "args": [SERVER, "stdio"]},
                              client_session_timeout_seconds=60) as shop:
        agent = RealtimeAgent(name="Shop", instructions="Help with orders.", mcp_servers=[shop])

        async def body(session, rec):
            await session.send_message("What is the status of order 42?")
            await rec.wait(lambda evs: any(e.type == "tool_end" for e in evs), timeout=60)
            end = next(e for e in rec.events if e.type == "tool_end")
            assert end.tool.name == "lookup_order" and "shipped" in str(end.output)
            await rec.wait(lambda evs: any(
                e.type == "history_updated" and "shipped" in json.dumps(
                    [i.model_dump() for i in e.history][-1:]) for e in evs))

        await run(agent, engine, body)
