"""MCP tools in the sans-I/O core: listing, approvals, calls, history. No sockets, no servers."""

from __future__ import annotations

import json

import pytest

from rtnb.engine.core import ListMcpTools, RealtimeCore, StartResponse
from rtnb.engine.core.mcp import MASK, needs_approval
from tests.engine.test_core import events, send, types
from tests.wire import validate_server_event

TOOLS = [
    {"name": "get_order_status", "description": "Look up an order.",
     "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
     "annotations": {"readOnlyHint": True}},
    {"name": "cancel_order", "description": "Cancel an order.",
     "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
     "annotations": {"destructiveHint": True}},
]


def checked(out):
    for ev in events(out):
        validate_server_event(ev)
    return out


def configured(**tool) -> tuple[RealtimeCore, ListMcpTools]:
    core = RealtimeCore()
    out = send(core, type="session.update", session={"type": "realtime", "tools": [{
        "type": "mcp", "server_label": "orders", "server_url": "http://127.0.0.1:1/mcp",
        "authorization": "tok", "headers": {"X-Key": "k"}, **tool}]})
    (job,) = [o for o in out if isinstance(o, ListMcpTools)]
    return core, job


def test_an_mcp_tool_is_listed_once_and_its_secrets_are_masked():
    core, job = configured()
    assert job.tool["authorization"] == "tok" and job.tool["headers"] == {"X-Key": "k"}
    shown = core.session["tools"][0]
    assert shown["authorization"] == MASK and shown["headers"] == {"X-Key": MASK}
    out = checked(core.mcp_tools_listed(job.item_id, TOOLS))
    assert types(out) == ["mcp_list_tools.completed", "conversation.item.done"]
    assert [t["name"] for t in out[-1]["item"]["tools"]] == ["get_order_status", "cancel_order"]
    # The same server again lists nothing new; a changed URL lists again.
    same = send(core, type="session.update", session={"type": "realtime", "tools": [{
        "type": "mcp", "server_label": "orders", "server_url": "http://127.0.0.1:1/mcp",
        "authorization": "tok", "headers": {"X-Key": "k"}, "require_approval": "never"}]})
    assert types(same) == ["session.updated"]
    moved = send(core, type="session.update", session={"type": "realtime", "tools": [{
        "type": "mcp", "server_label": "orders", "server_url": "http://127.0.0.1:2/mcp"}]})
    assert types(moved) == ["session.updated", "conversation.item.added",
                            "mcp_list_tools.in_progress"]


def test_allowed_tools_filter_what_the_brain_sees():
    core, job = configured(allowed_tools={"read_only": True})
    core.mcp_tools_listed(job.item_id, TOOLS)
    out = send(core, type="response.create")
    (start,) = [o for o in out if isinstance(o, StartResponse)]
    names = [t["name"] for t in core.brain_request(start.response_id).tools]
    assert names == ["get_order_status"]


def test_a_failed_listing_says_why():
    core, job = configured()
    out = checked(core.mcp_tools_failed(job.item_id, "Could not reach it"))
    assert types(out) == ["mcp_list_tools.failed", "conversation.item.done", "error"]
    assert out[-1]["error"]["code"] == "mcp_list_tools_failed"


@pytest.mark.parametrize("rule, name, asks", [
    (None, "get_order_status", True),  # OpenAI's default: always ask
    ("always", "get_order_status", True),
    ("never", "cancel_order", False),
    ({"never": {"tool_names": ["get_order_status"]}}, "get_order_status", False),
    ({"never": {"tool_names": ["get_order_status"]}}, "cancel_order", True),
    ({"never": {"read_only": True}}, "get_order_status", False),
    ({"never": {"read_only": True}}, "cancel_order", True),
    ({"always": {"tool_names": ["cancel_order"]}}, "get_order_status", True),
])
def test_require_approval(rule, name, asks):
    tool = next(t for t in TOOLS if t["name"] == name)
    assert needs_approval({"require_approval": rule}, tool) is asks


def response(core) -> str:
    (start,) = [o for o in send(core, type="response.create") if isinstance(o, StartResponse)]
    return start.response_id


def test_a_call_the_brain_reads_and_an_approval_that_starts_the_next_response():
    core, job = configured(require_approval={"never": {"read_only": True}})
    core.mcp_tools_listed(job.item_id, TOOLS)
    rid = response(core)
    server, asks = core.mcp_tool(rid, "get_order_status")
    assert not asks and core.mcp_tool(rid, "nope") is None
    out = checked(core.output_mcp_call(rid, "orders", "get_order_status", '{"order_id": "A1"}'))
    assert types(out) == ["response.output_item.added", "conversation.item.added",
                          "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done",
                          "response.mcp_call.in_progress"]
    out = checked(core.output_mcp_result(rid, "Shipped."))
    assert types(out)[0] == "response.mcp_call.completed"
    history = core.brain_request(rid).history
    assert [h["type"] for h in history[-2:]] == ["function_call", "function_call_output"]
    assert history[-1]["output"] == "Shipped."
    checked(core.output_mcp_approval_request(rid, "orders", "cancel_order", '{"order_id": "B"}'))
    done = checked(core.finish(rid))
    request = done[0]["response"]["output"][-1]
    assert request["type"] == "mcp_approval_request"
    out = checked(send(core, type="conversation.item.create", item={
        "type": "mcp_approval_response", "approval_request_id": request["id"],
        "approve": False, "reason": "No."}))
    (start,) = [o for o in out if isinstance(o, StartResponse)]
    assert core.approved_call(start.response_id) is None
    declined = core.brain_request(start.response_id).history[-1]
    assert "was not run" in declined["output"] and declined["output"].endswith("No.")
    again = events(send(core, type="conversation.item.create", item={
        "type": "mcp_approval_response", "approval_request_id": request["id"],
        "approve": True}))
    assert again[0]["type"] == "error"  # answered already


def test_a_cancel_during_a_call_closes_it_with_an_error():
    core, job = configured(require_approval="never")
    core.mcp_tools_listed(job.item_id, TOOLS)
    rid = response(core)
    core.output_mcp_call(rid, "orders", "get_order_status", json.dumps({"order_id": "A1"}))
    out = checked(send(core, type="response.cancel"))
    assert types(out)[:2] == ["response.mcp_call.failed", "response.output_item.done"]
    done = next(e for e in events(out) if e["type"] == "response.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["output"][0]["error"]["type"] == "tool_execution_error"
