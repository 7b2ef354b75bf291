"""Reach the MCP servers that a session's ``type: "mcp"`` tools name (the ``rtnb[mcp]`` extra).

The engine talks to each server with the official ``mcp`` SDK's streamable-HTTP client:
one short client session per listing or call, so a server that restarts between
turns costs nothing. ``headers`` and ``authorization`` (sent as ``Authorization: Bearer``)
go to the server and nowhere else: they are never logged and never echoed in events.
Failures come back in the wire's MCP error shapes (``protocol_error``, ``http_error``,
``tool_execution_error``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

#: How long one listing or tool call may take (seconds).
TIMEOUT_S = 30.0


class McpFailure(Exception):
    """An MCP operation failed; ``error`` is the wire's error object for it."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


def _headers(tool: dict[str, Any]) -> dict[str, str]:
    headers = dict(tool.get("headers") or {})
    if tool.get("authorization"):
        headers["Authorization"] = f"Bearer {tool['authorization']}"
    return headers


async def _with_client(tool: dict[str, Any], work: Any) -> Any:
    """Run ``await work(client)`` on a fresh client session to ``tool['server_url']``."""
    try:
        from mcp import Client
        from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
        from mcp.shared.exceptions import MCPError
    except ImportError as exc:
        raise McpFailure({"type": "protocol_error", "code": -32603,
                          "message": f"MCP tools need the mcp package: pip install "
                                     f"'rtnb[mcp]' ({exc})."}) from None
    url = tool.get("server_url")

    async def session() -> Any:
        async with create_mcp_http_client(headers=_headers(tool)) as http, \
                Client(streamable_http_client(url, http_client=http)) as client:
            return await work(client)

    try:
        return await asyncio.wait_for(session(), TIMEOUT_S)
    except asyncio.TimeoutError:
        raise McpFailure({"type": "protocol_error", "code": -32001, "message":
                          f"The MCP server at {url} did not answer in {TIMEOUT_S:.0f} s."}
                         ) from None
    except Exception as exc:  # noqa: BLE001 - every failure becomes the wire's error
        for leaf in _leaves(exc):  # anyio's task groups may wrap what the work raised
            if isinstance(leaf, McpFailure):
                raise leaf from None
            if isinstance(leaf, MCPError):
                raise McpFailure({"type": "protocol_error", "code": leaf.error.code,
                                  "message": leaf.error.message}) from None
        raise McpFailure(_transport_error(url, exc)) from None


def _transport_error(url: str, exc: BaseException) -> dict[str, Any]:
    """The wire error for a failure below MCP: an HTTP status, or no connection at all."""
    for inner in _leaves(exc):
        response = getattr(inner, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return {"type": "http_error", "code": status,
                    "message": f"The MCP server at {url} answered HTTP {status}."}
    first = next(iter(_leaves(exc)))
    return {"type": "protocol_error", "code": -32000,
            "message": f"Could not reach the MCP server at {url}: "
                       f"{type(first).__name__}: {first}".strip()}


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (anyio wraps task failures in exception groups)."""
    inner = getattr(exc, "exceptions", None)  # an exception group (3.11+, or the backport)
    if isinstance(inner, (list, tuple)) and inner:
        return [leaf for e in inner for leaf in _leaves(e)]
    return [exc]


async def list_tools(tool: dict[str, Any]) -> list[dict[str, Any]]:
    """The server's tools in the wire's ``mcp_list_tools`` shape (every page)."""

    async def work(client: Any) -> list[dict[str, Any]]:
        found, cursor = [], None
        while True:
            page = await client.list_tools(cursor=cursor)
            for t in page.tools:
                annotations = (t.annotations.model_dump(by_alias=True, exclude_none=True)
                               if t.annotations else None)
                found.append({"name": t.name, "description": t.description,
                              "input_schema": t.input_schema, "annotations": annotations})
            cursor = page.next_cursor
            if not cursor:
                return found

    return await _with_client(tool, work)


async def call_tool(tool: dict[str, Any], name: str, arguments: dict[str, Any]) -> str:
    """Run tool ``name``; returns its output as text (structured output as JSON).

    A tool that reports an error raises :class:`McpFailure` with a
    ``tool_execution_error``.
    """

    async def work(client: Any) -> str:
        result = await client.call_tool(name, arguments)
        texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
        text = "\n".join(texts)
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content)
        if result.is_error:
            raise McpFailure({"type": "tool_execution_error",
                              "message": text or f"The tool {name} failed."})
        return text

    return await _with_client(tool, work)
