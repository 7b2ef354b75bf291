"""``rtnb.Session``: one realtime conversation with agents, on any backend.

The session sends input, logs every event with a monotonic timestamp, runs
tools as their calls complete (once the user approves them, for tools that need
approval) and checks their outputs with the tools' guardrails, performs handoffs, runs output guardrails while
the assistant speaks, and handles barge-in by flushing playback and truncating
at the played position. Transcript and metrics are derived from the log.

Every decision is made by the pure state machine in :mod:`rtnb.session.machine`;
this class is its I/O shell: it feeds the machine what happens (server events,
the user's input, tool and guardrail results, playback flushes) and runs the
actions it returns (send, log, run a tool or guardrails, flush the player).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rtnb.session.machine as m

from .. import events as ev
from ..agents import Agent, ToolContext
from ..analysis import MetricsTable, compute_turns
from ..models import openai_model
from .backend import LOCAL_MODEL, Backend, resolve_backend
from .config import LOCAL_TRANSCRIPTION_MODEL, Settings
from .errors import SessionError
from .eventlog import EventLog, LoggedEvent
from .machine import MAX_CORRECTIONS
from .playback import ClockPlayer
from .replay import ReplayTransport
from .transcript import Message, Transcript
from .transport import Replayed, SDKTransport, Transport, TransportClosed

__all__ = ["Session", "SessionError", "MAX_CORRECTIONS", "APPEND_CHUNK_MS"]

log = logging.getLogger("rtnb.session")

APPEND_CHUNK_MS = 40


def _setting(name: str, doc: str) -> property:
    """A Session property that reads and writes one field of the machine's settings."""

    def get(self: Session) -> Any:
        return getattr(self._state.settings, name)

    def put(self: Session, value: Any) -> None:
        settings = dataclasses.replace(self._state.settings, **{name: value})
        self._state = dataclasses.replace(self._state, settings=settings)

    return property(get, put, doc=doc)


