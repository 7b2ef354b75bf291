"""The session panel: controls, live transcript, event log and status, in one widget.

Button callbacks may run on the widget thread, so every action is scheduled on
the session's event loop with ``call_soon_threadsafe``. Views re-render at most
every ``REFRESH_S`` from the session's event stream.
"""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any

import ipywidgets as W

from .live_audio import LiveAudio, bridge

REFRESH_S = 0.15
LOG_ROWS = 150
CODECS = [("PCM 24 kHz", "audio/pcm"), ("G.711 µ-law (phone line)", "audio/pcmu"),
          ("G.711 A-law (phone line)", "audio/pcma")]
CSS = """<style>
.rtnb-panel .rtnb-box{max-height:320px;overflow-y:auto;border:1px solid #ddd;padding:4px;
 font:12px/1.4 ui-monospace,monospace;background:#fff}
.rtnb-panel .user{color:#1a4d8f}.rtnb-panel .assistant{color:#1b5e20}
.rtnb-panel .crumb{color:#888;font-style:italic}.rtnb-panel .err{color:#c62828}
.rtnb-panel .chip{display:inline-block;border-radius:8px;padding:0 6px;margin-left:4px;
 font-size:11px;background:#ffebee;color:#b71c1c}.rtnb-panel .chip.ok{background:#e8f5e9;
 color:#1b5e20}.rtnb-panel details{margin:1px 0}.rtnb-panel summary{cursor:pointer}
</style>"""


