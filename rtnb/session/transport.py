"""Transports carry events between a session and a Realtime server.

A transport is a small class with four coroutines: ``connect``, ``send`` (one
client event, a dict), ``recv`` (the next server event; raises
:class:`TransportClosed` when the stream ends) and ``close``. Pass one as
``Session(agent, transport=...)``. Three ship with rtnb:

- :class:`SDKTransport`: the official ``openai`` SDK's realtime connection, for the
  local engine, any ws URL, and OpenAI itself (the default). The API key stays
  inside the SDK client: transports never log or show it.
- :class:`~rtnb.session.scripted.ScriptedTransport`: a fake server that answers
  from a script, for tests without models or network.
- :class:`~rtnb.session.replay.ReplayTransport`: plays a saved recording back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .backend import Backend, resolve_backend
from .errors import CredentialRefused

__all__ = ["Transport", "TransportClosed", "Replayed", "SDKTransport", "Backend",
           "resolve_backend"]


class TransportClosed(ConnectionError):
    """The connection to the realtime server ended."""


class Transport:
    """The base class: subclass it and implement ``send`` and ``recv``."""

    #: The session's ``backend.kind`` when it is given this transport and no backend.
    kind = "custom"
    #: Plays a recording: the session sends nothing and runs no tools or guardrails,
    #: and ``recv`` returns :class:`Replayed` entries.
    plays_recording = False

    async def connect(self) -> None:
        """Open the connection (raise :class:`TransportClosed` if the server is unreachable)."""

    async def send(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    async def recv(self) -> dict[str, Any]:
        raise NotImplementedError

    async def close(self) -> None:
        """Close the connection; later ``recv`` calls raise :class:`TransportClosed`."""


@dataclass(frozen=True)
class Replayed:
    """An entry of a recording as a replaying transport returns it: the logged event
    (``entry``, an :class:`~rtnb.session.eventlog.LoggedEvent`) and its audio."""

    entry: Any
    pcm: bytes | None = None


class SDKTransport(Transport):
    """The official SDK's ``client.realtime.connect``."""

    def __init__(self, backend: Backend) -> None:
        from openai import AsyncOpenAI

        self.backend = backend
        self.kind = backend.kind
        if backend.kind == "openai":
            self._client = AsyncOpenAI(api_key=backend._key)
        else:
            self._client = AsyncOpenAI(api_key=backend._key or "local",
                                       websocket_base_url=backend.ws_url)
        self._manager: Any = None
        self._conn: Any = None

    def __repr__(self) -> str:
        return f"SDKTransport({self.backend!r})"

    async def connect(self) -> None:
        from websockets.exceptions import InvalidStatus

        from ..engine.auth import redacting_logger

        # websockets logs the handshake's headers at DEBUG: keep the key out of them.
        options: Any = {"logger": redacting_logger("websockets.client")}
        self._manager = self._client.realtime.connect(model=self.backend.model,
                                                      websocket_connection_options=options)
        try:
            self._conn = await self._manager.__aenter__()
        except InvalidStatus as exc:
            raise refusal(self.backend, exc.response.status_code,
                          bytes(exc.response.body or b"")) from None
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


def refusal(backend: Backend, status: int, body: bytes) -> Exception:
    """The error for a handshake the server refused, with the server's own words."""
    text = body.decode("utf-8", "replace").strip()
    try:
        text = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        pass
    if backend._key:  # a server may echo what it was given
        text = text.replace(backend._key, "[redacted]")
    said = f" The server said (HTTP {status}): {text or '(no body)'}"
    if status in (401, 403):
        if backend.kind == "openai":
            return CredentialRefused("OpenAI refused the API key; check OPENAI_API_KEY." + said,
                                     status, text)
        return CredentialRefused("the engine refused the token; pass api_key=… to "
                                 "rtnb.Session or set RTNB_TOKEN." + said, status, text)
    where = backend.ws_url or "OpenAI"
    return TransportClosed(f"the realtime server at {where} refused the connection.{said}")