class Session:
    """A realtime conversation with ``agent`` (and the agents it hands off to).

    ``backend``: ``"local"`` (the embedded engine, started on first use),
    ``"openai"`` (needs ``OPENAI_API_KEY``; the default when it is set), a
    ``ws://`` URL, a running engine, or the folder of a saved recording (replay).
    ``transport`` replaces the connection itself (see :mod:`rtnb.session.transport`),
    for example with a :class:`~rtnb.session.scripted.ScriptedTransport` in tests.
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
        self.root_agent = agent
        if transport is not None and backend is None:  # no engine to start or find
            self.backend: Backend = Backend(getattr(transport, "kind", "custom"),
                                            model=model or LOCAL_MODEL)
        else:
            self.backend = resolve_backend(backend, model=model)
        if api_key is not None:  # a bearer token or ek_ key for a ws:// engine
            self.backend._key = api_key
        asr = (openai_model("transcription") if self.backend.kind == "openai"
               else LOCAL_TRANSCRIPTION_MODEL)
        self._state = m.State(agent, Settings(turn_detection, transcription, asr, codec,
                                                guardrail_chars))
        self._clock = clock
        self._t0 = clock()
        self.player = player if player is not None else ClockPlayer(self.now)
        self.log = EventLog()
        self.transcript = Transcript()
        self._listeners: list[Callable[[LoggedEvent], None]] = []
        self._transport = transport
        self._mcp_opened: list[Any] = []  # MCP servers this session connected
        self._reader: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._changed = asyncio.Event()
        self.closed_reason: str | None = None
        self._http = None
        self._encoder: Any = None
        self._decoder: tuple[str, Any] | None = None
        self._version = 0
        self._last_audio_item: str | None = None
        self._turns_cache: tuple[int, MetricsTable] | None = None
        #: The notebook panel, once shown.
        self.panel: Any = None
        #: Replays run at this multiple of real time (None: as fast as possible).
        self.replay_speed: float | None = None

    # -- state (held by the machine) ---------------------------------------------------------

    @property
    def state(self) -> m.State:
        """The state machine's current state (read-only; see :mod:`rtnb.session.machine`)."""
        return self._state

    @property
    def agent(self) -> Agent:
        """The agent in charge now (handoffs change it)."""
        return self._state.agent

    @agent.setter
    def agent(self, agent: Agent) -> None:  # before connecting; use update_agent() after
        self._state = dataclasses.replace(self._state, agent=agent)

    turn_detection = _setting("turn_detection", "``server_vad``, ``semantic_vad``, a dict, "
                              "or None (push-to-talk); applies at the next configuration.")
    transcription = _setting("transcription", "Transcribe the user's audio.")
    transcription_model = _setting("transcription_model", "The model that transcribes the "
                                   "user's audio (OpenAI: rtnb.models' transcription default).")
    codec = _setting("codec", "The audio format both ways (use set_codec() to switch live).")
    guardrail_chars = _setting("guardrail_chars", "Guardrails run every this many characters.")

    @property
    def connected(self) -> bool:
        return self._state.connected

    @property
    def active_response(self) -> str | None:
        """The id of the response being generated, if any."""
        return self._state.active_response

    @property
    def idle(self) -> bool:
        return self._state.idle

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
        if not self.connected:
            await self._open()
        return self

    async def _open(self, **opened: Any) -> None:
        """Connect the transport, start reading, then configure the agent."""
        if self._transport is None:
            self._transport = (ReplayTransport(self.backend.path, self.replay_speed)
                               if self.backend.kind == "replay" else SDKTransport(self.backend))
        listed = [] if self._replaying else await self._connect_mcp(self.root_agent.reachable())
        await self._transport.connect()
        self.closed_reason = None
        self._reader = asyncio.create_task(self._read())
        await self._dispatch(m.Opened(self.backend.kind, quiet=self._replaying, **opened))
        self._log_listed(listed)

    def _log_listed(self, servers: list[Any]) -> None:
        for server in servers:
            self.log_local(ev.MCPToolsListed(server=server.name,
                                             tools=[t.name for t in server.tools]))

    async def _connect_mcp(self, agents: list[Agent]) -> list[Any]:
        """Connect the agents' MCP servers that are not connected yet (this session closes
        them); returns them once their tools are listed."""
        servers = list({id(s): s for a in agents for s in a.mcp_servers}.values())
        fresh = [s for s in servers if not s.connected]
        try:
            await asyncio.gather(*(s.connect() for s in fresh))
            for agent in agents:
                names = [t.name for t in agent.all_tools()]
                if dupes := sorted({n for n in names if names.count(n) > 1}):
                    raise SessionError(f"agent {agent.name}: duplicate tool names {dupes} "
                                       "(from its MCP servers)")
        except BaseException:
            await asyncio.gather(*(s.close() for s in fresh), return_exceptions=True)
            raise
        self._mcp_opened.extend(fresh)
        return fresh

    @property
    def _replaying(self) -> bool:
        return bool(getattr(self._transport, "plays_recording", False))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(t for t in [self._reader, *self._tasks] if t),
                             return_exceptions=True)
        if self._transport is not None:
            await self._transport.close()
        opened, self._mcp_opened = self._mcp_opened, []
        await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
        if self.connected:
            self.closed_reason = self.closed_reason or "closed"
            await self._dispatch(m.Closed(self.closed_reason, quiet=self._replaying))

    async def reconnect(self) -> Session:
        """Connect again to the same backend, keeping the conversation's context.

        For a dropped connection (``connected`` is False, ``closed_reason`` says why),
        or on purpose. The new connection gets the current agent's configuration, then
        the transcript's user and assistant messages as text items, oldest first. Tool
        calls are not replayed and a reply that was cut off is not resumed. Logs
        ``local.reconnected`` with the items restored (they are not logged again as
        client events, which would read as new user turns).
        """
        if self.backend.kind == "replay" or self._replaying:
            raise SessionError("a replayed recording cannot reconnect")
        if self.connected:
            self.closed_reason = "reconnecting"
        previous = self.closed_reason
        await self.close()
        self.player.flush()
        await self._dispatch(m.Reset())  # an input the old connection never answered is dropped
        await self._open(reconnect=True, previous=previous, restore=self._history_items())
        return self

    def _history_items(self) -> tuple[dict[str, Any], ...]:
        """The transcript's user and assistant messages as text items (their own ids)."""
        items = []
        for entry in self.transcript.entries:
            if isinstance(entry, Message) and entry.text and entry.role in ("user", "assistant"):
                part = "input_text" if entry.role == "user" else "output_text"
                items.append({"id": entry.item_id, "type": "message", "role": entry.role,
                              "content": [{"type": part, "text": entry.text}]})
        return tuple(items)

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

    # -- the machine and its actions ---------------------------------------------------------

    async def _dispatch(self, event: m.Input) -> None:
        """Feed one input to the machine and run the actions it returns, in order."""
        self._state, actions = m.step(self._state, event)
        self._changed.set()
        for action in actions:
            if type(action) is m.Send:
                await self._transmit(action)
            elif type(action) is m.Log:
                self._record("local", action.record.to_event())
            elif type(action) is m.FlushPlayback:
                where = self.player.flush()
                await self._dispatch(m.PlaybackStopped(action.reason, *(where or ())))
            elif type(action) is m.RunTool:
                self._spawn(self._run_tool(action))
            elif type(action) is m.CheckApproval:
                self._spawn(self._check_approval(action))
            elif type(action) is m.RunGuardrails:
                self._spawn(self._run_guardrails(action))

    async def _transmit(self, send: m.Send) -> None:
        if not self.connected or self._transport is None:
            raise self._not_connected()
        if send.log:
            self._record("client", send.event, send.pcm)
        await self._transport.send(send.event)

    async def _run_tool(self, run: m.RunTool) -> None:
        ctx = ToolContext(self, run.call_id, run.agent)
        output = await run.tool.run(run.arguments, ctx)
        checks = await run.tool.check_output(output, ctx)
        await self._dispatch(m.ToolFinished(run.call_id, output, checks))

    async def _check_approval(self, check: m.CheckApproval) -> None:
        ctx = ToolContext(self, check.call_id, check.agent)
        needed = await check.tool.approval_needed(check.arguments, ctx)
        await self._dispatch(m.ApprovalChecked(check.call_id, needed))

    async def _run_guardrails(self, run: m.RunGuardrails) -> None:
        results = await asyncio.gather(*(g.check(run.text, self) for g in run.guardrails))
        await self._dispatch(m.GuardrailsFinished(run.response_id, run.item_id, run.final,
                                                    tuple(results)))

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

    def _not_connected(self) -> SessionError:
        why = self.closed_reason or "call await session.connect() first"
        return SessionError(f"the session is not connected ({why})")

    def _require_input(self) -> None:
        if self._replaying:
            raise SessionError("a replayed recording takes no input")
        if not self.connected or self._transport is None:
            raise self._not_connected()

    # -- the log -----------------------------------------------------------------------------

    def _record(self, direction: str, event: dict[str, Any], pcm: bytes | None = None,
                t: float | None = None, agent: str | None = None) -> LoggedEvent:
        entry = self.log.add(self.now() if t is None else t, direction,
                             agent or self._state.agent.name, event, pcm)
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

    # -- input -------------------------------------------------------------------------------

    async def send_event(self, event: dict[str, Any]) -> None:
        """Send any raw client event (logged like every other)."""
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError("an event is a dict with a 'type' string")
        self._require_input()
        await self._dispatch(m.SendRaw(event))

    _send = send_event  # the old private name, used by tests

    async def say(self, text: str) -> None:
        """Send a typed user message and ask for a response."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("say() needs non-empty text")
        self._require_input()
        await self._dispatch(m.UserMessage(({"type": "input_text", "text": text},)))

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
        self._require_input()
        await self._dispatch(m.AudioStarted(commit))
        step = APPEND_CHUNK_MS * 48
        start = time.monotonic()
        for i in range(0, len(pcm), step):
            chunk = pcm[i:i + step]
            await self.append_pcm(chunk)
            if paced:
                due = start + (i + len(chunk)) / 48000
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        if commit:
            await self._dispatch(m.Commit())
        return len(pcm) / 48

    async def append_pcm(self, pcm: bytes) -> None:
        """Append 24 kHz PCM16 as it is captured (the live mic path)."""
        self._require_input()
        wire_bytes = pcm
        if self.codec != "audio/pcm":  # phone line: G.711 both ways
            if self._encoder is None:
                from .. import audio as wire

                self._encoder = wire.StreamEncoder(self.codec)
            wire_bytes = self._encoder.encode(pcm)
        audio = base64.b64encode(wire_bytes).decode()
        await self._dispatch(m.SendRaw({"type": ev.INPUT_AUDIO_APPEND, "audio": audio}, pcm))

    async def set_codec(self, fmt: str) -> None:
        """Switch both directions to ``audio/pcm`` or G.711 ``audio/pcmu``/``audio/pcma``."""
        from .. import audio as wire

        if fmt not in wire.FORMATS:
            raise ValueError(f"codec must be one of {', '.join(wire.FORMATS)}")
        self._encoder = None
        self._decoder = None
        await self._dispatch(m.SetCodec(fmt))

    async def start_talking(self) -> None:
        """Push-to-talk pressed: stop the agent and start a fresh input buffer."""
        self._require_input()
        await self._dispatch(m.StartTalking())

    async def stop_talking(self) -> None:
        """Push-to-talk released: commit what was said and ask for a response."""
        if not self._state.talking:
            raise SessionError("stop_talking() without start_talking()")
        self._require_input()
        await self._dispatch(m.StopTalking())

    async def interrupt(self) -> None:
        """Stop the agent now: flush playback, truncate what was not heard, cancel."""
        await self._dispatch(m.Interrupt())

    async def send_image(self, image: Any, text: str | None = None, *,
                         respond: bool = True) -> None:
        """Send a matplotlib figure, PNG bytes or an image path (plus optional text)."""
        from .images import to_data_url

        content: list[dict[str, Any]] = [{"type": "input_image", "image_url": to_data_url(image)}]
        if text:
            content.insert(0, {"type": "input_text", "text": text})
        self._require_input()
        await self._dispatch(m.UserMessage(tuple(content), respond))

    async def update_agent(self, agent: Agent) -> None:
        """Switch to another agent, keeping the conversation (its MCP servers connect first)."""
        self._require_input()
        self._log_listed(await self._connect_mcp(agent.reachable()))
        await self._dispatch(m.SwitchAgent(agent))

    # -- approvals ---------------------------------------------------------------------------

    @property
    def pending_approvals(self) -> tuple[m.Call, ...]:
        """Tool calls waiting for :meth:`approve` or :meth:`reject`, oldest first (each has
        ``call_id``, ``name`` and ``arguments``)."""
        return self._state.pending_approvals

    async def approve(self, call: Any) -> None:
        """Run a tool call that waits for approval (its call id, or the call itself)."""
        await self._dispatch(m.Approve(self._waiting_call(call)))

    async def reject(self, call: Any, reason: str | None = None) -> None:
        """Refuse a tool call that waits for approval: the model gets "Tool execution was
        not approved." (plus ``reason``) as the call's output, and answers again."""
        await self._dispatch(m.Reject(self._waiting_call(call), reason))

    def _waiting_call(self, call: Any) -> str:
        call_id = call if isinstance(call, str) else getattr(call, "call_id", None)
        if call_id not in {c.call_id for c in self.pending_approvals}:
            waiting = ", ".join(c.call_id for c in self.pending_approvals) or "none"
            raise SessionError(f"no tool call {call_id!r} waits for approval "
                               f"(waiting: {waiting})")
        return call_id

    # -- waiting -----------------------------------------------------------------------------

    async def wait(self, timeout: float = 60.0) -> str:
        """Wait until the agent has answered the latest input; returns its last message.

        Returns early when a tool call waits for approval (see :attr:`pending_approvals`):
        answer it with :meth:`approve` or :meth:`reject`, then wait again. Raises :class:`SessionError` when the answer failed (a ``response.done`` with
        status ``failed``, or the server refused one of the session's requests), with
        the server's message, and when the connection is lost.
        """
        async def settled() -> None:
            while not (self._state.settled or self._state.failed
                       or self._state.pending_approvals):
                if not self.connected:
                    raise SessionError(f"connection lost: {self.closed_reason}")
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(settled(), timeout)
        except asyncio.TimeoutError:
            state = self._state
            why = (f"active response {state.active_response}" if state.active_response else
                   "no turn was detected in the audio sent" if state.expect_commit else
                   "still waiting for the server")
            raise TimeoutError(f"no complete answer within {timeout:g}s ({why})") from None
        if self._state.failed:
            raise self._failure()
        return self.transcript.last("assistant")

    def _failure(self) -> SessionError:
        reasons = []
        for failure in self._state.failures:
            if failure.response_id is not None:
                reasons.append(f"the response {failure.response_id} failed: {failure.message}")
            else:
                kind = self._sent_type(failure.event_id) or "a request"
                code = f" [{failure.code}]" if failure.code else ""
                reasons.append(f"the server refused {kind} ({failure.event_id}): "
                               f"{failure.message}{code}")
        return SessionError("; ".join(reasons),
                            [dataclasses.asdict(f) for f in self._state.failures])

    def _sent_type(self, event_id: str | None) -> str | None:
        for entry in reversed(self.log.entries):
            if entry.direction == "client" and entry.event.get("event_id") == event_id:
                return entry.type
        return None

    async def wait_played(self, timeout: float = 120.0) -> None:
        """Wait until the speaker has played everything received (as a polite user would)."""
        deadline = time.monotonic() + timeout
        while (left := self.player.remaining()) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("playback did not finish")
            await asyncio.sleep(min(left, 0.25))

    # -- server events -----------------------------------------------------------------------

    async def _read(self) -> None:
        transport = self._transport
        assert transport is not None
        try:
            while True:
                received = await transport.recv()
                if type(received) is Replayed:
                    self._on_replayed(received)
                else:
                    await self._on_server(received)
        except TransportClosed as exc:
            self.closed_reason = str(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("session reader failed")
            self.closed_reason = f"{type(exc).__name__}: {exc}"
        await self._dispatch(m.Closed(self.closed_reason, quiet=self._replaying))

    async def _on_server(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        pcm = base64.b64decode(event["delta"]) if kind == ev.AUDIO_DELTA else None
        if pcm is not None and self.codec != "audio/pcm":
            pcm = self._decoder_for(event.get("item_id", "")).decode(pcm)
        self._record("server", event, pcm)
        if pcm is not None:
            self.player.feed(event["item_id"], pcm)
        elif kind == ev.ERROR:
            log.warning("server error: %s", (event.get("error") or {}).get("message"))
        if kind in m.REACTS_TO:
            await self._dispatch(m.ServerEvent(event))

    def _on_replayed(self, replayed: Replayed) -> None:
        entry = replayed.entry
        self._record(entry.direction, entry.event, replayed.pcm, t=entry.t, agent=entry.agent)
        if entry.type == ev.AUDIO_DELTA and replayed.pcm:
            self.player.feed(entry.event.get("item_id", ""), replayed.pcm)

    def _decoder_for(self, item_id: str) -> Any:
        """One streaming G.711 decoder per output item, so chunk edges don't click."""
        if self._decoder is None or self._decoder[0] != item_id:
            from .. import audio as wire

            self._decoder = (item_id, wire.StreamDecoder(self.codec))
        return self._decoder[1]

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
