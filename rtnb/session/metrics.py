"""Per-turn latency, derived from the event log alone (see REFERENCE-metrics).

A turn starts at a user input: a typed or image message sent by the client, or
a user audio item committed by the server. All figures are milliseconds.

- ``e2e``: the user's actual end of speech (``speech_stopped.audio_end_ms`` mapped
  to time through the appends; for typed input, the send) → first output audio.
- ``end_of_turn_delay``: end of speech → ``speech_stopped``.
- ``transcription_delay``: ``committed`` → transcription completed.
- ``ttfb``: the turn's first ``response.created`` → its first audio delta.
- ``tool_time``: each call's ``function_call_arguments.done`` → its output sent.
- ``supervisor_time``: supervisor request → answer.
- ``handoff_time``: transfer call done → first audio of the new agent.
- ``barge_in``: the user's speech onset (``audio_start_ms`` + prefix padding) →
  playback flushed or the response cancelled, whichever came first.
- ``filler_gap``: end of the filler's audio (assumed played in real time from its
  first chunk) → first audio of the supervisor's answer.
"""

from __future__ import annotations

import bisect
import html
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import events as ev
from .eventlog import LoggedEvent

#: Deprecated alias of :data:`rtnb.events.CORRECTION_ID_PREFIX`.
CORRECTIVE_PREFIX = ev.CORRECTION_ID_PREFIX

METRICS = ("e2e", "end_of_turn_delay", "transcription_delay", "ttfb", "tool_time",
           "supervisor_time", "handoff_time", "barge_in", "filler_gap")


@dataclass
class Turn:
    index: int
    kind: str
    agent: str
    t: float
    user_text: str = ""
    e2e: float | None = None
    end_of_turn_delay: float | None = None
    transcription_delay: float | None = None
    ttfb: float | None = None
    tool_time: float | None = None
    supervisor_time: float | None = None
    handoff_time: float | None = None
    barge_in: float | None = None
    filler_gap: float | None = None
    tools: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AudioClock:
    """Maps input audio milliseconds to session time, through the logged appends."""

    def __init__(self, entries: Iterable[LoggedEvent]) -> None:
        self._ms: list[float] = []
        self._t: list[float] = []
        for e in entries:
            if e.direction == "client" and e.type == ev.INPUT_AUDIO_APPEND:
                self._ms.append(e.input_ms)
                self._t.append(e.t)

    def time_of(self, ms: float) -> float | None:
        i = bisect.bisect_left(self._ms, ms)
        if i == len(self._ms):
            return None
        t = self._t[i] - (self._ms[i] - ms) / 1000
        return max(t, self._t[i - 1]) if i > 0 else t


def compute_turns(entries: list[LoggedEvent]) -> list[Turn]:
    clock = AudioClock(entries)
    starts = [i for i, e in enumerate(entries) if is_turn_start(e)]
    turns = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(entries)
        turns.append(_turn(n, entries, start, end, clock))
    return turns


def is_turn_start(e: LoggedEvent) -> bool:
    """True for the entry that starts a user turn (see the module docstring)."""
    if e.direction == "server" and e.type == ev.COMMITTED:
        return True
    if e.direction == "client" and e.type == ev.ITEM_CREATE:
        item = e.event.get("item") or {}
        return (item.get("type") == "message" and item.get("role") == "user"
                and not ev.is_correction(item))
    return False


def input_anchor(entries: list[LoggedEvent], start: int, clock: AudioClock
                 ) -> tuple[float | None, LoggedEvent | None]:
    """When the user's input ended, for the turn starting at ``entries[start]``.

    Voice: the end of speech (``speech_stopped.audio_end_ms`` through the appends),
    with the ``speech_stopped`` entry; push-to-talk: the commit; typed: the send.
    """
    head = entries[start]
    if head.direction != "server":
        return head.t, None
    item_id = head.event.get("item_id")
    stopped = next((e for e in reversed(entries[:start]) if e.direction == "server"
                    and e.type == ev.SPEECH_STOPPED
                    and e.event.get("item_id") == item_id), None)
    if stopped is not None:
        return clock.time_of(stopped.event["audio_end_ms"]), stopped
    commit = next((e for e in reversed(entries[:start]) if e.direction == "client"
                   and e.type == ev.INPUT_AUDIO_COMMIT), head)
    return commit.t, None  # push-to-talk: the user let go of the button


