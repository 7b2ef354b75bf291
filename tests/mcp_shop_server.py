"""A small MCP server of our own for the tests (the official SDK's MCPServer).

``python tests/mcp_shop_server.py stdio`` or ``python tests/mcp_shop_server.py http PORT``
(streamable HTTP on 127.0.0.1:PORT/mcp).
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("rtnb-test-shop")
ORDERS = {"42": "shipped", "7": "delivered"}


@server.tool()
def lookup_order(order_id: str) -> dict:
    """Look up an order's status by its number."""
    if order_id not in ORDERS:
        raise ToolError(f"no order {order_id}")
    return {"order_id": order_id, "status": ORDERS[order_id]}


@server.tool()
def cancel_order(order_id: str) -> str:
    """Cancel an order by its number."""
    raise ToolError(f"order {order_id} can no longer be cancelled")


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