class SessionPanel(W.VBox):
    """A live view and remote control of an :class:`rtnb.Session`."""

    def __init__(self, session: Any, agents: dict[str, Any] | None = None) -> None:
        self.session = session
        self._loop = _loop()
        self._agents = agents if agents is not None else _agent_choices(session)
        self.audio = LiveAudio()
        self._dirty = False
        self._talk_pressed = False
        self._log_version = -1

        self.connect_button = W.Button(description="Connect", icon="plug",
                                       button_style="success")
        self.disconnect_button = W.Button(description="Disconnect", icon="power-off")
        self.agent_select = W.Dropdown(options=list(self._agents), description="Agent",
                                       value=_current_key(self._agents, session.agent))
        self.ptt = W.Checkbox(value=session.turn_detection is None, description="Push-to-talk",
                              indent=False)
        self.talk_button = W.ToggleButton(description="Hold to talk", icon="microphone",
                                          disabled=session.turn_detection is not None)
        self.playback = W.Checkbox(value=True, description="Speaker on", indent=False)
        self.codec = W.Dropdown(options=CODECS, value=session.codec, description="Codec")
        self.text = W.Text(placeholder="Type a message and press Enter",
                           continuous_update=False, layout=W.Layout(width="60%"))
        self.send_button = W.Button(description="Send", icon="paper-plane")
        self.transcript_view = W.HTML()
        self.log_view = W.HTML()
        self.status = W.HTML()
        self.level = W.FloatProgress(min=0, max=0.3, description="mic",
                                     layout=W.Layout(width="200px"))

        self.connect_button.on_click(lambda _b: self._run(self._connect()))
        self.disconnect_button.on_click(lambda _b: self._run(self.session.close()))
        self.agent_select.observe(self._on_agent, names="value")
        self.ptt.observe(self._on_ptt, names="value")
        self.talk_button.observe(self._on_talk, names="value")
        self.playback.observe(lambda c: setattr(self.audio, "playback", c["new"]),
                              names="value")
        self.codec.observe(lambda c: self._run(self.session.set_codec(c["new"])), names="value")
        self.send_button.on_click(lambda _b: self._send_text())
        self.text.observe(lambda _c: self._send_text(), names="value")  # Enter or blur

        controls = W.HBox([self.connect_button, self.disconnect_button, self.agent_select,
                           self.codec])
        talk = W.HBox([self.audio, self.ptt, self.talk_button, self.playback])
        typing = W.HBox([self.text, self.send_button])
        self.views = views = W.Tab(children=[self.transcript_view, self.log_view])
        views.set_title(0, "Transcript")
        views.set_title(1, "Event log")
        views.observe(lambda _c: self._on_event(None), names="selected_index")
        super().__init__([W.HTML(CSS), controls, talk, typing, views,
                          W.HBox([self.status, self.level])])
        self.add_class("rtnb-panel")
        for widget, name in ((self.connect_button, "connect"), (self.disconnect_button,
                             "disconnect"), (self.talk_button, "talk"), (self.text, "text"),
                             (self.send_button, "send"), (self.status, "status"),
                             (self.transcript_view, "transcript"), (self.log_view, "log")):
            widget.add_class(f"rtnb-{name}")
        session.player = self.audio
        session.on_event(self._on_event)
        # Frames that arrive while disconnected are dropped by append_pcm's error.
        self._pump = bridge(self.audio, self._loop, self.session.append_pcm)
        self._render()

    # -- actions (any thread) ----------------------------------------------------------------

    def _run(self, coro: Any) -> None:
        def start() -> None:
            task = self._loop.create_task(coro)
            task.add_done_callback(self._report)

        self._loop.call_soon_threadsafe(start)

    def _report(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.status.value = f"<span class='err'>⚠ {html.escape(str(task.exception()))}</span>"

    async def _connect(self) -> None:
        await self.session.connect()
        self._schedule()

    def _send_text(self) -> None:
        text = self.text.value.strip()
        if text:
            self.text.value = ""
            self._run(self.session.say(text))

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
        if change["new"]:
            self.talk_button.description = "Release to send"
            self._run(self.session.start_talking())
        else:
            self.talk_button.description = "Hold to talk"
            self._run(self.session.stop_talking())

    # -- views (session loop) ----------------------------------------------------------------

    def _on_event(self, entry: Any) -> None:
        if entry is not None and entry.type == "input_audio_buffer.append":
            return  # 50 a second while the mic is on: the periodic status tick covers them
        if not self._dirty:
            self._dirty = True
            self._loop.call_later(REFRESH_S, self._render)

    def _schedule(self) -> None:
        self._loop.call_later(REFRESH_S, self._render)

    def _render(self) -> None:
        self._dirty = False
        s = self.session
        self.transcript_view.value = f"<div class='rtnb-box'>{transcript_html(s.transcript)}</div>"
        # The log is large: render it only while its tab shows and something besides
        # streamed audio or text changed (big widget updates delay the audio messages).
        if self.views.selected_index == 1 and self._log_version != s._version:
            self._log_version = s._version
            self.log_view.value = (f"<div class='rtnb-box'>"
                                   f"{log_html(s.log.entries[-LOG_ROWS:])}</div>")
        turns = s.turns
        last = turns[-1] if len(turns) else None
        latency = f"{last.e2e:.0f} ms" if last is not None and last.e2e is not None else "—"
        state = "connected" if s.connected else html.escape(s.closed_reason or "not connected")
        delays = self.audio.delays()
        hops = " · ".join(f"{arrow} {v:.0f} ms" for arrow, v in (
            ("browser→kernel", delays["browser_to_kernel_ms"]),
            ("kernel→browser", delays["kernel_to_browser_ms"])) if v is not None)
        self.status.value = (f"<b>{html.escape(s.agent.name)}</b> · {state} · last turn "
                             f"{latency} · {len(turns)} turns · mic frames {self.audio.frames}"
                             + (f" · {hops}" if hops else ""))
        self.level.value = min(self.audio.level, 0.3)
        if s.connected and self.audio.capturing:
            self._schedule()  # keep the level meter moving while the mic is on


def transcript_html(transcript: Any) -> str:
    rows = []
    for e in transcript.entries:
        stamp = f"<span class='crumb'>{e.t:6.1f}s</span>"
        if e.kind == "message":
            who = "you" if e.role == "user" else e.agent
            chips = "".join(
                f"<span class='chip{'' if g.get('tripped') else ' ok'}' title="
                f"'{html.escape(g.get('rationale', ''))}'>{html.escape(g['guardrail'])}: "
                f"{html.escape(g.get('category', ''))}</span>" for g in e.guardrails
                if g.get("tripped"))
            cut = " <i>(interrupted)</i>" if e.status == "interrupted" else ""
            image = " 🖼" if e.image else ""
            rows.append(f"<div class='{e.role}'>{stamp} <b>{html.escape(who)}</b>: "
                        f"{html.escape(e.text)}{image}{cut}{chips}</div>")
        elif e.kind == "tool":
            target = f" → {html.escape(e.handoff_to)}" if e.handoff_to else ""
            sup = "".join(f"<div>↳ {html.escape(x['type'].split('.')[-1])}: "
                          f"{html.escape(json.dumps({k: v for k, v in x.items() if k not in ('t', 'type', 'call_id')}))}</div>"
                          for x in e.supervisor)
            rows.append(f"<details>{stamp}<summary>⚙ {html.escape(e.name)}{target}</summary>"
                        f"<div>args: {html.escape(e.arguments)}</div>"
                        f"<div>result: {html.escape(str(e.output))}</div>{sup}</details>")
        else:
            rows.append(f"<div class='crumb'>{stamp} — {html.escape(e.title)} —</div>")
    return "".join(rows) or "<i>No messages yet.</i>"


#: Streams that would flood the log: consecutive ones collapse into one counted row.
_BULK = {"input_audio_buffer.append", "response.output_audio.delta",
         "response.output_audio_transcript.delta", "response.output_text.delta"}


def log_html(entries: list[Any]) -> str:
    rows: list[str] = []
    run_type, run_n = None, 0
    for e in entries:
        if e.type in _BULK and e.type == run_type:
            run_n += 1
            continue
        if run_n > 1:
            rows[-1] = rows[-1].replace("</summary>", f" ×{run_n}</summary>", 1)
        run_type, run_n = (e.type, 1) if e.type in _BULK else (None, 0)
        arrow = {"client": "▲", "server": "▼"}.get(e.direction, "•")
        cls = " class='err'" if e.type == "error" else ""
        body = html.escape(json.dumps(e.event, indent=1)[:2000])
        rows.append(f"<details{cls}><summary>{e.t:7.3f}s {arrow} {html.escape(e.type)}"
                    f"</summary><pre>{body}</pre></details>")
    if run_n > 1:
        rows[-1] = rows[-1].replace("</summary>", f" ×{run_n}</summary>", 1)
    return "".join(rows) or "<i>No events yet.</i>"


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
