"""MCP tools run by the engine (``type: "mcp"``), through the official openai SDK.

A real MCP server of our own (tests/mcp_server.py: the mcp SDK's MCPServer over
streamable HTTP on 127.0.0.1) and the real engine; every server event is validated
with the SDK's own types before it is parsed.
"""

from __future__ import annotations

import json

import pytest
from openai import AsyncOpenAI

from tests.integration.test_engine_sdk import of, recv, until

pytest.importorskip("mcp")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def orders():
    from tests.mcp_server import orders

    with orders() as running:
        yield running


def mcp_tool(server, **extra):
    return {"type": "mcp", "server_label": "orders", "server_url": server.url, **extra}


async def connect_text(engine, tools):
    """A text session whose MCP tools are listed; returns the connection and the events."""
    client = AsyncOpenAI(api_key="local", websocket_base_url=engine.url)
    conn = await client.realtime.connect(model="gpt-realtime-2.1").enter()
    await recv(conn)  # session.created
    await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                       "instructions": "Help with orders.", "tools": tools})
    events = await until(conn, "conversation.item.done")
    return conn, events


async def ask(conn, text, until_kind="response.done"):
    await conn.conversation.item.create(item={
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    await conn.response.create()
    return await until(conn, until_kind)


def answer(events) -> str:
    return " ".join(e.text for e in of(events, "response.output_text.done"))


async def test_tools_are_listed_and_called_during_a_response(engine, orders):
    tool = mcp_tool(orders, require_approval="never", authorization="s3cret-token",
                    allowed_tools=["get_order_status", "check_warehouse"])
    conn, listing = await connect_text(engine, [tool])
    try:
        kinds = [e.type for e in listing]
        assert kinds == ["session.updated", "conversation.item.added",
                         "mcp_list_tools.in_progress", "mcp_list_tools.completed",
                         "conversation.item.done"]
        shown = listing[0].session.tools[0]
        assert shown.authorization != "s3cret-token"  # the secret is not echoed
        done = listing[-1].item
        assert done.type == "mcp_list_tools" and done.server_label == "orders"
        assert sorted(t.name for t in done.tools) == ["check_warehouse", "get_order_status"]
        assert orders.authorizations and set(orders.authorizations) == {"Bearer s3cret-token"}

        events = await ask(conn, "What's the status of order A1234?")
        kinds = [e.type for e in events]
        order = ["response.output_item.added", "response.mcp_call_arguments.delta",
                 "response.mcp_call_arguments.done", "response.mcp_call.in_progress",
                 "response.mcp_call.completed", "response.output_item.done",
                 # then the answer, in the same response
                 "response.output_item.added", "response.output_text.done",
                 "response.output_item.done", "response.done"]
        assert [k for k in kinds if k in set(order)] == order
        call = of(events, "response.output_item.done")[0].item
        assert call.type == "mcp_call" and call.name == "get_order_status"
        assert json.loads(call.arguments) == {"order_id": "A1234"}
        assert "shipped yesterday" in call.output and call.error is None
        assert ("get_order_status", {"order_id": "A1234"}) in orders.calls
        assert "shipped yesterday" in answer(events)  # the brain read the result back
        assert of(events, "response.done")[0].response.status == "completed"

        events = await ask(conn, "Check the warehouse in Paris.")
        failed = of(events, "response.output_item.done")[0].item
        assert "response.mcp_call.failed" in [e.type for e in events]
        assert failed.error.type == "tool_execution_error"
        assert "offline" in failed.error.message and failed.output is None
    finally:
        await conn.close()


async def test_approval_request_then_approve_or_decline(engine, orders):
    tool = mcp_tool(orders, require_approval={"never": {"read_only": True}})
    conn, _ = await connect_text(engine, [tool])
    try:
        events = await ask(conn, "Please cancel order B77.")
        request = of(events, "response.output_item.done")[0].item
        assert request.type == "mcp_approval_request" and request.name == "cancel_order"
        assert json.loads(request.arguments) == {"order_id": "B77"}
        assert "response.mcp_call.in_progress" not in [e.type for e in events]
        assert ("cancel_order", {"order_id": "B77"}) not in orders.calls  # not before approval

        # The approval alone continues: the engine runs the call and answers.
        await conn.conversation.item.create(item={
            "type": "mcp_approval_response", "approval_request_id": request.id,
            "approve": True})
        events = await until(conn, "response.done")
        call = next(e.item for e in of(events, "response.output_item.done")
                    if e.item.type == "mcp_call")
        assert call.approval_request_id == request.id and "cancelled" in call.output
        assert ("cancel_order", {"order_id": "B77"}) in orders.calls
        assert "cancelled" in answer(events)

        events = await ask(conn, "Please cancel order C88.")
        request = of(events, "response.output_item.done")[0].item
        await conn.conversation.item.create(item={
            "type": "mcp_approval_response", "approval_request_id": request.id,
            "approve": False, "reason": "Not today."})
        events = await until(conn, "response.done")
        assert not [e for e in events if e.type.startswith("response.mcp_call")]
        assert ("cancel_order", {"order_id": "C88"}) not in orders.calls
        assert "not run" in answer(events)

        # A read-only tool runs without asking under this filter.
        events = await ask(conn, "What's the status of order D5?")
        assert of(events, "response.output_item.done")[0].item.type == "mcp_call"

        await conn.conversation.item.create(item={
            "type": "mcp_approval_response", "approval_request_id": "mcpr_unknown",
            "approve": True})
        (error,) = of(await until(conn, "error"), "error")
        assert error.error.param == "item.approval_request_id"
    finally:
        await conn.close()


async def test_unreachable_servers_and_connectors_fail_the_listing(engine, orders):
    client = AsyncOpenAI(api_key="local", websocket_base_url=engine.url)
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        await recv(conn)
        await conn.session.update(session={"type": "realtime", "tools": [
            {"type": "mcp", "server_label": "gone", "server_url": "http://127.0.0.1:9/mcp"},
            {"type": "mcp", "server_label": "mail", "connector_id": "connector_gmail",
             "authorization": "oauth-token"}]})
        events = await until(conn, "error", n=2)
    kinds = [e.type for e in events]
    assert kinds.count("mcp_list_tools.failed") == 2
    messages = " ".join(e.error.message for e in of(events, "error"))
    assert "127.0.0.1:9" in messages and "connector_gmail" in messages
    assert "oauth-token" not in messages
