"""MCP servers' tools as function tools of a session (our own server, tests/mcp_shop_server.py).

A real MCP server (the official SDK's MCPServer) runs as a subprocess over stdio and
on 127.0.0.1 over streamable HTTP; the Realtime side is a ScriptedTransport (no engine,
no models). Most of each test's time is the server's Python starting. tests/integration/test_mcp_engine.py does the same through the
local engine.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rtnb
from rtnb import Agent, tool
from rtnb.session.scripted import ScriptedTransport, text, tool_call
from tests.mcpharness import SERVER, http_server, stdio_server

pytest.importorskip("mcp")
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def http_url():
    with http_server() as url:
        yield url


def outputs(transport: ScriptedTransport) -> list[str]:
    return [e["item"]["output"] for e in transport.sent if e["type"] == "conversation.item.create"
            and e["item"].get("type") == "function_call_output"]


def offered(transport: ScriptedTransport) -> list[str]:
    update = next(e for e in transport.sent if e["type"] == "session.update")
    return [t["name"] for t in update["session"]["tools"]]


async def converse(server: rtnb.MCPServer) -> tuple[rtnb.Session, ScriptedTransport]:
    transport = ScriptedTransport(
        tool_call("lookup_order", order_id="42"), text("Order 42 has shipped."),
        tool_call("cancel_order", order_id="7"), text("Sorry, I can't cancel it."))
    agent = Agent("Shop", "Help with orders.", mcp_servers=[server])
    async with rtnb.Session(agent, transport=transport) as s:
        await s.say("Where is order 42?")
        assert await s.wait() == "Order 42 has shipped."
        await s.say("Cancel order 7")
        await s.wait()
    return s, transport


@pytest.mark.parametrize("transport_kind", ["stdio", "http"])
async def test_mcp_tools_are_listed_called_and_errors_reach_the_model(transport_kind, request):
    server = (stdio_server() if transport_kind == "stdio"
              else rtnb.MCPServer.http(request.getfixturevalue("http_url"), name="shop"))
    s, transport = await converse(server)
    assert offered(transport) == ["lookup_order", "cancel_order"]
    [listed] = [e.event for e in s.log if e.type == "local.mcp.tools"]
    assert listed == {"type": "local.mcp.tools", "server": "shop",
                      "tools": ["lookup_order", "cancel_order"]}
    found, refused = outputs(transport)
    assert json.loads(found) == {"order_id": "42", "status": "shipped"}
    assert json.loads(refused) == {"error": "Error executing tool cancel_order: "
                                            "order 7 can no longer be cancelled"}
    assert not server.connected  # the session that opened it closed it


async def test_mcp_tools_can_need_approval_and_be_filtered():
    server = stdio_server(allowed_tools=["lookup_order"], needs_approval=True)
    transport = ScriptedTransport(tool_call("lookup_order", order_id="42"), text("Shipped."))
    async with rtnb.Session(Agent("Shop", "Orders.", mcp_servers=[server]),
                            transport=transport) as s:
        assert offered(transport) == ["lookup_order"]
        await s.say("Where is order 42?")
        await s.wait()
        await s.approve(s.pending_approvals[0])
        assert await s.wait() == "Shipped."
    assert "shipped" in outputs(transport)[0]


async def test_a_server_the_user_opened_stays_open():
    server = stdio_server()
    await server.connect()
    try:
        async with rtnb.Session(Agent("Shop", "Orders.", mcp_servers=[server]),
                                transport=ScriptedTransport()):
            pass
        assert server.connected
        assert "shipped" in await server.call("lookup_order", {"order_id": "42"})
    finally:
        await server.close()
    assert not server.connected


async def test_a_name_clash_with_an_own_tool_is_refused():
    @tool
    def lookup_order(order_id: str) -> str:
        """Look up an order."""
        return "mine"

    server = stdio_server()
    agent = Agent("Shop", "Orders.", tools=[lookup_order], mcp_servers=[server])
    with pytest.raises(rtnb.SessionError, match=r"duplicate tool names \['lookup_order'\]"):
        await rtnb.Session(agent, transport=ScriptedTransport()).connect()
    assert not server.connected


async def test_a_server_that_does_not_start_fails_the_connect():
    server = rtnb.MCPServer.stdio(sys.executable, ["-c", "import sys; sys.exit(3)"])
    with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises for a dead server
        await asyncio.wait_for(server.connect(), 60)
    assert not server.connected


def test_a_stdio_server_starts_where_stderr_is_no_file():
    """In a Jupyter kernel sys.stderr has no fileno() (and the mcp SDK binds it as the
    server's stderr when it is imported): the server must start anyway."""
    script = textwrap.dedent(f"""
        import asyncio, io, sys

        class KernelStream(io.StringIO):
            def fileno(self):
                raise io.UnsupportedOperation("fileno")

        sys.stderr = KernelStream()
        import rtnb  # noqa: E402

        async def main():
            server = rtnb.MCPServer.stdio(sys.executable, [{SERVER!r}, "stdio"])
            print([t.name for t in await server.connect()])
            await server.close()

        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "['lookup_order', 'cancel_order']", out.stderr[-2000:]


def test_a_servers_default_name_holds_no_credentials():
    server = rtnb.MCPServer.http("http://user:s3cret@127.0.0.1:8123/mcp?token=abc")
    assert server.name == "http://127.0.0.1:8123/mcp"
    assert "s3cret" not in repr(server) and "abc" not in repr(server)