def _settings(entries: list[LoggedEvent], upto: int) -> dict[str, Any]:
    """The turn detection in force at entry ``upto`` (from the last session.updated)."""
    td: dict[str, Any] = {"silence_duration_ms": 500, "prefix_padding_ms": 300}
    for e in entries[:upto]:
        if e.direction == "server" and e.type in (ev.SESSION_CREATED, ev.SESSION_UPDATED):
            got = (((e.event.get("session") or {}).get("audio") or {}).get("input") or {}).get(
                "turn_detection")
            td = got or {"silence_duration_ms": 0, "prefix_padding_ms": 0}
    return td


def _ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round((b - a) * 1000, 3)


def _turn(n: int, entries: list[LoggedEvent], start: int, end: int,
          clock: AudioClock) -> Turn:
    head = entries[start]
    window = entries[start:end]
    td = _settings(entries, start)
    t_input, stopped = input_anchor(entries, start, clock)
    if head.direction == "server":
        kind = "voice"
        item_id = head.event.get("item_id")
        eot = _ms(t_input, stopped.t) if stopped is not None else None
        done = next((e for e in window if e.type == ev.TRANSCRIPTION_COMPLETED
                     and e.event.get("item_id") == item_id), None)
        user_text = done.event.get("transcript", "") if done else ""
        transcription = _ms(head.t, done.t) if done else None
    else:
        item = head.event["item"]
        parts = item.get("content") or []
        kind = "image" if any(p.get("type") == "input_image" for p in parts) else "text"
        eot, transcription = None, None
        user_text = " ".join(p.get("text", "") for p in parts if p.get("type") == "input_text")
    turn = Turn(n, kind, head.agent, head.t, user_text, end_of_turn_delay=eot,
                transcription_delay=transcription)
    audio = [e for e in window if e.direction == "server"
             and e.type == ev.AUDIO_DELTA]
    created = next((e for e in window if e.type == ev.RESPONSE_CREATED), None)
    if audio:
        turn.e2e = _ms(t_input, audio[0].t)
        turn.ttfb = _ms(created.t if created else None, audio[0].t)
    _tools(turn, window)
    _handoff(turn, window, audio)
    _barge_in(turn, window, clock, td)
    _filler(turn, window, entries)
    return turn


def _tools(turn: Turn, window: list[LoggedEvent]) -> None:
    outputs = {(e.event.get("item") or {}).get("call_id"): e for e in window
               if e.direction == "client" and e.type == ev.ITEM_CREATE
               and (e.event.get("item") or {}).get("type") == "function_call_output"}
    for e in window:
        if e.type == ev.CALL_ARGUMENTS_DONE:
            out = outputs.get(e.event.get("call_id"))
            if out is not None and not ev.is_handoff(e.event.get("name")):
                turn.tools.append((e.event.get("name", ""), _ms(e.t, out.t) or 0.0))
    if turn.tools:
        turn.tool_time = round(sum(ms for _, ms in turn.tools), 3)
    requests = {e.event.get("call_id"): e for e in window if e.type == ev.SupervisorRequest.TYPE}
    spans = [_ms(requests[e.event.get("call_id")].t, e.t) for e in window
             if e.type == ev.SupervisorResponse.TYPE and e.event.get("call_id") in requests]
    if spans:
        turn.supervisor_time = round(sum(s for s in spans if s is not None), 3)


def _handoff(turn: Turn, window: list[LoggedEvent], audio: list[LoggedEvent]) -> None:
    call = next((e for e in window if e.type == ev.CALL_ARGUMENTS_DONE
                 and ev.is_handoff(e.event.get("name"))), None)
    if call is None:
        return
    after = next((e for e in audio if e.t >= call.t), None)
    turn.handoff_time = _ms(call.t, after.t) if after else None


