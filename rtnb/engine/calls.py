"""``/v1/realtime/calls``: WebRTC calls, as OpenAI serves them.

``POST /v1/realtime/calls`` takes an SDP offer (``application/sdp``, or the
multipart form the ``openai`` SDK sends with ``sdp`` and ``session`` fields) and
answers ``201`` with the SDP answer and ``Location: /v1/realtime/calls/{call_id}``.
``POST /v1/realtime/calls/{call_id}/hangup`` ends a call; a WebSocket opened on
``/v1/realtime?call_id=...`` joins one (server-side control). The media and the
``oai-events`` data channel live in :mod:`rtnb.engine.webrtc` (aiortc, the
``rtnb[webrtc]`` extra), imported on the first call.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..events import SESSION_CREATED

if TYPE_CHECKING:
    from .parts import Engine
    from .webrtc import WebRtcCall

CALLS_PATH = "/v1/realtime/calls"
MAX_SDP_BYTES = 64 * 1024
SIP_ONLY = ("accept", "reject", "refer")


@dataclass
class RawReply:
    """An HTTP reply that is not JSON (an SDP answer)."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class CallError(Exception):
    """A request the calls endpoint refuses, with an OpenAI-shaped error body."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": "invalid_request_error",
                               "param": param, "code": code}}


def parse_offer(content_type: str, body: bytes) -> tuple[str, dict[str, Any] | None]:
    """The SDP offer and the optional session config of a ``POST /v1/realtime/calls``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    session = None
    if kind == "application/sdp":
        sdp = _text(body, "sdp")
    elif kind == "multipart/form-data":
        fields = _form_fields(content_type, body)
        if "sdp" not in fields:
            raise CallError(400, "Missing required parameter: 'sdp'.",
                            "missing_required_parameter", "sdp")
        sdp = _text(fields["sdp"], "sdp")
        if "session" in fields:
            try:
                session = json.loads(fields["session"])
            except ValueError:
                raise CallError(400, "'session' is not valid JSON.", "invalid_json",
                                "session") from None
            if session is not None and not isinstance(session, dict):
                raise CallError(400, "'session' must be a JSON object.", "invalid_type",
                                "session")
    else:
        raise CallError(400, "Send the SDP offer as application/sdp, or as multipart/form-data "
                             "with 'sdp' and 'session' fields.", "invalid_content_type")
    if len(sdp) > MAX_SDP_BYTES or not sdp.lstrip().startswith("v=0"):
        raise CallError(400, "'sdp' is not an SDP offer.", "invalid_value", "sdp")
    return sdp, session


def _text(data: bytes, param: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CallError(400, f"'{param}' is not UTF-8.", "invalid_value", param) from None


def _form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    from email import policy
    from email.parser import BytesParser

    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise CallError(400, "The multipart body could not be parsed.", "invalid_value")
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = part.get_payload(decode=True) or b""
    return fields


class Calls:
    """The engine's live WebRTC calls, by call id."""

    def __init__(self, engine: Engine, host: str = "127.0.0.1") -> None:
        self.engine = engine
        self.host = host
        self._calls: dict[str, WebRtcCall] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_id: str) -> WebRtcCall | None:
        return self._calls.get(call_id)

    async def handle(self, method: str, route: str, query: dict[str, list[str]],
                     headers: dict[str, str], body: bytes) -> tuple[int, dict | RawReply]:
        """Route ``/v1/realtime/calls[/{id}/{action}]`` (already authorized)."""
        rest = route[len(CALLS_PATH):].strip("/")
        try:
            if method != "POST":
                raise CallError(405, f"Use POST for {route}.", "method_not_allowed")
            if not rest:
                reply = await self.create(headers.get("content-type", ""), body,
                                          (query.get("model") or [None])[0])
                return reply.status, reply
            call_id, _, action = rest.partition("/")
            if call_id not in self._calls:
                raise CallError(404, f"Call '{call_id}' not found.", "not_found", "call_id")
            if action == "hangup":
                await self.hangup(call_id)
                return 200, {}
            if action in SIP_ONLY:
                raise CallError(400, f"'{action}' is for incoming SIP calls; the local engine "
                                     "serves WebRTC calls only.", "unsupported_operation")
            raise CallError(404, f"Unknown endpoint POST {route}.", "not_found")
        except CallError as err:
            return err.status, err.body

    async def create(self, content_type: str, body: bytes, model: str | None) -> RawReply:
        sdp, session = parse_offer(content_type, body)
        try:
            from .webrtc import WebRtcCall
        except ImportError as exc:
            raise CallError(501, f"WebRTC needs aiortc: pip install 'rtnb[webrtc]' ({exc}).",
                            "webrtc_unavailable") from None
        call_id = "rtc_" + secrets.token_hex(16)
        model = model or (session or {}).get("model") or self.engine.model
        intent = "transcription" if (session or {}).get("type") == "transcription" else None
        call = WebRtcCall(self.engine, call_id, model, host=self.host,
                          on_close=lambda: self._calls.pop(call_id, None), intent=intent)
        problem = call.configure(session)
        if problem is not None:
            await call.close()
            raise CallError(400, problem, "invalid_value", "session")
        try:
            answer = await call.answer(sdp)
        except ValueError as exc:
            await call.close()
            raise CallError(400, str(exc), "invalid_value", "sdp") from None
        self._calls[call_id] = call
        return RawReply(201, answer.encode(), "application/sdp",
                        {"location": f"{CALLS_PATH}/{call_id}"})

    async def hangup(self, call_id: str) -> None:
        call = self._calls.pop(call_id, None)
        if call is not None:
            await call.close()

    async def close_all(self) -> None:
        calls = list(self._calls.values())
        self._calls.clear()
        await asyncio.gather(*(c.close() for c in calls), return_exceptions=True)


class CallAttachment:
    """A WebSocket joined to a WebRTC call with ``?call_id=`` (server-side control).

    It receives the call's server events (audio stays on the media track) and may
    send client events into the same session.
    """

    def __init__(self, call: WebRtcCall, send: Callable[[dict[str, Any]], Awaitable[None]],
                 on_end: Callable[[], Any] = lambda: None) -> None:
        self.call = call
        self._send = send
        self._on_end = on_end  # the call ended: close the socket
        self._detach: Callable[[], None] | None = None
        self._watch: asyncio.Future | None = None

    @property
    def core(self) -> Any:
        return self.call.core

    async def open(self) -> None:
        self._detach = self.call.attach(self._send)
        self._watch = asyncio.ensure_future(self.call.closed.wait())
        self._watch.add_done_callback(lambda f: f.cancelled() or self._on_end())
        await self._send(self.core.event(SESSION_CREATED, session=self.core.session))

    async def handle(self, message: str | bytes) -> None:
        await self.call.conn.handle(message)

    async def dispatch(self, outputs: list[Any]) -> None:
        """Events for this socket only (errors about its own frames)."""
        for out in outputs:
            if isinstance(out, dict):
                await self._send(out)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._detach is not None:
            self._detach()
            self._detach = None
