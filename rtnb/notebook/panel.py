"""The session panel: controls, a state line, live transcript and event log, in one widget.

Everything shown is derived from the session's public surface: its event log
(each entry arrives through ``session.on_event``), ``session.connected``,
``session.metrics()`` and the speaker's ``remaining()``. Each entry steps the
activity state machine (:mod:`.activity`) and the event-log rows (:mod:`.rows`)
as it arrives; at most every ``REFRESH_S`` the browser gets only the rows that
are new or changed, so opened rows stay open and scrolling holds.

Button callbacks may run on the widget thread, so every action is scheduled on
the session's event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as W

from .. import events as ev
from .activity import Activity, Failure, FiguresChanged, shown, step
from .live_audio import LiveAudio, bridge
from .rows import LogRows, Row, failure_row, transcript_rows
from .status import NO_MATH, StatusView, status_html
from .widgets import HoldButton, RowList

#: Shortest time between two updates of the views while events stream in (s).
REFRESH_S = 0.15
#: How often the state line refreshes while connected, with no events (s).
TICK_S = 0.25
CODECS = [("PCM 24 kHz", "audio/pcm"), ("G.711 µ-law (phone line)", "audio/pcmu"),
          ("G.711 A-law (phone line)", "audio/pcma")]
#: Streams that never change what the transcript shows (the mic, the reply's audio).
_AUDIO_STREAMS = frozenset({ev.INPUT_AUDIO_APPEND, ev.AUDIO_DELTA})
TALK_TIP = "Push-to-talk: hold (mouse, or Space/Enter) while you speak; release to send"


class SessionPanel(W.VBox):
    """A live view and remote control of an :class:`rtnb.Session`."""

    def __init__(self, session: Any, agents: dict[str, Any] | None = None) -> None:
        self.session = session
        self._loop = _loop()
        self._agents = agents if agents is not None else _agent_choices(session)
        self.audio = LiveAudio()
        self.activity = Activity()
        self._log_rows = LogRows()
        self._failures: list[Failure] = []
        self._problem: str | None = None  # an action of this panel failed (e.g. connect)
        self._figures: tuple[int, Any] = (0, None)  # turns so far, the last turn
        self._figures_stale = True
        self._transcript_stale = True
        self._talking = False
        self._connecting = False
        self._timer: asyncio.TimerHandle | None = None

        self.connect_button = W.Button(description="Connect", icon="plug",
                                       button_style="success")
        self.disconnect_button = W.Button(description="Disconnect", icon="power-off",
                                          disabled=True)
        narrow = {"description_width": "initial"}
        self.agent_select = W.Dropdown(options=list(self._agents), description="Agent",
                                       value=_current_key(self._agents, session.agent),
                                       style=narrow, layout=W.Layout(width="240px"))
        self.ptt = W.Checkbox(value=session.turn_detection is None, description="Push-to-talk",
                              indent=False, layout=W.Layout(width="auto"))
        self.talk_button = HoldButton(description="Hold to talk", icon="microphone",
                                      pressed_description="Release to send", tooltip=TALK_TIP,
                                      disabled=session.turn_detection is not None)
        self.playback = W.Checkbox(value=True, description="Speaker on", indent=False,
                                   layout=W.Layout(width="auto"))
        self.codec = W.Dropdown(options=CODECS, value=session.codec, description="Codec",
                                style=narrow, layout=W.Layout(width="250px"))
        self.text = W.Text(placeholder="Type a message and press Enter",
                           continuous_update=False, layout=W.Layout(width="60%"))
        self.send_button = W.Button(description="Send", icon="paper-plane")
        self.transcript_view = RowList(placeholder="No messages yet.")
        self.log_view = RowList(placeholder="No events yet.")
        self.status = W.HTML(layout=W.Layout(width="100%"))

        self.connect_button.on_click(lambda _b: self._run(self._connect()))
        self.disconnect_button.on_click(lambda _b: self._run(self.session.close()))
        self.agent_select.observe(self._on_agent, names="value")
        self.ptt.observe(self._on_ptt, names="value")
        self.talk_button.observe(self._on_talk, names="pressed")
        self.playback.observe(lambda c: setattr(self.audio, "playback", c["new"]),
                              names="value")
        self.codec.observe(lambda c: self._run(self.session.set_codec(c["new"])), names="value")
        self.send_button.on_click(lambda _b: self._send_text())
        self.transcript_view.on_action(self._on_row_action)
        self.text.observe(lambda _c: self._send_text(), names="value")  # Enter or blur

        controls = W.HBox([self.connect_button, self.disconnect_button, self.agent_select,
                           self.codec])
        talk = W.HBox([self.audio, self.ptt, self.talk_button, self.playback])
        typing = W.HBox([self.text, self.send_button])
        self.views = views = W.Tab(children=[self.transcript_view, self.log_view])
        views.set_title(0, "Transcript")
        views.set_title(1, "Event log")
        views.observe(lambda _c: self._loop.call_soon_threadsafe(self._wake, 0),
                      names="selected_index")
        super().__init__([controls, talk, self.status, views, typing])
        for cls in ("rtnb-panel", *NO_MATH.split()):
            self.add_class(cls)
        for widget, name in ((self.connect_button, "connect"), (self.disconnect_button,
                             "disconnect"), (self.talk_button, "talk"), (self.text, "text"),
                             (self.send_button, "send"), (self.status, "status"),
                             (self.transcript_view, "transcript"), (self.log_view, "log"),
                             (controls, "controls"), (talk, "talk-row"), (views, "views")):
            widget.add_class(f"rtnb-{name}")
        session.player = self.audio
        for entry in list(session.log.entries):  # shown after connecting, or for a replay
            self._follow(entry)
        session.on_event(self._on_event)
        # Frames that arrive while disconnected are dropped by append_pcm's error.
        self._pump = bridge(self.audio, self._loop, self.session.append_pcm)
        self._render()

    # -- actions (any thread) ----------------------------------------------------------------

    def _run(self, coro: Any) -> None:
        def start() -> None:
            self._problem = None
            task = self._loop.create_task(coro)
            task.add_done_callback(self._report)
            self._wake(0)

        self._loop.call_soon_threadsafe(start)

    def _report(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self._problem = str(exc) or type(exc).__name__
            self._failures.append(Failure(self.session.now(), self._problem))
            self._transcript_stale = True
        self._wake(0)

    async def _connect(self) -> None:
        self._connecting = True
        try:
            await self.session.connect()
        finally:
            self._connecting = False

    def _send_text(self) -> None:
        text = self.text.value.strip()
        if text:
            self.text.value = ""
            self._run(self.session.say(text))

    def _on_row_action(self, action: str, call_id: str) -> None:
        """Approve or Reject clicked on a tool call that waits for approval."""
        if action == "approve":
            self._run(self.session.approve(call_id))
        elif action == "reject":
            self._run(self.session.reject(call_id, "rejected in the panel"))

    def _on_agent(self, change: dict[str, Any]) -> None:
        agent = self._agents[change["new"]]
        if self.session.connected:
            self._run(self.session.update_agent(agent))
        else:
            self.session.agent = agent

    def _on_ptt(self, change: dict[str, Any]) -> None:
        self.talk_button.disabled = not change["new"]
        self.session.turn_detection = None if change["new"] else "server_vad"
        if self.session.connected:
            self._run(self.session.update_agent(self.session.agent))

    def _on_talk(self, change: dict[str, Any]) -> None:
        """The hold button went down (start a fresh input) or up (commit it)."""
        if change["new"] and not self._talking:
            self._talking = True
            self._run(self.session.start_talking())
        elif not change["new"] and self._talking:
            self._talking = False
            self._run(self.session.stop_talking())

    # -- following the session (its loop) ----------------------------------------------------

    def _on_event(self, entry: Any) -> None:
        self._follow(entry)
        self._wake(REFRESH_S)

    def _follow(self, entry: Any) -> None:
        if entry.type not in _AUDIO_STREAMS:
            self._transcript_stale = True
        self.activity, effects = step(self.activity, entry)
        self._log_rows.origin = self.activity.origin
        self._log_rows.add(entry)
        for effect in effects:
            if isinstance(effect, FiguresChanged):
                self._figures_stale = True
            elif isinstance(effect, Failure):
                self._failures.append(effect)
                self._transcript_stale = True

    def _wake(self, delay: float) -> None:
        """Render within ``delay`` seconds (an earlier pending render stands)."""
        due = self._loop.time() + delay
        if self._timer is not None and self._timer.when() <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(delay, self._render)

    def _render(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        s = self.session
        if self._transcript_stale:
            self._transcript_stale = False
            self.transcript_view.sync(self._transcript_rows())
            self.transcript_view.flush()
        self.log_view.put(self._log_rows.take())
        if self.views.selected_index == 1:  # a hidden log catches up when its tab opens
            self.log_view.flush()
        status = status_html(self.status_view())
        if self.status.value != status:
            self.status.value = status
        self._sync_buttons()
        if s.connected or self._connecting or self.audio.remaining() > 0:
            self._wake(TICK_S)  # thinking time, playback ending, hop delays

    def _transcript_rows(self) -> list[Row]:
        origin = self.activity.origin
        rows = transcript_rows(self.session.transcript.entries, origin)
        rows += [failure_row(n, f.t, f.message, origin) for n, f in enumerate(self._failures)]
        return sorted(rows, key=lambda r: r.t)  # stable: the transcript's order holds

    def status_view(self) -> StatusView:
        """What the state line shows now."""
        s = self.session
        if self._figures_stale:
            turns = s.metrics()
            self._figures = (len(turns), turns[-1] if len(turns) else None)
            self._figures_stale = False
        phase = shown(self.activity, playing=self.audio.remaining() > 0, talking=self._talking)
        error = self.activity.error
        if not s.connected:
            phase = "disconnected"
        elif phase == "disconnected":
            phase = "listening"
        if self._problem is not None:
            phase, error = "failed", self._problem
        return StatusView(phase, s.agent.name, for_s=max(0.0, s.now() - self.activity.since),
                          error=error, closed_reason=s.closed_reason,
                          turns=self._figures[0], last_turn=self._figures[1],
                          mic_frames=self.audio.frames, delays=self.audio.delays(),
                          mic_off=self._talking and not self.audio.capturing)

    def _sync_buttons(self) -> None:
        connected = self.session.connected
        self.connect_button.disabled = connected or self._connecting
        self.connect_button.button_style = "" if connected or self._connecting else "success"
        self.connect_button.description = "Connecting…" if self._connecting else "Connect"
        self.disconnect_button.disabled = not connected


def _loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


def _agent_choices(session: Any) -> dict[str, Any]:
    choices = {a.name: a for a in session.root_agent.reachable()}
    try:
        from .. import scenarios

        for name in scenarios.names():
            choices.setdefault(f"scenario: {name}", scenarios.get(name).root)
    except Exception:
        pass
    return choices


def _current_key(choices: dict[str, Any], agent: Any) -> str:
    return next((k for k, v in choices.items() if v is agent), next(iter(choices)))
