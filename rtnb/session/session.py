"""``rtnb.Session``: one realtime conversation with agents, on any backend.

The session sends input, logs every event with a monotonic timestamp, runs
tools as their calls complete, performs handoffs, runs output guardrails while
the assistant speaks, and handles barge-in by flushing playback and truncating
at the played position. Transcript and metrics are derived from the log.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import events as ev
from ..agents import Agent, ToolContext
from ..analysis import MetricsTable, compute_turns
from .eventlog import EventLog, LoggedEvent
from .playback import ClockPlayer
from .transcript import Transcript
from .transport import Backend, SDKTransport, Transport, TransportClosed, resolve_backend

log = logging.getLogger("rtnb.session")

APPEND_CHUNK_MS = 40
#: Corrective retries after guardrail trips, per user input (a retry that trips again
#: is cut off without another retry, so a stubborn model cannot loop).
MAX_CORRECTIONS = 1


class SessionError(RuntimeError):
    """The session cannot go on (not connected, connection lost, server refused)."""


class Session:
    """A realtime conversation with ``agent`` (and the agents it hands off to).

    ``backend``: ``"local"`` (the embedded engine, started on first use),
    ``"openai"`` (needs ``OPENAI_API_KEY``; the default when it is set), a
    ``ws://`` URL, a running engine, or the folder of a saved recording (replay).
    """

    def __init__(self, agent: Agent, backend: Any = None, *, model: str | None = None,
                 api_key: str | None = None,
                 turn_detection: str | dict | None = "server_vad", transcription: bool = True,
                 codec: str = "audio/pcm", guardrail_chars: int = 100,
                 player: Any = None, clock: Callable[[], float] = time.monotonic,
                 transport: Transport | None = None) -> None:
        if not isinstance(agent, Agent):
            raise TypeError(f"Session needs an rtnb.Agent, got {type(agent).__name__}")
        if guardrail_chars < 1:
            raise ValueError("guardrail_chars must be >= 1")
        self.agent = agent
        self.root_agent = agent
        self.backend: Backend = resolve_backend(backend, model=model)
        if api_key is not None:  # a bearer token or ek_ key for a ws:// engine
            self.backend._key = api_key
        self.turn_detection = turn_detection
        self.transcription = transcription
        self.codec = codec
        self.guardrail_chars = guardrail_chars
        self._clock = clock
        self._t0 = clock()
        self.player = player if player is not None else ClockPlayer(self.now)
        self.log = EventLog()
        self.transcript = Transcript()
        self._listeners: list[Callable[[LoggedEvent], None]] = []
        self._transport = transport
        self._reader: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._ids = itertools.count(1)
        self._responses: dict[str, dict[str, Any]] = {}
        self.active_response: str | None = None
        self._pending_creates = 0
        self._inputs = 0
        self._answered = 0
        self._changed = asyncio.Event()
        self._followups = 0
        self.connected = False
        self.closed_reason: str | None = None
        self._http = None
        self._talking = False
        self._corrections = 0
        #: Audio was sent (or the server heard speech) and no turn is committed yet.
        self._expect_commit = False
        self._vad_item: str | None = None
        self._encoder: Any = None
        self._decoder: tuple[str, Any] | None = None
        self._version = 0
        self._last_audio_item: str | None = None
        self._turns_cache: tuple[int, MetricsTable] | None = None
        #: The notebook panel, once shown.
        self.panel: Any = None
        #: Replays run at this multiple of real time (None: as fast as possible).
        self.replay_speed: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def text_model(self) -> str:
        return self.backend.text_model

    @property
    def reasoning_model(self) -> str:
        return self.backend.reasoning_model

    @property
    def http(self) -> Any:
        """An ``AsyncOpenAI`` client for the backend's HTTP API (responses, moderations)."""
        if self._http is None:
            self._http = self.backend.http_client()
        return self._http

    def now(self) -> float:
        """Seconds since the session was made, on its monotonic clock."""
        return self._clock() - self._t0

    async def connect(self) -> Session:
        """Open the connection and configure the first agent. Returns ``self``."""
        if self.connected:
            return self
        if self.backend.kind == "replay":
            from .recording import replay_into

            self.connected = True
            self._reader = asyncio.create_task(replay_into(self, self.backend.path,
                                                           self.replay_speed))
            return self
        await self._open(ev.Connected)
        return self

    async def _open(self, kind: type[ev.LocalEvent], **details: Any) -> None:
        """Connect the transport, start reading, log ``kind``, configure the agent."""
        if self._transport is None:
            self._transport = SDKTransport(self.backend)
        await self._transport.connect()
        self.connected = True
        self.closed_reason = None
        self._reader = asyncio.create_task(self._read())
        self.log_local(kind(agent=self.agent.name, backend=self.backend.kind, **details))
        await self._send({"type": ev.SESSION_UPDATE, "session": self._session_config(self.agent)})

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(t for t in [self._reader, *self._tasks] if t),
                             return_exceptions=True)
        if self._transport is not None:
            await self._transport.close()
        if self.connected:
            self.connected = False
            self.closed_reason = self.closed_reason or "closed"
            self.log_local(ev.Disconnected(reason=self.closed_reason))

    async def reconnect(self) -> Session:
        """Connect again to the same backend, keeping the conversation's context.

        For a dropped connection (``connected`` is False, ``closed_reason`` says why),
        or on purpose. The new connection gets the current agent's configuration, then
        the transcript's user and assistant messages as text items, oldest first. Tool
        calls are not replayed and a reply that was cut off is not resumed. Logs
        ``local.reconnected`` with the items restored (they are not logged again as
        client events, which would read as new user turns).
        """
        if self.backend.kind == "replay":
            raise SessionError("a replayed recording cannot reconnect")
        if self.connected:
            self.closed_reason = "reconnecting"
        previous = self.closed_reason
        await self.close()
        self.player.flush()
        self.active_response = None
        self._pending_creates = 0
        self._expect_commit = False
        self._vad_item = None
        self._talking = False
        self._answered = self._inputs  # an input the old connection never answered is dropped
        items = self._history_items()
        await self._open(ev.Reconnected, previous=previous, items=items)
        for item in items:
            await self._transport.send({"event_id": f"evt_rtnb_{next(self._ids)}",
                                        "type": ev.ITEM_CREATE, "item": item})
        return self

    def _history_items(self) -> list[dict[str, Any]]:
        """The transcript's user and assistant messages as text items (their own ids)."""
        from .transcript import Message

        items = []
        for entry in self.transcript.entries:
            if isinstance(entry, Message) and entry.text and entry.role in ("user", "assistant"):
                part = "input_text" if entry.role == "user" else "output_text"
                items.append({"id": entry.item_id, "type": "message", "role": entry.role,
                              "content": [{"type": part, "text": entry.text}]})
        return items

    async def __aenter__(self) -> Session:
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __await__(self):
        return self.connect().__await__()

    def __repr__(self) -> str:
        state = "connected" if self.connected else (self.closed_reason or "not connected")
        return (f"<rtnb.Session agent={self.agent.name!r} backend={self.backend!r} {state}, "
                f"{len(self.log)} events, {len(self.turns)} turns>")

    def show(self, **kwargs: Any) -> None:
        """Display the live panel (controls, mic and speaker, transcript, event log).

        The panel stays available as ``session.panel``.
        """
        from ..notebook import show

        if self.panel is None:
            self.panel = show(self, **kwargs)
        else:
            from IPython.display import display

            display(self.panel)

    def _ipython_display_(self) -> None:
        self.show()

    def on_event(self, callback: Callable[[LoggedEvent], None]) -> None:
        """Call ``callback(entry)`` for every logged event (widgets use this)."""
        self._listeners.append(callback)

    # -- configuration -----------------------------------------------------------------------

    def _session_config(self, agent: Agent) -> dict[str, Any]:
        td: Any = self.turn_detection
        if td == "server_vad":
            td = {"type": "server_vad"}
        elif td == "semantic_vad":
            td = {"type": "semantic_vad"}
        audio_in: dict[str, Any] = {"turn_detection": td,
                                    "format": {"type": self.codec}}
        if self.transcription:
            audio_in["transcription"] = {"model": "whisper-1" if self.backend.kind == "openai"
                                         else "whisper-tiny.en"}
        audio_out: dict[str, Any] = {"format": {"type": self.codec}}
        if agent.voice:
            audio_out["voice"] = agent.voice
        return {"type": "realtime", "instructions": agent.instructions,
                "tools": agent.wire_tools(), "tool_choice": "auto",
                "audio": {"input": audio_in, "output": audio_out}}

    # -- the log -----------------------------------------------------------------------------

    def _record(self, direction: str, event: dict[str, Any], pcm: bytes | None = None,
                t: float | None = None, agent: str | None = None) -> LoggedEvent:
        entry = self.log.add(self.now() if t is None else t, direction,
                             agent or self.agent.name, event, pcm)
        self.transcript.apply(entry)
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:
                log.exception("event listener failed")
        first_chunk = (entry.type == ev.AUDIO_DELTA
                       and event.get("item_id") != self._last_audio_item)
        if first_chunk:  # the first chunk of an item sets e2e and ttfb
            self._last_audio_item = event.get("item_id")
        if first_chunk or entry.type not in ev.BULK:
            self._version += 1
        self._changed.set()
        return entry

    def log_local(self, record: ev.LocalEvent | str, **data: Any) -> LoggedEvent:
        """Log something the session itself did: a record from :mod:`rtnb.events`, or a
        ``local.*`` kind and its fields (for your own notes)."""
        if isinstance(record, str):
            if not ev.is_local(record):
                raise ValueError(f"local event kinds start with 'local.', got {record!r}")
            return self._record("local", {"type": record, **data})
        return self._record("local", record.to_event())

    async def _send(self, event: dict[str, Any], pcm: bytes | None = None) -> None:
        if not self.connected or self._transport is None:
            why = self.closed_reason or "call await session.connect() first"
            raise SessionError(f"the session is not connected ({why})")
        event = {"event_id": f"evt_rtnb_{next(self._ids)}", **event}
        if event["type"] == ev.RESPONSE_CREATE:
            self._pending_creates += 1
        self._record("client", event, pcm)
        await self._transport.send(event)

    # -- input -------------------------------------------------------------------------------

    async def send_event(self, event: dict[str, Any]) -> None:
        """Send any raw client event (logged like every other)."""
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError("an event is a dict with a 'type' string")
        await self._send(event)

    async def say(self, text: str) -> None:
        """Send a typed user message and ask for a response."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("say() needs non-empty text")
        self._new_input()
        await self._send({"type": ev.ITEM_CREATE, "item": {
            "id": self._item_id(), "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]}})
        await self._send({"type": ev.RESPONSE_CREATE})

    async def send_audio(self, audio: Any, rate: int | None = None, *, paced: bool = False,
                         commit: bool = False) -> float:
        """Stream audio (numpy array, PCM16 bytes at 24 kHz, or a WAV path at any rate).

        ``paced`` sends in real time like a microphone. ``commit`` ends the turn
        by hand (push-to-talk style). Returns the milliseconds sent.
        """
        from .. import audio as wire

        source = (audio, rate) if rate is not None else audio
        samples = wire.load_audio(source)
        pcm = wire.to_pcm16(samples)
        if self.turn_detection is not None or commit:
            self._new_input()
            self._expect_commit = self.turn_detection is not None
        step = APPEND_CHUNK_MS * 48
        start = time.monotonic()
        for i in range(0, len(pcm), step):
            chunk = pcm[i:i + step]
            await self.append_pcm(chunk)
            if paced:
                due = start + (i + len(chunk)) / 48000
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        if commit:
            await self._send({"type": ev.INPUT_AUDIO_COMMIT})
            await self._send({"type": ev.RESPONSE_CREATE})
        return len(pcm) / 48

    async def append_pcm(self, pcm: bytes) -> None:
        """Append 24 kHz PCM16 as it is captured (the live mic path)."""
        wire_bytes = pcm
        if self.codec != "audio/pcm":  # phone line: G.711 both ways
            if self._encoder is None:
                from .. import audio as wire

                self._encoder = wire.StreamEncoder(self.codec)
            wire_bytes = self._encoder.encode(pcm)
        await self._send({"type": ev.INPUT_AUDIO_APPEND,
                          "audio": base64.b64encode(wire_bytes).decode()}, pcm)

    async def set_codec(self, fmt: str) -> None:
        """Switch both directions to ``audio/pcm`` or G.711 ``audio/pcmu``/``audio/pcma``."""
        from .. import audio as wire

        if fmt not in wire.FORMATS:
            raise ValueError(f"codec must be one of {', '.join(wire.FORMATS)}")
        self.codec = fmt
        self._encoder = None
        self._decoder = None
        if self.connected:
            await self._send({"type": ev.SESSION_UPDATE, "session": {
                "type": "realtime", "audio": {"input": {"format": {"type": fmt}},
                                              "output": {"format": {"type": fmt}}}}})

    async def start_talking(self) -> None:
        """Push-to-talk pressed: stop the agent and start a fresh input buffer."""
        self._talking = True
        await self.interrupt()
        await self._send({"type": ev.INPUT_AUDIO_CLEAR})

    async def stop_talking(self) -> None:
        """Push-to-talk released: commit what was said and ask for a response."""
        if not self._talking:
            raise SessionError("stop_talking() without start_talking()")
        self._talking = False
        self._new_input()
        await self._send({"type": ev.INPUT_AUDIO_COMMIT})
        await self._send({"type": ev.RESPONSE_CREATE})

    async def interrupt(self) -> None:
        """Stop the agent now: flush playback, truncate what was not heard, cancel."""
        await self._flush_and_truncate("interrupt")
        if self.active_response is not None:
            await self._send({"type": ev.RESPONSE_CANCEL})

    async def send_image(self, image: Any, text: str | None = None, *,
                         respond: bool = True) -> None:
        """Send a matplotlib figure, PNG bytes or an image path (plus optional text)."""
        from .images import to_data_url

        content: list[dict[str, Any]] = [{"type": "input_image", "image_url": to_data_url(image)}]
        if text:
            content.insert(0, {"type": "input_text", "text": text})
        self._new_input()
        await self._send({"type": ev.ITEM_CREATE, "item": {
            "id": self._item_id(), "type": "message", "role": "user", "content": content}})
        if respond:
            await self._send({"type": ev.RESPONSE_CREATE})

    async def update_agent(self, agent: Agent) -> None:
        """Switch to another agent, keeping the conversation."""
        previous = self.agent
        self.agent = agent
        await self._send({"type": ev.SESSION_UPDATE, "session": self._session_config(agent)})
        self.log_local(ev.Handoff(to=agent.name, call_id=None, from_agent=previous.name))

    def _new_input(self) -> None:
        self._inputs += 1
        self._corrections = 0

    def _item_id(self, prefix: str = "item_rtnb") -> str:
        return f"{prefix}{next(self._ids):06d}"

    # -- waiting -----------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return (self.active_response is None and self._pending_creates == 0
                and self._followups == 0 and not self._expect_commit)

    async def wait(self, timeout: float = 60.0) -> str:
        """Wait until the agent has answered the latest input; returns its last message."""
        async def settled() -> None:
            while not (self.idle and self._answered >= self._inputs):
                if not self.connected:
                    raise SessionError(f"connection lost: {self.closed_reason}")
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(settled(), timeout)
        except asyncio.TimeoutError:
            why = (f"active response {self.active_response}" if self.active_response else
                   "no turn was detected in the audio sent" if self._expect_commit else
                   "still waiting for the server")
            raise TimeoutError(f"no complete answer within {timeout:g}s ({why})") from None
        return self.transcript.last("assistant")

    async def wait_played(self, timeout: float = 120.0) -> None:
        """Wait until the speaker has played everything received (as a polite user would)."""
        deadline = time.monotonic() + timeout
        while (left := self.player.remaining()) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("playback did not finish")
            await asyncio.sleep(min(left, 0.25))

    # -- server events -----------------------------------------------------------------------

    async def _read(self) -> None:
        assert self._transport is not None
        try:
            while True:
                event = await self._transport.recv()
                await self._on_server(event)
        except TransportClosed as exc:
            self.closed_reason = str(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("session reader failed")
            self.closed_reason = f"{type(exc).__name__}: {exc}"
        self.connected = False
        self.log_local(ev.Disconnected(reason=self.closed_reason))

    async def _on_server(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        pcm = base64.b64decode(event["delta"]) if kind == ev.AUDIO_DELTA else None
        if pcm is not None and self.codec != "audio/pcm":
            pcm = self._decoder_for(event.get("item_id", "")).decode(pcm)
        self._record("server", event, pcm)
        if kind == ev.RESPONSE_CREATED:
            rid = event["response"]["id"]
            self._pending_creates = max(0, self._pending_creates - 1)
            self.active_response = rid
            self._responses[rid] = {"calls": [], "text": "", "checked": 0, "item": None,
                                    "tripped": False, "guards": set()}
        elif kind == ev.AUDIO_DELTA:
            self.player.feed(event["item_id"], pcm)
            self._remember_item(event)
        elif kind in ev.TEXT_DELTAS:
            self._remember_item(event)
            self._on_text(event)
        elif kind == ev.CALL_ARGUMENTS_DONE:
            self._on_call(event)
        elif kind == ev.RESPONSE_DONE:
            self._on_done(event["response"])
        elif kind == ev.SPEECH_STARTED:
            self._expect_commit = True
            self._spawn(self._flush_and_truncate("barge_in"))
        elif kind == ev.SPEECH_STOPPED:
            self._vad_item = event.get("item_id")
        elif kind in ev.BUFFER_ENDS:
            self._expect_commit = False
            if self._server_creates_response(kind, event):
                self._pending_creates += 1  # server VAD answers the turn by itself
            self._settle()
        elif kind == ev.ERROR:
            if (event.get("error") or {}).get("code") == "conversation_already_has_active_response":
                self._pending_creates = max(0, self._pending_creates - 1)
            log.warning("server error: %s", (event.get("error") or {}).get("message"))

    def _decoder_for(self, item_id: str) -> Any:
        """One streaming G.711 decoder per output item, so chunk edges don't click."""
        if self._decoder is None or self._decoder[0] != item_id:
            from .. import audio as wire

            self._decoder = (item_id, wire.StreamDecoder(self.codec))
        return self._decoder[1]

    def _server_creates_response(self, kind: str, event: dict[str, Any]) -> bool:
        td = self.turn_detection
        if td is None or (isinstance(td, dict) and td.get("create_response") is False):
            return False
        return kind == ev.TIMEOUT_TRIGGERED or (
            kind == ev.COMMITTED and event.get("item_id") == self._vad_item)

    def _remember_item(self, event: dict[str, Any]) -> None:
        info = self._responses.get(event.get("response_id", ""))
        if info is not None:
            info["item"] = event.get("item_id")

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("session task failed", exc_info=task.exception())
        self._changed.set()

    # -- tools and handoffs ------------------------------------------------------------------

    def _on_call(self, event: dict[str, Any]) -> None:
        info = self._responses.get(event.get("response_id", ""))
        call = {"call_id": event["call_id"], "name": event["name"],
                "arguments": event.get("arguments", ""), "task": None}
        tool = self.agent.find_tool(event["name"])
        if tool is not None:  # run now, concurrently with the rest of the response
            ctx = ToolContext(self, event["call_id"], self.agent)
            call["task"] = self._spawn(tool.run(call["arguments"], ctx))
        if info is not None:
            info["calls"].append(call)

    def _on_done(self, response: dict[str, Any]) -> None:
        rid = response["id"]
        info = self._responses.get(rid, {})
        if self.active_response == rid:
            self.active_response = None
        if response.get("status") == "completed" and not info.get("tripped") and info.get(
                "text"):
            self._check_guardrails(rid, final=True)
        if info.get("calls") and not info.get("tripped"):
            self._followups += 1
            self._spawn(self._follow_up(rid, info["calls"]))
        self._settle()

    def _settle(self) -> None:
        if self.idle and not any(i.get("guards") for i in self._responses.values()):
            self._answered = self._inputs

    async def _follow_up(self, rid: str, calls: list[dict[str, Any]]) -> None:
        """Send every call's output, then one ``response.create`` (handoffs first switch)."""
        try:
            handoff = None
            for call in calls:
                if call["task"] is not None:
                    output = await call["task"]
                else:
                    target = self.agent.find_handoff(call["name"])
                    if target is None:
                        output = json.dumps({"error": f"unknown tool {call['name']}"})
                    else:
                        handoff = (call, target)
                        continue
                await self._send_output(call["call_id"], output)
            if handoff is not None:
                call, target = handoff
                previous = self.agent
                self.agent = target
                await self._send({"type": ev.SESSION_UPDATE,
                                  "session": self._session_config(target)})
                self.log_local(ev.Handoff(to=target.name, call_id=call["call_id"],
                                          from_agent=previous.name))
                await self._send_output(call["call_id"], json.dumps({"assistant": target.name}))
            await self._send({"type": ev.RESPONSE_CREATE})
        finally:
            self._followups -= 1
            self._changed.set()

    async def _send_output(self, call_id: str, output: str) -> None:
        await self._send({"type": ev.ITEM_CREATE, "item": {
            "type": "function_call_output", "call_id": call_id, "output": output}})

    # -- guardrails --------------------------------------------------------------------------

    def _on_text(self, event: dict[str, Any]) -> None:
        info = self._responses.get(event.get("response_id", ""))
        if info is None:
            return
        info["text"] += event.get("delta", "")
        if len(info["text"]) // self.guardrail_chars > info["checked"]:
            info["checked"] = len(info["text"]) // self.guardrail_chars
            self._check_guardrails(event["response_id"], final=False)

    def _check_guardrails(self, rid: str, final: bool) -> None:
        if not self.agent.output_guardrails:
            return
        info = self._responses[rid]
        task = self._spawn(self._run_guardrails(rid, info["text"], info["item"], final))
        info["guards"].add(task)
        task.add_done_callback(lambda t: (info["guards"].discard(t), self._settle()))

    async def _run_guardrails(self, rid: str, text: str, item_id: str | None,
                              final: bool) -> None:
        info = self._responses[rid]
        results = await asyncio.gather(*(g.check(text, self) for g in self.agent.output_guardrails))
        for result in results:
            if info["tripped"]:
                return
            self.log_local(ev.GuardrailChecked(response_id=rid, item_id=item_id, final=final,
                                               result=result.to_dict()))
            if result.tripped:
                info["tripped"] = True
                await self._on_trip(rid, result)
                return

    async def _on_trip(self, rid: str, result: Any) -> None:
        self._followups += 1
        try:
            await self._flush_and_truncate("guardrail")
            if self.active_response == rid:
                await self._send({"type": ev.RESPONSE_CANCEL, "response_id": rid})
            if self._corrections >= MAX_CORRECTIONS:
                self.log_local(ev.GuardrailGaveUp(response_id=rid, guardrail=result.guardrail))
                return
            self._corrections += 1
            await self._send({"type": ev.ITEM_CREATE, "item": {
                "id": self._item_id(ev.CORRECTION_ID_PREFIX), "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": ev.correction_text(
                    result.guardrail, result.category, result.rationale)}]}})
            await self._send({"type": ev.RESPONSE_CREATE})
        finally:
            self._followups -= 1
            self._changed.set()

    # -- interruption ------------------------------------------------------------------------

    async def _flush_and_truncate(self, reason: str) -> None:
        where = self.player.flush()
        self.log_local(ev.PlaybackFlushed(reason=reason, item_id=where[0] if where else None,
                                          played_ms=round(where[1], 1) if where else None))
        if where is not None and self.connected:
            item_id, played = where
            await self._send({"type": ev.ITEM_TRUNCATE, "item_id": item_id,
                              "content_index": 0, "audio_end_ms": int(played)})

    # -- results -----------------------------------------------------------------------------

    @property
    def turns(self) -> MetricsTable:
        # Audio appends and deltas never change a finished figure: recompute only when
        # something else was logged (the panel asks several times a second).
        if self._turns_cache is None or self._turns_cache[0] != self._version:
            self._turns_cache = (self._version, MetricsTable(compute_turns(self.log.entries)))
        return self._turns_cache[1]

    def metrics(self) -> MetricsTable:
        """Per-turn latency (ms), derived from the event log."""
        return self.turns

    def save(self, path: str | Path) -> Path:
        """Write the recording (events.jsonl, input.wav, output.wav, meta.json)."""
        return self.log.save(path, meta={"agent": self.root_agent.name,
                                         "backend": self.backend.kind,
                                         "model": self.backend.model})
