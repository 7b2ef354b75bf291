"""MCP servers as tool sources: their tools become function tools of a session.

``rtnb.Agent(..., mcp_servers=[rtnb.MCPServer.stdio("python", ["server.py"])])`` or
``rtnb.MCPServer.http("http://127.0.0.1:8000/mcp")``. The session connects every
server of its agents when it connects (the official ``mcp`` SDK's ``Client``, over
stdio or streamable HTTP), lists their tools (logged as ``local.mcp.tools``), and
offers them to the model as function tools. A call runs ``tools/call`` on the server;
its text (or structured) content is the output, and a tool error, a protocol error or
a lost server becomes ``{"error": ...}``, which the model sees and can answer.

Needs ``pip install "rtnb[mcp]"``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ._extras import MissingDependency
from .agents import DEFAULT_TOOL_TIMEOUT_S, FunctionTool

INSTALL_HINT = 'MCP servers need the mcp package, which is not installed; run: pip install "rtnb[mcp]"'


def _mcp() -> Any:
    try:
        import mcp
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("mcp", "mcp_types"):
            raise
        raise MissingDependency(INSTALL_HINT, name="mcp") from None
    return mcp


class MCPServer:
    """One MCP server: where it is, and (once connected) its tools.

    ``server`` is what ``mcp.Client`` accepts: a streamable HTTP URL or
    ``mcp.StdioServerParameters``. ``allowed_tools`` keeps only those names;
    ``needs_approval`` applies to every tool of the server (see ``rtnb.tool``).
    A server may be shared by agents and sessions: the first session to connect it
    opens it, and :meth:`close` (or the session that opened it) closes it.
    """

    def __init__(self, server: Any, *, name: str | None = None,
                 allowed_tools: Sequence[str] | None = None,
                 needs_approval: bool | Callable[..., Any] = False,
                 timeout: float = DEFAULT_TOOL_TIMEOUT_S) -> None:
        self.server = server
        self.name = name or _describe(server)
        self.allowed_tools = set(allowed_tools) if allowed_tools is not None else None
        self.needs_approval = needs_approval
        self.timeout = timeout
        self.tools: list[FunctionTool] = []
        self._client: Any = None
        self._holder: asyncio.Task | None = None
        self._stop: asyncio.Event | None = None

    @classmethod
    def stdio(cls, command: str, args: Sequence[str] = (), *, env: dict[str, str] | None = None,
              cwd: str | None = None, **options: Any) -> MCPServer:
        """A server started as a subprocess, spoken to over its stdin and stdout."""
        return cls(_mcp().StdioServerParameters(command=command, args=list(args), env=env, cwd=cwd),
                   **options)

    @classmethod
    def http(cls, url: str, **options: Any) -> MCPServer:
        """A server at a streamable HTTP URL (``http://host:port/mcp``)."""
        return cls(url, **options)

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def connect(self) -> list[FunctionTool]:
        """Open the connection and list the tools (a no-op when connected). Returns them."""
        if self.connected:
            return self.tools
        mcp = _mcp()
        server = self.server
        if isinstance(server, mcp.StdioServerParameters):  # the server's stderr: see _errlog
            from mcp.client.stdio import stdio_client

            server = stdio_client(server, errlog=_errlog())
        client = mcp.Client(server)
        ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        # The client's context is entered and left in one task of its own (anyio's cancel
        # scopes require it); calls from any task go through its streams.
        self._holder = asyncio.create_task(self._hold(client, ready))
        try:
            self._client = await ready
            listed = await self._client.list_tools()
        except BaseException:
            await self.close()
            raise
        self.tools = [self._function_tool(t) for t in listed.tools
                      if self.allowed_tools is None or t.name in self.allowed_tools]
        return self.tools

    async def _hold(self, client: Any, ready: asyncio.Future) -> None:
        try:
            async with client:
                ready.set_result(client)
                assert self._stop is not None
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else
                                    ConnectionError(f"MCP server {self.name} closed"))
            if not isinstance(exc, (Exception, asyncio.CancelledError)):
                raise
        finally:
            self._client = None

    async def close(self) -> None:
        """Close the connection (the subprocess of a stdio server ends)."""
        holder, self._holder = self._holder, None
        if self._stop is not None:
            self._stop.set()
        if holder is not None:
            try:
                await asyncio.wait_for(asyncio.shield(holder), 10)
            except (asyncio.TimeoutError, Exception):
                holder.cancel()
        self._client = None

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Run ``tools/call``; the output as the model should read it."""
        if self._client is None:
            raise ConnectionError(f"MCP server {self.name} is not connected")
        result = await self._client.call_tool(name, arguments)
        if result.structured_content is not None and not result.is_error:
            return json.dumps(result.structured_content, default=str)
        text = "\n".join(getattr(part, "text", "") or f"<{part.type}>" for part in result.content)
        return json.dumps({"error": text or f"{name} failed"}) if result.is_error else text

    def _function_tool(self, spec: Any) -> FunctionTool:
        name = spec.name

        async def call(**arguments: Any) -> str:
            return await self.call(name, arguments)

        schema = dict(spec.input_schema or {"type": "object", "properties": {}})
        return FunctionTool(name=name, description=spec.description or spec.title or name,
                            parameters=schema, func=call, timeout=self.timeout,
                            needs_approval=self.needs_approval)

    def __repr__(self) -> str:
        state = f"{len(self.tools)} tools" if self.connected else "not connected"
        return f"<MCPServer {self.name}: {state}>"


def _errlog() -> Any:
    """Where a stdio server's stderr goes: ours, or the process's own when ours is not a
    file (in a Jupyter kernel ``sys.stderr`` has no ``fileno``, and the subprocess could
    not start)."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (OSError, ValueError, AttributeError):
            continue
    return open(os.devnull, "w")  # noqa: SIM115 - lives as long as the server


def _describe(server: Any) -> str:
    """A name for the log: a URL without credentials or query (they may hold a token)."""
    if isinstance(server, str):
        from urllib.parse import urlsplit

        url = urlsplit(server)
        host = url.hostname or ""
        return f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}{url.path}"
    command = getattr(server, "command", None)
    if command is not None:
        return " ".join([command, *getattr(server, "args", [])])
    return type(server).__name__
