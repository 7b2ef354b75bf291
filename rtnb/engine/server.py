"""The engine server: the realtime WebSocket and the HTTP API on one port.

websockets' HTTP parser only takes GET requests, so each connection is read
here first: a WebSocket upgrade goes to websockets' sans-I/O
``ServerProtocol``; anything else is plain HTTP, framed by ``h11``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import urllib.parse
from collections.abc import Iterable
from typing import Any

import h11
from websockets.frames import Opcode
from websockets.http11 import Response as WsResponse
from websockets.server import ServerProtocol

from .auth import bearer, redacting_logger
from .calls import CallAttachment, Calls, RawReply
from .cors import headers as cors_headers
from .cors import preflight as cors_preflight
from .errors import ProtocolError
from .http_api import HttpApi
from .parts import Engine
from .realtime import RealtimeConnection

log = logging.getLogger("rtnb.engine")
#: websockets logs each handshake header at DEBUG; this one hides credentials.
_WS_LOG = redacting_logger("websockets.server")

#: Largest WebSocket message: a 15 MiB audio append as base64 inside JSON, with room.
MAX_MESSAGE_BYTES = 21 * 1024 * 1024
MAX_HTTP_BODY = 32 * 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024
REALTIME_PATH = "/v1/realtime"


class EngineServer:
    """Serves one :class:`Engine` on ``host:port`` (``port=0`` picks a free one).

    ``sock`` is an already bound listening socket to serve on instead (see
    :func:`bind`): the CLI binds before loading the models, so a busy port fails fast.
    """

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 8765, *,
                 sock: socket.socket | None = None) -> None:
        self.engine = engine
        self._sock = sock
        if sock is not None:
            host, port = sock.getsockname()[:2]
        self.host = host
        self.port = port
        self.calls = Calls(engine, host)
        self.http = HttpApi(engine, self.calls)
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/v1"

    async def start(self) -> None:
        if self._sock is not None:
            self._server = await asyncio.start_server(self._handle, sock=self._sock,
                                                      limit=MAX_HEAD_BYTES)
        else:
            self._server = await asyncio.start_server(self._handle, self.host, self.port,
                                                      limit=MAX_HEAD_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.calls.close_all()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if _is_upgrade(head):
                await self._websocket(head, reader, writer)
            else:
                await self._http(head, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # the peer went away (ENOTCONN after a reset is a plain OSError)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("connection failed")
        finally:
            self._connections.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass

    # -- HTTP --------------------------------------------------------------------------------

    async def _http(self, head: bytes, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        conn.receive_data(head)
        while True:
            request = None
            body = bytearray()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data and conn.their_state is not h11.SEND_BODY:
                        return
                    continue
                if isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > MAX_HTTP_BODY:
                        await self._send_http(conn, writer, 413, {"error": {
                            "message": "Request body too large.", "type": "invalid_request_error",
                            "param": None, "code": "request_too_large"}})
                        return
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return
            assert request is not None
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
            origin = headers.get("origin")
            if request.method == b"OPTIONS":  # a browser's CORS preflight
                allow = cors_preflight(origin, headers.get("access-control-request-headers"))
                await self._send_http(conn, writer, 200 if allow else 403, RawReply(
                    200, b"", "text/plain"), allow)
            else:
                status, payload = await self.http.handle(request.method.decode(),
                                                         request.target.decode(), headers,
                                                         bytes(body))
                await self._send_http(conn, writer, status, payload, cors_headers(origin))
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _send_http(self, conn: h11.Connection, writer: asyncio.StreamWriter,
                         status: int, payload: dict[str, Any] | RawReply,
                         extra: Iterable[tuple[str, str]] = ()) -> None:
        if isinstance(payload, RawReply):
            body, content_type = payload.body, payload.content_type
            extra = [*payload.headers.items(), *extra]
        else:
            body, content_type = json.dumps(payload).encode(), "application/json"
        headers = [("content-type", content_type), *extra, ("content-length", str(len(body)))]
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()

    # -- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, head: bytes, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        proto = ServerProtocol(max_size=MAX_MESSAGE_BYTES, select_subprotocol=_subprotocol,
                               logger=_WS_LOG)
        proto.receive_data(head)
        request = proto.events_received()[0]
        target = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(target.query)
        credential = bearer(request.headers.get("Authorization")) or _subprotocol_key(
            request.headers.get("Sec-WebSocket-Protocol"))
        call_id = (query.get("call_id") or [None])[0]
        call = self.calls.get(call_id) if call_id else None
        if target.path.rstrip("/") != REALTIME_PATH:
            response = _reject(proto, 404, f"Unknown path {target.path}; use {REALTIME_PATH}.")
        elif not self.engine.auth.check(credential, allow_ephemeral=True):
            response = _reject(proto, 401, "Missing or invalid bearer token for this rtnb "
                                           "engine.")
        elif call_id and call is None:
            response = _reject(proto, 404, f"Call '{call_id}' not found.")
        elif (query.get("intent") or [None])[0] not in (None, "transcription"):
            response = _reject(proto, 400, "Unknown intent; the one intent is 'transcription'.")
        else:
            response = proto.accept(request)
        proto.send_response(response)
        lock = asyncio.Lock()

        async def flush() -> None:
            for data in proto.data_to_send():
                if data:
                    writer.write(data)
                elif writer.can_write_eof():
                    writer.write_eof()
            async with lock:
                await writer.drain()

        await flush()
        if response.status_code != 101:
            return

        async def send(event: dict[str, Any]) -> None:
            if proto.state.name != "OPEN":
                return
            proto.send_text(json.dumps(event, separators=(",", ":")).encode())
            await flush()

        model = (query.get("model") or [self.engine.model])[0]
        if call is not None:  # join a WebRTC call: same session, its events
            conn: Any = CallAttachment(call, send, on_end=writer.close)
        else:
            intent = (query.get("intent") or [None])[0]
            conn = RealtimeConnection(self.engine, send, model, intent)
        try:
            await conn.open()
            fragments: list[bytes] = []
            while True:
                data = await reader.read(65536)
                if data:
                    proto.receive_data(data)
                else:
                    proto.receive_eof()
                for frame in proto.events_received():
                    if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                        if frame.opcode is not Opcode.CONT:
                            fragments = [frame.data]
                            binary = frame.opcode is Opcode.BINARY
                        else:
                            fragments.append(frame.data)
                        if sum(map(len, fragments)) > MAX_MESSAGE_BYTES:
                            proto.fail(1009, "message too big")
                            break
                        if frame.fin:
                            message = b"".join(fragments)
                            fragments = []
                            if binary:
                                await conn.dispatch([conn.core.error(_binary_error())])
                            else:
                                await conn.handle(message)
                await flush()
                if not data or proto.close_expected() or proto.state.name == "CLOSED":
                    break
        finally:
            await conn.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0`` picks a free one).

    Raises ``OSError`` when the address is taken or cannot be bound.
    """
    return socket.create_server((host, port), family=_family(host), backlog=128)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _is_upgrade(head: bytes) -> bool:
    lower = head.lower()
    return lower.startswith(b"get ") and b"upgrade: websocket" in lower


def _subprotocol(proto: ServerProtocol, offered: list[str]) -> str | None:
    for name in offered:
        if name == "realtime":
            return name
    return None


def _subprotocol_key(header: str | None) -> str | None:
    """Browsers cannot set headers: OpenAI accepts the key as a subprotocol instead."""
    for part in (header or "").split(","):
        part = part.strip()
        for prefix in ("openai-insecure-api-key.", "openai-insecure-api-key-"):
            if part.startswith(prefix):
                return part[len(prefix):]
    return None


def _reject(proto: ServerProtocol, status: int, message: str) -> WsResponse:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                 "code": "invalid_api_key" if status == 401 else "not_found",
                                 "param": None}})
    response = proto.reject(status, body)
    del response.headers["Content-Type"]  # reject() sets text/plain; Headers[...] = appends
    response.headers["Content-Type"] = "application/json"
    return response


def _binary_error() -> ProtocolError:
    return ProtocolError("invalid_event", "Binary frames are not supported; send JSON text.")
