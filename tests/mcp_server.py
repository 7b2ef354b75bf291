"""A small MCP server of our own for the tests: the official ``mcp`` SDK's MCPServer
(FastMCP in mcp 1.x), streamable HTTP on 127.0.0.1, in a background thread.

``orders()`` yields a :class:`Running` server with three tools (a read-only status
lookup, a destructive cancel, and one that always fails); it records every call and
the ``Authorization`` header of every HTTP request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Running:
    url: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)


@contextlib.contextmanager
def orders() -> Iterator[Running]:
    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    running = Running(f"http://127.0.0.1:{port}/mcp")
    server = MCPServer("orders")

    @server.tool(annotations=ToolAnnotations(readOnlyHint=True))
    def get_order_status(order_id: str) -> str:
        """Look up the status of an order by its order number."""
        running.calls.append(("get_order_status", {"order_id": order_id}))
        return f"Order {order_id} shipped yesterday and arrives on Friday."

    @server.tool(annotations=ToolAnnotations(destructiveHint=True))
    def cancel_order(order_id: str) -> str:
        """Cancel an order by its order number."""
        running.calls.append(("cancel_order", {"order_id": order_id}))
        return f"Order {order_id} is cancelled; the refund takes three days."

    @server.tool()
    def check_warehouse(city: str) -> str:
        """Check the stock in the warehouse of a city."""
        running.calls.append(("check_warehouse", {"city": city}))
        raise ToolError(f"The {city} warehouse system is offline.")

    app = server.streamable_http_app(stateless_http=True, json_response=True)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            auth = headers.get(b"authorization")
            running.authorizations.append(auth.decode() if auth else None)
        await app(scope, receive, send)

    uv = uvicorn.Server(uvicorn.Config(recording, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(uv.serve(sockets=[sock])),
                              name="mcp-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test MCP server did not start")
        time.sleep(0.05)
    try:
        yield running
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()
