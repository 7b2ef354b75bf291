"""The transcript, built from the event log one entry at a time.

User and assistant messages fill in live from deltas; tool calls show their
arguments and results (each call is its own entry, so the newest call is what
you see, never a stale first one); agent changes become breadcrumbs; guardrail
results sit on the message they judged.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from .. import events
from .eventlog import LoggedEvent


@dataclass
class Message:
    item_id: str
    role: str
    agent: str
    t: float
    text: str = ""
    status: str = "in_progress"
    interrupted_ms: float | None = None
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    image: bool = False
    kind: str = "message"
    #: Audio received so far (ms), and (audio ms when each text delta came, text length).
    audio_ms: float = 0.0
    marks: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class ToolCallEntry:
    """A function call in the transcript: its arguments, then its output (or handoff).

    (Not to be confused with the engine brain's :class:`rtnb.engine.brain.base.ToolCall`,
    the call a brain asks for; this was also called ``ToolCall`` before.)
    """

    call_id: str
    name: str
    agent: str
    t: float
    arguments: str = ""
    output: str | None = None
    t_done: float | None = None
    handoff_to: str | None = None
    supervisor: list[dict[str, Any]] = field(default_factory=list)
    #: ``"pending"`` while it waits for the user, then ``"approved"`` or ``"rejected"``;
    #: None for a call that needed no approval.
    approval: str | None = None
    #: Tool output guardrails' results (dicts); a tripped one replaced the output.
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "tool"

    @property
    def args(self) -> Any:
        try:
            return json.loads(self.arguments or "{}")
        except ValueError:
            return self.arguments


@dataclass
class Breadcrumb:
    t: float
    title: str
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = "breadcrumb"


class Transcript:
    def __init__(self) -> None:
        self.entries: list[Message | ToolCallEntry | Breadcrumb] = []
        self.errors: list[dict[str, Any]] = []
        self._messages: dict[str, Message] = {}
        self._calls: dict[str, ToolCallEntry] = {}

    @classmethod
    def from_log(cls, entries) -> Transcript:
        transcript = cls()
        for entry in entries:
            transcript.apply(entry)
        return transcript

    # -- building ----------------------------------------------------------------------------

    def apply(self, entry: LoggedEvent) -> None:
        ev, kind = entry.event, entry.type
        handler = _HANDLERS.get((entry.direction, kind))
        if handler is not None:
            handler(self, entry, ev)

    def _message(self, item_id: str, role: str, entry: LoggedEvent) -> Message:
        msg = self._messages.get(item_id)
        if msg is None:
            msg = Message(item_id, role, entry.agent, entry.t)
            self._messages[item_id] = msg
            self.entries.append(msg)
        return msg

    def _client_item(self, entry, ev) -> None:
        item = ev.get("item") or {}
        if item.get("type") == "message" and item.get("role") == "user":
            msg = self._message(item.get("id") or f"local{len(self.entries)}", "user", entry)
            parts = item.get("content") or []
            msg.text = " ".join(p.get("text", "") for p in parts if p.get("type") == "input_text")
            msg.image = any(p.get("type") == "input_image" for p in parts)
            msg.status = "done"
        elif item.get("type") == "function_call_output":
            call = self._calls.get(item.get("call_id", ""))
            if call is not None:
                call.output = item.get("output")
                call.t_done = entry.t

    def _server_item(self, entry, ev) -> None:
        item = ev.get("item") or {}
        if item.get("type") != "message" or item.get("id") in self._messages:
            return
        if item.get("role") == "user" and any(
                p.get("type") == "input_audio" for p in item.get("content") or []):
            msg = self._message(item["id"], "user", entry)
            msg.text = item["content"][0].get("transcript") or ""

    def _output_item(self, entry, ev) -> None:
        item = ev.get("item") or {}
        if item.get("type") == "message":
            self._message(item["id"], "assistant", entry)

    def _delta(self, entry, ev) -> None:
        msg = self._messages.get(ev.get("item_id", ""))
        if msg is not None:
            msg.text += ev.get("delta", "")
            msg.marks.append((msg.audio_ms, len(msg.text)))

    def _audio(self, entry, ev) -> None:
        msg = self._messages.get(ev.get("item_id", ""))
        ref = ev.get("delta")
        if msg is not None and isinstance(ref, dict) and "$audio" in ref:
            msg.audio_ms += ref["$audio"][1] / 48

    def _text_done(self, entry, ev) -> None:
        msg = self._messages.get(ev.get("item_id", ""))
        if msg is not None and msg.interrupted_ms is None:
            msg.text = ev.get("transcript", ev.get("text", msg.text))

    def _item_done(self, entry, ev) -> None:
        item = ev.get("item") or {}
        msg = self._messages.get(item.get("id", ""))
        if msg is not None:
            msg.status = "done" if item.get("status") == "completed" else "interrupted"

    def _transcription(self, entry, ev) -> None:
        msg = self._messages.get(ev.get("item_id", ""))
        if msg is None:
            return
        if entry.type == events.TRANSCRIPTION_DELTA:
            msg.text += ev.get("delta", "")
        else:
            msg.text = ev.get("transcript", msg.text)
            msg.status = "done"

    def _truncated(self, entry, ev) -> None:
        """Keep only the words whose audio had started when playback stopped."""
        msg = self._messages.get(ev.get("item_id", ""))
        if msg is not None:
            cut = ev.get("audio_end_ms") or 0
            msg.interrupted_ms = cut
            msg.status = "interrupted"
            heard = [n for at, n in msg.marks if at < cut]
            msg.text = msg.text[:heard[-1]].rstrip() if heard else ""

    def _call(self, entry, ev) -> None:
        call_id = ev.get("call_id", "")
        call = ToolCallEntry(call_id, ev.get("name", ""), entry.agent, entry.t, ev.get("arguments", ""))
        self._calls[call_id] = call
        self.entries.append(call)

    def _error(self, entry, ev) -> None:
        self.errors.append({"t": entry.t, **(ev.get("error") or {})})

    def _local(self, entry, ev) -> None:
        kind = ev["type"]
        if kind == events.Handoff.TYPE:
            call = self._calls.get(ev.get("call_id", ""))
            if call is not None:
                call.handoff_to = ev["to"]
            self.entries.append(Breadcrumb(entry.t, f"Agent: {ev['to']}", dict(ev)))
        elif kind == events.Connected.TYPE:
            self.entries.append(Breadcrumb(entry.t, f"Agent: {ev['agent']}", dict(ev)))
        elif kind in events.SUPERVISOR_EVENTS:
            call = self._calls.get(ev.get("call_id", ""))
            if call is not None:
                call.supervisor.append({"t": entry.t, **ev})
        elif kind in events.APPROVAL_EVENTS:
            call = self._calls.get(ev.get("call_id", ""))
            if call is not None:
                call.approval = {events.ToolApprovalRequested.TYPE: "pending",
                                 events.ToolApproved.TYPE: "approved"}.get(kind, "rejected")
        elif kind == events.ToolGuardrailChecked.TYPE:
            call = self._calls.get(ev.get("call_id", ""))
            if call is not None:
                call.guardrails.append(ev["result"])
        elif kind == events.GuardrailChecked.TYPE:
            msg = self._messages.get(ev.get("item_id", ""))
            if msg is not None:
                msg.guardrails.append(ev["result"])

    # -- views -------------------------------------------------------------------------------

    def messages(self) -> list[dict[str, str]]:
        """Messages as ``{"role", "content"}``, oldest first (for a supervisor model)."""
        return [{"role": e.role, "content": e.text} for e in self.entries
                if isinstance(e, Message) and e.text]

    def last(self, role: str = "assistant") -> str:
        for e in reversed(self.entries):
            if isinstance(e, Message) and e.role == role:
                return e.text
        return ""

    @property
    def tool_calls(self) -> list[ToolCallEntry]:
        return [e for e in self.entries if isinstance(e, ToolCallEntry)]

    def lines(self) -> list[str]:
        out = []
        for e in self.entries:
            stamp = f"{e.t:7.2f}s"
            if isinstance(e, Message):
                flag = " [interrupted]" if e.status == "interrupted" else ""
                chips = "".join(f" [{g['guardrail']}: {g['category']}]" for g in e.guardrails
                                if g.get("tripped"))
                who = "user" if e.role == "user" else e.agent
                out.append(f"{stamp} {who}: {e.text}{flag}{chips}")
            elif isinstance(e, ToolCallEntry):
                res = "…" if e.output is None else e.output
                target = f" → {e.handoff_to}" if e.handoff_to else ""
                approval = f" [{e.approval}]" if e.approval else ""
                chips = "".join(f" [{g['guardrail']}: {g['category']}]" for g in e.guardrails
                                if g.get("tripped"))
                out.append(f"{stamp} ⚙ {e.name}({e.arguments}){target}{approval} = {res}{chips}")
            else:
                out.append(f"{stamp} — {e.title} —")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines()) or "(empty transcript)"

    def _repr_html_(self) -> str:
        rows = "".join(f"<div style='font-family:monospace'>{html.escape(line)}</div>"
                       for line in self.lines())
        return f"<div class='rtnb-transcript'>{rows or '(empty transcript)'}</div>"


_HANDLERS = {
    ("client", events.ITEM_CREATE): Transcript._client_item,
    ("server", events.ITEM_ADDED): Transcript._server_item,
    ("server", events.OUTPUT_ITEM_ADDED): Transcript._output_item,
    ("server", events.AUDIO_TRANSCRIPT_DELTA): Transcript._delta,
    ("server", events.AUDIO_DELTA): Transcript._audio,
    ("server", events.TEXT_DELTA): Transcript._delta,
    ("server", events.AUDIO_TRANSCRIPT_DONE): Transcript._text_done,
    ("server", events.TEXT_DONE): Transcript._text_done,
    ("server", events.OUTPUT_ITEM_DONE): Transcript._item_done,
    ("server", events.TRANSCRIPTION_DELTA): Transcript._transcription,
    ("server", events.TRANSCRIPTION_COMPLETED): Transcript._transcription,
    ("server", events.ITEM_TRUNCATED): Transcript._truncated,
    ("server", events.CALL_ARGUMENTS_DONE): Transcript._call,
    ("server", events.ERROR): Transcript._error,
    **{("local", k): Transcript._local for k in (
        events.Handoff.TYPE, events.Connected.TYPE, events.GuardrailChecked.TYPE,
        events.ToolGuardrailChecked.TYPE, *events.APPROVAL_EVENTS, *events.SUPERVISOR_EVENTS)},
}


def __getattr__(name: str) -> Any:
    if name == "ToolCall":  # renamed: the engine's brain has its own ToolCall
        import warnings

        warnings.warn("rtnb.session.transcript.ToolCall is now ToolCallEntry",
                      DeprecationWarning, stacklevel=2)
        return ToolCallEntry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
