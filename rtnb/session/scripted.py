"""A scripted Realtime server, for tests that need no models and no network.

A :class:`ScriptedTransport` answers the session's client events from a script,
in order, and handles the protocol's plumbing by itself (``session.created`` and
``session.updated``, items added, commits, clears, truncations, cancels), so a
script only says what matters to the test::

    from rtnb.session.scripted import ScriptedTransport, on, text, tool_call, user_turn

    transport = ScriptedTransport(
        tool_call("get_weather", city="Paris"),        # answers the 1st response.create
        text("It's 18 degrees and sunny in Paris."),   # answers the 2nd
    )
    async with rtnb.Session(agent, transport=transport) as session:
        await session.say("What's the weather in Paris?")
        assert "sunny" in await session.wait()          # the tool really ran, in between
    assert not transport.remaining                      # every step was played

A bare reply answers the next ``response.create``; ``on(trigger, *outputs)`` answers
any client event (by type, or a predicate) with replies, helpers such as
:func:`user_turn`, or raw server event dicts. A ``response.create`` that no step
answers gets an ``error`` back, which ``session.wait()`` raises.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import events as ev
from .transport import Transport, TransportClosed

__all__ = ["ScriptedTransport", "Reply", "On", "on", "text", "audio", "tool_call", "handoff",
           "failed", "error", "user_turn"]

#: Synthetic speech runs at this many ms per character of transcript (~15 chars/s).
MS_PER_CHAR = 60.0
_CLOSE = object()


# -- script steps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    text: str
    spoken: bool
    ms_per_char: float = MS_PER_CHAR


@dataclass(frozen=True)
class _FunctionCall:
    name: str
    arguments: str
    call_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted response: messages and function calls, in order, then its end.

    Add replies to put several outputs in one response: ``text("One moment.") +
    tool_call("lookup")``. ``finish=False`` leaves the response open (no
    ``response.done``) until the client cancels it or a :func:`user_turn` barges in.
    """

    outputs: tuple[_Message | _FunctionCall, ...] = ()
    status: str = "completed"
    reason: str | None = None
    finish: bool = True

    def __add__(self, other: Reply) -> Reply:
        return Reply(self.outputs + other.outputs, other.status, other.reason,
                     self.finish and other.finish)

    def render(self, server: ScriptedTransport, client_event: dict[str, Any]) -> list[dict]:
        return server._respond(self)


@dataclass(frozen=True)
class On:
    """When the client sends an event matching ``trigger``, answer with ``outputs``."""

    trigger: str | Callable[[dict[str, Any]], bool]
    outputs: tuple[Any, ...]

    def matches(self, event: dict[str, Any]) -> bool:
        if callable(self.trigger):
            return bool(self.trigger(event))
        return event.get("type") == self.trigger

    def __repr__(self) -> str:
        trigger = self.trigger if isinstance(self.trigger, str) else "<predicate>"
        return f"on({trigger!r}, {len(self.outputs)} outputs)"


@dataclass(frozen=True)
class _Rendered:
    """An output built when its step plays: ``build(server, client_event) -> events``."""

    build: Callable[[ScriptedTransport, dict[str, Any]], list[dict[str, Any]]]
    name: str = "output"
    #: The server refuses the triggering event: no plumbing answer for it.
    refuses: bool = False

    def render(self, server: ScriptedTransport, client_event: dict[str, Any]) -> list[dict]:
        return self.build(server, client_event)


def on(trigger: str | Callable[[dict[str, Any]], bool], *outputs: Any) -> On:
    """A step: when the client sends ``trigger`` (an event type, or a predicate on the
    event), answer with ``outputs`` (replies, helpers' outputs, or server event dicts)."""
    return On(trigger, outputs)


def text(content: str, *, finish: bool = True) -> Reply:
    """A response with one text message (``finish=False``: left open, see :class:`Reply`)."""
    return Reply((_Message(content, spoken=False),), finish=finish)


def audio(transcript: str, *, ms_per_char: float = MS_PER_CHAR, finish: bool = True) -> Reply:
    """A spoken response: audio (silence, ``ms_per_char`` per character) with its
    transcript, word by word, as a real server streams them (``finish=False``: left
    open, see :class:`Reply`)."""
    return Reply((_Message(transcript, spoken=True, ms_per_char=ms_per_char),), finish=finish)


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, /, *,
              call_id: str | None = None, **kwargs: Any) -> Reply:
    """A response that calls function ``name`` (arguments as a dict, a JSON string, or
    keyword arguments)."""
    if arguments is None:
        arguments = kwargs
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Reply((_FunctionCall(name, args, call_id),))