def _barge_in(turn: Turn, window: list[LoggedEvent], clock: AudioClock,
              td: dict[str, Any]) -> None:
    first_audio = next((i for i, e in enumerate(window)
                        if e.type == ev.AUDIO_DELTA), None)
    if first_audio is None:
        return
    for i in range(first_audio, len(window)):
        e = window[i]
        if e.direction == "server" and e.type == ev.SPEECH_STARTED:
            pad = td.get("prefix_padding_ms") or 0
            if e.event["audio_start_ms"] == 0 and pad:
                return  # the padded start was clipped at 0: the true onset is unknown
            onset = clock.time_of(e.event["audio_start_ms"] + pad)
            stop = next((x for x in window[i:] if (
                x.type == ev.PlaybackFlushed.TYPE and x.event.get("item_id")) or (
                x.type == ev.RESPONSE_DONE
                and (x.event.get("response") or {}).get("status") == "cancelled")), None)
            if onset is not None and stop is not None:
                turn.barge_in = _ms(min(onset, e.t), stop.t)
            return


def _filler(turn: Turn, window: list[LoggedEvent], entries: list[LoggedEvent]) -> None:
    request = next((e for e in window if e.type == ev.SupervisorRequest.TYPE), None)
    if request is None:
        return
    before = [e for e in window if e.type == ev.AUDIO_DELTA and e.t <= request.t]
    if not before:
        return
    item_id = before[-1].event.get("item_id")
    filler = [e for e in window if e.type == ev.AUDIO_DELTA
              and e.event.get("item_id") == item_id]
    filler_ms = sum(e.event["delta"]["$audio"][1] for e in filler
                    if isinstance(e.event.get("delta"), dict)) / 48
    filler_end = filler[0].t + filler_ms / 1000
    answer = next((e for e in window if e.type == ev.AUDIO_DELTA
                   and e.t > request.t and e.event.get("item_id") != item_id), None)
    if answer is not None:
        turn.filler_gap = max(0.0, _ms(filler_end, answer.t) or 0.0)


class MetricsTable:
    """Per-turn metrics with a summary; renders as an HTML table in notebooks."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns

    def __len__(self) -> int:
        return len(self.turns)

    def __getitem__(self, index: int) -> Turn:
        return self.turns[index]

    def rows(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in t.as_dict().items() if k != "tools"} for t in self.turns]

    def values(self, metric: str) -> list[float]:
        return [getattr(t, metric) for t in self.turns if getattr(t, metric) is not None]

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for m in METRICS:
            vals = sorted(self.values(m))
            if vals:
                out[m] = {"n": len(vals), "p50": round(statistics.median(vals), 1),
                          "p95": round(_percentile(vals, 95), 1), "max": round(vals[-1], 1)}
        return out

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.rows()).set_index("index")

    def __repr__(self) -> str:
        head = f"{'turn':>4} {'kind':6} {'agent':12} " + " ".join(f"{m[:10]:>10}" for m in METRICS)
        lines = [head]
        for t in self.turns:
            cells = " ".join(f"{_fmt(getattr(t, m)):>10}" for m in METRICS)
            lines.append(f"{t.index:>4} {t.kind:6} {t.agent[:12]:12} {cells}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cols = ["turn", "kind", "agent", "user", *METRICS]
        head = "".join(f"<th>{c}</th>" for c in cols)
        body = ""
        for t in self.turns:
            cells = [str(t.index), t.kind, html.escape(t.agent), html.escape(t.user_text[:40])]
            cells += [_fmt(getattr(t, m)) for m in METRICS]
            body += "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        return (f"<table class='rtnb-metrics'><caption>per-turn latency (ms)</caption>"
                f"<tr>{head}</tr>{body}</table>")


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}"


def _percentile(sorted_vals: list[float], p: float) -> float:
    if len(sorted_vals) == 1:
        return sorted_vals[0]
    k = (len(sorted_vals) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)
