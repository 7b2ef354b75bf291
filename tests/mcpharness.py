"""Our own MCP server for the session-side tests (tests/mcp_shop_server.py), over stdio or
streamable HTTP, as a subprocess."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

SERVER = str(Path(__file__).resolve().parent / "mcp_shop_server.py")


def stdio_server(**options):
    """An rtnb.MCPServer that starts our server as a subprocess (named "shop")."""
    import rtnb

    return rtnb.MCPServer.stdio(sys.executable, [SERVER, "stdio"], name="shop", **options)


@contextlib.contextmanager
def http_server() -> Iterator[str]:
    """Our server on streamable HTTP on a free 127.0.0.1 port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, SERVER, "http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the MCP server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)