def handoff(agent_name: str) -> Reply:
    """A response that calls the handoff tool of agent ``agent_name``."""
    return tool_call(ev.handoff_tool_name(agent_name))


def failed(message: str) -> Reply:
    """A response that fails (``response.done`` with status ``failed`` and ``message``)."""
    return Reply(status="failed", reason=message)


def error(message: str, code: str = "invalid_value") -> _Rendered:
    """An ``error`` event answering the client event that triggered the step."""

    def build(server: ScriptedTransport, client_event: dict[str, Any]) -> list[dict]:
        return [server.error_event(message, code, client_event.get("event_id"))]

    return _Rendered(build, f"error({message!r})", refuses=True)


def user_turn(transcript: str = "", *, ms: float = 1000.0) -> _Rendered:
    """Server VAD hears a user turn of ``ms`` of speech: speech started (cancelling an
    open response, as ``interrupt_response`` does), stopped, committed, the user item,
    and its transcription."""

    def build(server: ScriptedTransport, client_event: dict[str, Any]) -> list[dict]:
        item_id = server.new_id("item")
        start = server.input_ms
        out: list[dict[str, Any]] = [{"type": ev.SPEECH_STARTED, "audio_start_ms": int(start),
                                      "item_id": item_id}]
        out += server._end_open_response("turn_detected")
        out.append({"type": ev.SPEECH_STOPPED, "audio_end_ms": int(start + ms),
                    "item_id": item_id})
        out += server._user_item(item_id)
        out.append({"type": ev.TRANSCRIPTION_COMPLETED, "item_id": item_id,
                    "content_index": 0, "transcript": transcript,
                    "usage": {"type": "duration", "seconds": ms / 1000}})
        return out

    return _Rendered(build, f"user_turn({transcript!r})")


# -- the transport ---------------------------------------------------------------------------


