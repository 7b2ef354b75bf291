"""Transports carry events between a session and a Realtime server.

:class:`SDKTransport` is the official ``openai`` SDK's realtime connection, for
the local engine, any ws URL, and OpenAI itself. The API key stays inside the
SDK client: transports never log or show it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

OPENAI_REALTIME_MODEL = "gpt-realtime"
OPENAI_TEXT_MODEL = "gpt-4.1"
OPENAI_REASONING_MODEL = "o4-mini"
LOCAL_MODEL = "rtnb-local"


class TransportClosed(ConnectionError):
    """The connection to the realtime server ended."""


class Transport(Protocol):
    async def connect(self) -> None: ...
    async def send(self, event: dict[str, Any]) -> None: ...
    async def recv(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...


@dataclass
class Backend:
    """Where a session connects: ``kind`` is local, openai, url or replay."""

    kind: str
    ws_url: str | None = None
    http_url: str | None = None
    model: str = LOCAL_MODEL
    text_model: str = LOCAL_MODEL
    reasoning_model: str = LOCAL_MODEL
    path: Path | None = None
    _key: str | None = None  # never shown

    def __repr__(self) -> str:
        where = self.ws_url or self.path or "api.openai.com"
        return f"Backend({self.kind}, {where})"

    def http_client(self) -> Any:
        from openai import AsyncOpenAI

        if self.kind == "openai":
            return AsyncOpenAI(api_key=self._key)
        return AsyncOpenAI(api_key=self._key or "local", base_url=self.http_url)


def resolve_backend(backend: Any = None, *, model: str | None = None) -> Backend:
    """``None`` → OpenAI when ``OPENAI_API_KEY`` is set, else the local engine."""
    if backend is None:
        backend = "openai" if os.environ.get("OPENAI_API_KEY") else "local"
    if isinstance(backend, Backend):
        return backend
    if hasattr(backend, "url") and hasattr(backend, "http_url"):  # a RunningEngine
        return Backend("url", backend.url, backend.http_url, model or LOCAL_MODEL)
    if not isinstance(backend, (str, Path)):
        raise TypeError(f"backend must be 'local', 'openai', a ws:// URL, a running engine or "
                        f"a recording path, not {type(backend).__name__}")
    text = str(backend)
    if text == "local":
        from ..engine.background import shared_engine

        engine = shared_engine()
        return Backend("local", engine.url, engine.http_url, model or LOCAL_MODEL)
    if text == "openai":
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise RuntimeError("backend='openai' needs OPENAI_API_KEY in the environment; "
                               "use backend='local' to run offline on the embedded engine.")
        return Backend("openai", None, None, model or OPENAI_REALTIME_MODEL, OPENAI_TEXT_MODEL,
                       OPENAI_REASONING_MODEL, _key=key)
    if text.startswith(("ws://", "wss://")):
        base = text.split("/realtime", 1)[0].rstrip("/")
        http = "http" + base[2:]
        return Backend("url", base, http, model or LOCAL_MODEL,
                       _key=os.environ.get("RTNB_TOKEN"))
    path = Path(text)
    if (path / "events.jsonl").exists():
        return Backend("replay", path=path)
    raise ValueError(f"unknown backend {text!r}: use 'local', 'openai', a ws:// URL or the "
                     f"folder of a saved recording")


class SDKTransport:
    """The official SDK's ``client.realtime.connect``."""

    def __init__(self, backend: Backend) -> None:
        from openai import AsyncOpenAI

        self.backend = backend
        if backend.kind == "openai":
            self._client = AsyncOpenAI(api_key=backend._key)
        else:
            self._client = AsyncOpenAI(api_key=backend._key or "local",
                                       websocket_base_url=backend.ws_url)
        self._manager: Any = None
        self._conn: Any = None

    async def connect(self) -> None:
        from ..engine.auth import redacting_logger

        # websockets logs the handshake's headers at DEBUG: keep the key out of them.
        options: Any = {"logger": redacting_logger("websockets.client")}
        self._manager = self._client.realtime.connect(model=self.backend.model,
                                                      websocket_connection_options=options)
        try:
            self._conn = await self._manager.__aenter__()
        except OSError as exc:
            where = self.backend.ws_url or "OpenAI"
            raise TransportClosed(f"cannot reach the realtime server at {where}: {exc}. "
                                  "Is the engine running? (rtnb serve, or backend='local')"
                                  ) from None

    async def send(self, event: dict[str, Any]) -> None:
        if self._conn is None:
            raise TransportClosed("not connected")
        try:
            await self._conn.send(event)
        except Exception as exc:
            raise TransportClosed(f"send failed: {exc}") from None

    async def recv(self) -> dict[str, Any]:
        if self._conn is None:
            raise TransportClosed("not connected")
        try:
            raw = await self._conn.recv_bytes()
        except Exception as exc:
            raise TransportClosed(f"connection closed: {exc}") from None
        return json.loads(raw)

    async def close(self) -> None:
        if self._manager is not None and self._conn is not None:
            self._conn = None
            try:
                await self._manager.__aexit__(None, None, None)
            except Exception:
                pass
