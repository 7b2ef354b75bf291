"""The panel's rows: transcript entries and event-log rows as keyed HTML (pure).

A :class:`Row` has a stable key, so the browser updates a row in place (an
opened row stays open) and appends new ones (the scroll position holds).
Timestamps count from ``origin``, the session time of the first connect.
Streams that would flood the log (audio appends, audio and text deltas)
collapse into one counted row per user turn, response or item.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from .. import events as ev

#: Longest string shown inside an event's JSON (instructions, image data URLs).
MAX_STRING = 300
MAX_BODY = 6000
_ARROWS = {"client": "▲", "server": "▼"}


@dataclass(frozen=True)
class Row:
    key: str
    #: HTML of the row (of its summary line when it has a body).
    summary: str
    #: HTML shown when the row is opened; ``None`` for a row that does not open.
    body: str | None = None
    cls: str = ""
    t: float = 0.0

    def html(self) -> str:
        if self.body is None:
            return f"<div class='rtnb-row {self.cls}'>{self.summary}</div>"
        return (f"<details class='rtnb-row {self.cls}'><summary>{self.summary}</summary>"
                f"<div class='rtnb-body'>{self.body}</div></details>")

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "summary": self.summary, "body": self.body, "cls": self.cls}


def stamp(t: float, origin: float | None, digits: int = 1) -> str:
    return f"<span class='rtnb-t'>{t - (origin or 0.0):.{digits}f}s</span>"


# -- transcript ---------------------------------------------------------------------------------


def transcript_rows(entries: list[Any], origin: float | None) -> list[Row]:
    """One row per transcript entry; user turns with no words yet get none."""
    rows = []
    for i, e in enumerate(entries):
        at = stamp(e.t, origin)
        if e.kind == "message":
            if e.role == "user" and not e.text and not e.image:
                continue  # still being transcribed, or nothing was heard
            rows.append(Row(f"m:{e.item_id}", _message(e, at), cls=e.role, t=e.t))
        elif e.kind == "tool":
            target = f" → {html.escape(e.handoff_to)}" if e.handoff_to else ""
            result = "…" if e.output is None else e.output
            sup = "".join(f"<div>↳ {html.escape(x['type'].split('.')[-1])}: " + html.escape(
                json.dumps({k: v for k, v in x.items() if k not in ('t', 'type', 'call_id')}))
                + "</div>" for x in e.supervisor)
            rows.append(Row(f"c:{e.call_id}",
                            f"{at} ⚙ {html.escape(e.name)}{target}{_call_state(e)}",
                            f"<div>args: {html.escape(e.arguments)}</div>"
                            f"<div>result: {html.escape(str(result))}</div>{sup}",
                            cls="tool", t=e.t))
        else:
            rows.append(Row(f"b:{i}", f"{at} — {html.escape(e.title)} —", cls="crumb", t=e.t))
    return rows


def _call_state(e: Any) -> str:
    """A call's approval (buttons while it waits) and its output guardrails' trips."""
    out = ""
    if e.approval == "pending":
        call = html.escape(e.call_id, quote=True)
        out = (f" <span class='rtnb-approval'>waits for your approval "
               f"<button class='rtnb-approve' data-rtnb-action='approve' "
               f"data-rtnb-call='{call}'>Approve</button> "
               f"<button class='rtnb-reject' data-rtnb-action='reject' "
               f"data-rtnb-call='{call}'>Reject</button></span>")
    elif e.approval:
        out = f" <span class='chip rtnb-{e.approval}'>{e.approval}</span>"
    return out + "".join(
        f" <span class='chip'>{html.escape(g['guardrail'])}: "
        f"{html.escape(g.get('category', ''))}</span>" for g in e.guardrails if g.get("tripped"))


def _message(e: Any, at: str) -> str:
    who = "you" if e.role == "user" else e.agent
    chips = "".join(
        f"<span class='chip' title='{html.escape(g.get('rationale', ''), quote=True)}'>"
        f"{html.escape(g['guardrail'])}: {html.escape(g.get('category', ''))}</span>"
        for g in e.guardrails if g.get("tripped"))
    cut = " <i>(interrupted)</i>" if e.status == "interrupted" else ""
    image = " 🖼" if e.image else ""
    return f"{at} <b>{html.escape(who)}</b>: {html.escape(e.text)}{image}{cut}{chips}"


def failure_row(n: int, t: float, message: str, origin: float | None) -> Row:
    return Row(f"f:{n}", f"{stamp(t, origin)} ⚠ {html.escape(message)}", cls="err", t=t)


# -- event log ----------------------------------------------------------------------------------

_TEXT_STREAMS = ev.TEXT_DELTAS | {ev.TRANSCRIPTION_DELTA, ev.CALL_ARGUMENTS_DELTA}
#: Events after which audio appends belong to the next user turn.
_TURN_ENDS = ({("client", ev.INPUT_AUDIO_COMMIT), ("client", ev.INPUT_AUDIO_CLEAR)}
              | {("server", kind) for kind in ev.BUFFER_ENDS})


@dataclass
class _Group:
    """A run of streamed events shown as one row."""

    first: Any
    count: int = 0
    last_t: float = 0.0
    audio_bytes: int = 0
    text: str = ""


@dataclass
class LogRows:
    """Log entries in, event-log rows out: call :meth:`add` per entry, :meth:`take` per frame."""

    origin: float | None = None
    _n: int = 0
    _turn: int = 0
    _groups: dict[str, _Group] = field(default_factory=dict)
    _changed: dict[str, Any] = field(default_factory=dict)

    def add(self, entry: Any) -> None:
        key = self._group_key(entry)
        if key is None:
            self._n += 1
            self._changed[f"e{self._n}"] = entry
        else:
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(entry)
            group.count += 1
            group.last_t = entry.t
            group.audio_bytes += sum(_audio_bytes(v) for v in entry.event.values())
            delta = entry.event.get("delta")
            if isinstance(delta, str):
                group.text += delta
            self._changed[key] = group
        if (entry.direction, entry.type) in _TURN_ENDS:
            self._turn += 1

    def take(self) -> list[Row]:
        """The rows that are new or changed since the last call, in log order."""
        changed, self._changed = self._changed, {}
        return [self._group_row(key, item) if isinstance(item, _Group)
                else event_row(key, item, self.origin) for key, item in changed.items()]

    def _group_key(self, entry: Any) -> str | None:
        kind, event = entry.type, entry.event
        if kind == ev.INPUT_AUDIO_APPEND:
            return f"{kind}:{self._turn}"
        if kind == ev.AUDIO_DELTA:
            return f"{kind}:{event.get('response_id')}"
        if kind in _TEXT_STREAMS:
            return f"{kind}:{event.get('item_id') or event.get('call_id')}"
        return None

    def _group_row(self, key: str, g: _Group) -> Row:
        """The counted row of a stream. For audio, only the summary changes as it grows."""
        e = g.first
        until = f"until {_secs(g.last_t, self.origin)}"
        if g.audio_bytes:
            what = (f"{_duration(g.audio_bytes / 48)} of audio ({g.audio_bytes:,} bytes, "
                    f"24 kHz 16-bit) {until}")
            body = f"<div>The first of these events:</div>{_json(e.event)}"
        else:
            what = f"{html.escape(_clip(json.dumps(g.text, ensure_ascii=False), 70))} {until}"
            body = (f"<div>Text so far: {html.escape(g.text)}</div>"
                    f"<div>The first of these events:</div>{_json(e.event)}")
        summary = (f"{stamp(e.t, self.origin, 3)} {_ARROWS.get(e.direction, '•')} "
                   f"{html.escape(e.type)} <span class='rtnb-count'>×{g.count}</span> "
                   f"<span class='rtnb-hint'>{what}</span>")
        return Row(key, summary, body, cls="stream", t=e.t)


def event_row(key: str, entry: Any, origin: float | None) -> Row:
    """One logged event: time, direction, type and a hint; opens to its JSON."""
    hint, failed = _hint(entry)
    summary = (f"{stamp(entry.t, origin, 3)} {_ARROWS.get(entry.direction, '•')} "
               f"{html.escape(entry.type)}"
               + (f" <span class='rtnb-hint'>{html.escape(hint)}</span>" if hint else ""))
    return Row(key, summary, _json(entry.event), cls="err" if failed else entry.direction,
               t=entry.t)


def _hint(entry: Any) -> tuple[str, bool]:
    """A few words about the event for its summary line, and whether it is a failure."""
    kind, event = entry.type, entry.event
    if kind == ev.ERROR or kind.endswith(".failed"):
        error = event.get("error") or {}
        return str(error.get("message") or error.get("code") or ""), True
    if kind == ev.RESPONSE_DONE:
        response = event.get("response") or {}
        status = str(response.get("status", ""))
        error = ((response.get("status_details") or {}).get("error") or {}).get("message")
        return (f"{status}: {error}" if error else status), status == "failed"
    if kind in (ev.ITEM_CREATE, ev.ITEM_ADDED, ev.OUTPUT_ITEM_DONE):
        item = event.get("item") or {}
        if item.get("type") == "function_call_output":
            return _clip(f"output {item.get('output', '')}", 80), False
        if item.get("type") == "function_call":
            return _clip(f"{item.get('name')}({item.get('arguments', '')})", 80), False
        parts = item.get("content") or []
        words = " ".join(str(p.get("text") or p.get("transcript") or "") for p in parts)
        return _clip(f"{item.get('role', '')}: {words}".strip(": "), 80), False
    if kind in (ev.TRANSCRIPTION_COMPLETED, ev.AUDIO_TRANSCRIPT_DONE):
        return _clip(json.dumps(event.get("transcript", ""), ensure_ascii=False), 80), False
    if kind == ev.CALL_ARGUMENTS_DONE:
        return _clip(f"{event.get('name')}({event.get('arguments', '')})", 80), False
    if kind in (ev.Handoff.TYPE, ev.Connected.TYPE):
        start = event.get("from")
        return (f"{start} → {event.get('to')}" if start else str(event.get("agent") or "")), False
    if kind in ev.APPROVAL_EVENTS or kind == ev.ToolGuardrailChecked.TYPE:
        what = kind.rsplit(".", 1)[-1].replace("_", " ")
        return f"{event.get('name')} {what}", False
    if kind == ev.PlaybackFlushed.TYPE:
        played = event.get("played_ms")
        return f"{event.get('reason')}" + (f", {played:.0f} ms played" if played else ""), False
    if kind == ev.Disconnected.TYPE:
        return str(event.get("reason") or ""), False
    return "", False


def _audio_bytes(value: Any) -> int:
    """The length of an event log audio reference (``{"$audio": [start, length]}``), or 0."""
    ref = value.get("$audio") if isinstance(value, dict) and len(value) == 1 else None
    return ref[1] if isinstance(ref, list) and len(ref) == 2 else 0


def readable(value: Any) -> Any:
    """``value`` with audio references and long strings replaced by short descriptions."""
    if isinstance(value, dict):
        length = _audio_bytes(value)
        if length:
            return f"‹{_duration(length / 48)} of audio, {length:,} bytes›"
        return {k: readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_STRING:
        return f"{value[:MAX_STRING]}… ‹{len(value):,} characters›"
    return value


def _json(event: dict[str, Any]) -> str:
    text = json.dumps(readable(event), indent=1, ensure_ascii=False)
    return f"<pre>{html.escape(_clip(text, MAX_BODY))}</pre>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _secs(t: float, origin: float | None) -> str:
    return f"{t - (origin or 0.0):.3f}s"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"