class ScriptedTransport(Transport):
    """A fake Realtime server that plays ``script`` in answer to the client's events.

    ``sent`` lists every client event received; ``remaining`` the steps not played
    yet. ``push(*events)`` sends server events at any time; ``drop(reason)``
    ends the connection as a network failure would. ``auto=False`` turns off the
    plumbing answers (then the script must answer everything).
    """

    kind = "scripted"

    def __init__(self, *script: Reply | On, auto: bool = True) -> None:
        self.script: list[On] = [s if isinstance(s, On) else On(ev.RESPONSE_CREATE, (s,))
                                 for s in script]
        self.auto = auto
        self.sent: list[dict[str, Any]] = []
        self.config: dict[str, Any] = {"type": "realtime", "model": "scripted",
                                       "output_modalities": ["audio"]}
        #: Milliseconds of input audio appended (the server's audio clock).
        self.input_ms = 0.0
        self._buffered_ms = 0.0
        self._played = 0
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._connected = False
        self._open: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (f"<ScriptedTransport {self._played}/{len(self.script)} steps played, "
                f"{len(self.sent)} client events>")

    @property
    def remaining(self) -> list[On]:
        """The steps not played yet."""
        return self.script[self._played:]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_s{next(self._ids):04d}"

    # -- Transport ---------------------------------------------------------------------------

    async def connect(self) -> None:
        self._queue = asyncio.Queue()
        self._connected = True
        self._emit({"type": ev.SESSION_CREATED, "session": {
            **self.config, "object": "realtime.session", "id": self.new_id("sess")}})

    async def send(self, event: dict[str, Any]) -> None:
        if not self._connected:
            raise TransportClosed("not connected")
        self.sent.append(copy.deepcopy(event))
        step = self.script[self._played] if self._played < len(self.script) else None
        matched = step is not None and step.matches(event)
        refused = matched and any(getattr(o, "refuses", False) for o in step.outputs)
        if self.auto and not refused:
            self._plumbing(event, answered=matched)
        if matched:
            assert step is not None
            self._played += 1
            for output in step.outputs:
                rendered = output.render(self, event) if hasattr(output, "render") else [output]
                for server_event in rendered:
                    self._emit(server_event)

    async def recv(self) -> dict[str, Any]:
        item = await self._queue.get()
        if item is _CLOSE or isinstance(item, TransportClosed):
            self._connected = False
            self._queue.put_nowait(item)  # every later recv ends the same way
            raise item if isinstance(item, TransportClosed) else TransportClosed("closed")
        return item

    async def close(self) -> None:
        self._connected = False
        self._queue.put_nowait(_CLOSE)

    def push(self, *events: dict[str, Any]) -> None:
        """Send server events now (an event id is added when missing)."""
        for event in events:
            self._emit(event)

    def drop(self, reason: str = "connection dropped") -> None:
        """End the connection abruptly: the session's next read fails with ``reason``."""
        self._connected = False
        self._queue.put_nowait(TransportClosed(reason))

    # -- building server events --------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        self._queue.put_nowait({"event_id": self.new_id("event"), **event})

    def error_event(self, message: str, code: str, event_id: str | None) -> dict[str, Any]:
        return {"type": ev.ERROR, "error": {"type": "invalid_request_error", "code": code,
                                            "message": message, "param": None,
                                            "event_id": event_id}}

    def _plumbing(self, event: dict[str, Any], answered: bool) -> None:
        """What any server says back to the client's event (unless a step answers it)."""
        kind = event.get("type")
        if kind == ev.SESSION_UPDATE:
            _merge(self.config, event.get("session") or {})
            self._emit({"type": ev.SESSION_UPDATED, "session": copy.deepcopy(self.config)})
        elif kind == ev.ITEM_CREATE:
            item = {"id": self.new_id("item"), "object": "realtime.item", "status": "completed",
                    **(event.get("item") or {})}
            self._emit({"type": ev.ITEM_ADDED, "previous_item_id": None, "item": item})
            self._emit({"type": ev.ITEM_DONE, "previous_item_id": None, "item": item})
        elif kind == ev.INPUT_AUDIO_APPEND:
            ms = len(base64.b64decode(event.get("audio") or "")) / 48
            self.input_ms += ms
            self._buffered_ms += ms
        elif kind == ev.INPUT_AUDIO_COMMIT:
            if self._buffered_ms < 100:
                self._emit(self.error_event(
                    f"buffer too small: {self._buffered_ms:.0f}ms of audio, expected at least "
                    "100ms", "input_audio_buffer_commit_empty", event.get("event_id")))
            else:
                for server_event in self._user_item(self.new_id("item")):
                    self._emit(server_event)
        elif kind == ev.INPUT_AUDIO_CLEAR:
            self._buffered_ms = 0.0
            self._emit({"type": ev.CLEARED})
        elif kind == ev.ITEM_TRUNCATE:
            self._emit({"type": ev.ITEM_TRUNCATED, "item_id": event.get("item_id"),
                        "content_index": event.get("content_index", 0),
                        "audio_end_ms": event.get("audio_end_ms", 0)})
        elif kind == ev.ITEM_DELETE:
            self._emit({"type": ev.ITEM_DELETED, "item_id": event.get("item_id")})
        elif kind == ev.RESPONSE_CANCEL:
            done = self._end_open_response("client_cancelled")
            for server_event in done or [self.error_event(
                    "Cancellation failed: no active response found.",
                    "response_cancel_not_active", event.get("event_id"))]:
                self._emit(server_event)
        elif kind == ev.RESPONSE_CREATE and not answered:
            waiting = (f"step {self._played + 1} of {len(self.script)} waits for "
                       f"{self.remaining[0]!r}" if self.remaining
                       else f"all {len(self.script)} steps were played")
            self._emit(self.error_event(
                f"the script has no reply for this response.create ({waiting})",
                "scripted_reply_missing", event.get("event_id")))

    def _user_item(self, item_id: str) -> list[dict[str, Any]]:
        self._buffered_ms = 0.0
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        return [{"type": ev.COMMITTED, "item_id": item_id, "previous_item_id": None},
                {"type": ev.ITEM_ADDED, "previous_item_id": None, "item": item},
                {"type": ev.ITEM_DONE, "previous_item_id": None, "item": item}]

    def _respond(self, reply: Reply) -> list[dict[str, Any]]:
        out = self._end_open_response("turn_detected")  # a new turn ends an open one
        response = {"object": "realtime.response", "id": self.new_id("resp"),
                    "status": "in_progress", "status_details": None, "output": [],
                    "usage": None}
        out.append({"type": ev.RESPONSE_CREATED, "response": copy.deepcopy(response)})
        for index, output in enumerate(reply.outputs):
            item, events = (self._message(response["id"], index, output)
                            if isinstance(output, _Message)
                            else self._call(response["id"], index, output))
            response["output"].append(item)
            out += events
        if not reply.finish:
            self._open = response
            return out
        details = None
        if reply.status == "failed":
            details = {"type": "failed", "error": {"type": "server_error",
                                                   "code": "server_error",
                                                   "message": reply.reason}}
        return out + [_done(response, reply.status, details)]

    def _end_open_response(self, reason: str) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        response, self._open = self._open, None
        return [_done(response, "cancelled", {"type": "cancelled", "reason": reason})]

    def _message(self, rid: str, index: int, message: _Message
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        item_id = self.new_id("item")
        item = {"id": item_id, "object": "realtime.item", "type": "message",
                "role": "assistant", "status": "in_progress", "content": []}
        where = {"response_id": rid, "item_id": item_id, "output_index": index,
                 "content_index": 0}
        part_type, delta_type, done_type = (
            ("audio", ev.AUDIO_TRANSCRIPT_DELTA, ev.AUDIO_TRANSCRIPT_DONE) if message.spoken
            else ("text", ev.TEXT_DELTA, ev.TEXT_DONE))
        empty = {"type": part_type, "transcript" if message.spoken else "text": ""}
        out = [{"type": ev.OUTPUT_ITEM_ADDED, "response_id": rid, "output_index": index,
                "item": copy.deepcopy(item)},
               {"type": ev.ITEM_ADDED, "previous_item_id": None, "item": copy.deepcopy(item)},
               {"type": ev.CONTENT_PART_ADDED, **where, "part": empty}]
        words = message.text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            out.append({"type": delta_type, **where, "delta": piece})
            if message.spoken:
                pcm = bytes(2 * round(len(piece) * message.ms_per_char * 24))
                out.append({"type": ev.AUDIO_DELTA, **where,
                            "delta": base64.b64encode(pcm).decode()})
        if message.spoken:
            out.append({"type": ev.AUDIO_DONE, **where})
            out.append({"type": done_type, **where, "transcript": message.text})
            part = {"type": "audio", "transcript": message.text}
            content = {"type": "output_audio", "transcript": message.text}
        else:
            out.append({"type": done_type, **where, "text": message.text})
            part = {"type": "text", "text": message.text}
            content = {"type": "output_text", "text": message.text}
        out.append({"type": ev.CONTENT_PART_DONE, **where, "part": part})
        item = {**item, "status": "completed", "content": [content]}
        out.append({"type": ev.OUTPUT_ITEM_DONE, "response_id": rid, "output_index": index,
                    "item": item})
        out.append({"type": ev.ITEM_DONE, "previous_item_id": None, "item": item})
        return item, out

    def _call(self, rid: str, index: int, call: _FunctionCall
              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        item_id, call_id = self.new_id("item"), call.call_id or self.new_id("call")
        item = {"id": item_id, "object": "realtime.item", "type": "function_call",
                "status": "in_progress", "name": call.name, "call_id": call_id,
                "arguments": ""}
        where = {"response_id": rid, "item_id": item_id, "output_index": index,
                 "call_id": call_id}
        done = {**item, "status": "completed", "arguments": call.arguments}
        return done, [
            {"type": ev.OUTPUT_ITEM_ADDED, "response_id": rid, "output_index": index,
             "item": item},
            {"type": ev.ITEM_ADDED, "previous_item_id": None, "item": item},
            {"type": ev.CALL_ARGUMENTS_DELTA, **where, "delta": call.arguments},
            {"type": ev.CALL_ARGUMENTS_DONE, **where, "name": call.name,
             "arguments": call.arguments},
            {"type": ev.OUTPUT_ITEM_DONE, "response_id": rid, "output_index": index,
             "item": done},
            {"type": ev.ITEM_DONE, "previous_item_id": None, "item": done}]


def _done(response: dict[str, Any], status: str, details: dict[str, Any] | None
          ) -> dict[str, Any]:
    usage = {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0}
    return {"type": ev.RESPONSE_DONE, "response": {
        **copy.deepcopy(response), "status": status, "status_details": details,
        "usage": usage}}


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    """``session.update`` semantics: nested objects merge, ``turn_detection`` is replaced."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict) and key != "turn_detection":
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)

