"""Per-turn latency in milliseconds, from the turns' timelines (see REFERENCE-metrics).

- ``e2e``: the turn's anchor (the user's end of speech; typed input: the send) → first
  output audio.
- ``end_of_turn_delay``: end of speech → ``speech_stopped``.
- ``transcription_delay``: ``committed`` → transcription completed.
- ``ttfb``: the turn's first ``response.created`` → its first audio delta.
- ``tool_time``: the sum of the turn's tool spans (each call: arguments done, or the
  user's approval, → output sent).
- ``approval_wait``: the sum of the time tool calls waited for the user's approval.
- ``supervisor_time``: the sum of its supervisor spans (request → answer).
- ``handoff_time``: its first handoff span (transfer call done → the new agent's audio).
- ``barge_in``: the user's speech onset → playback flushed or the response cancelled.
- ``filler_gap``: the filler's end → the answer's first audio, 0 if the answer came first.
- ``stall``: the sum of the turn's stalls: its replies' playback ran dry while the next
  audio was still being made (None: it never did).

:mod:`rtnb.analysis.timeline` defines the marks and spans these are measured between.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .timeline import (
    APPROVAL,
    BARGE_IN,
    FILLER_GAP,
    HANDOFF,
    STALL,
    SUPERVISOR,
    TOOL,
    TurnTimeline,
    ms_between,
    timelines,
)

if TYPE_CHECKING:
    from ..session.eventlog import LoggedEvent

METRICS = ("e2e", "end_of_turn_delay", "transcription_delay", "ttfb", "tool_time",
           "approval_wait", "supervisor_time", "handoff_time", "barge_in", "filler_gap",
           "stall")


@dataclass
class Turn:
    """One user turn's figures (ms; None where the turn has no such thing)."""

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
    approval_wait: float | None = None
    supervisor_time: float | None = None
    handoff_time: float | None = None
    barge_in: float | None = None
    filler_gap: float | None = None
    stall: float | None = None
    tools: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def turn_metrics(tl: TurnTimeline) -> Turn:
    """The figures of one turn's timeline."""
    m = tl.marks
    turn = Turn(tl.index, tl.kind, tl.agent, tl.t, tl.user_text,
                e2e=ms_between(tl.anchor, m.get("first_audio")),
                end_of_turn_delay=ms_between(tl.anchor, m.get("end_of_turn")),
                transcription_delay=ms_between(m.get("committed"), m.get("transcribed")),
                ttfb=ms_between(m.get("created"), m.get("first_audio")))
    turn.tools = [(s.label, s.ms) for s in tl.spans_of(TOOL)]
    if turn.tools:
        turn.tool_time = round(sum(ms for _, ms in turn.tools), 3)
    if approvals := tl.spans_of(APPROVAL):
        turn.approval_wait = round(sum(s.ms for s in approvals), 3)
    if supervisor := tl.spans_of(SUPERVISOR):
        turn.supervisor_time = round(sum(s.ms for s in supervisor), 3)
    if handoff := tl.span(HANDOFF):
        turn.handoff_time = handoff.ms
    if barge_in := tl.span(BARGE_IN):
        turn.barge_in = barge_in.ms
    if filler := tl.span(FILLER_GAP):
        turn.filler_gap = max(0.0, filler.ms)
    if stalls := tl.spans_of(STALL):
        turn.stall = round(sum(s.ms for s in stalls), 3)
    return turn


def compute_turns(entries: Sequence[LoggedEvent]) -> list[Turn]:
    """Every user turn's figures, from an event log's entries."""
    return [turn_metrics(tl) for tl in timelines(entries)]


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
                          "p95": round(percentile(vals, 95), 1), "max": round(vals[-1], 1)}
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
        # tex2jax_ignore/mathjax_ignore: "$5 … $10" in a user's words stays text, not LaTeX.
        # The table scrolls inside the cell; words stay on one line, metric names break
        # at their underscores.
        nowrap = "white-space:nowrap"
        user = f"{nowrap};max-width:24em;overflow:hidden;text-overflow:ellipsis"
        head = "".join(f"<th>{c}</th>" for c in ("turn", "kind", "agent", "user"))
        head += "".join(f"<th style='text-align:right'>{m.replace('_', '_<wbr>')}</th>"
                        for m in METRICS)
        body = ""
        for t in self.turns:
            text = html.escape(t.user_text)
            cells = [f"<td>{t.index}</td>", f"<td style='{nowrap}'>{t.kind}</td>",
                     f"<td style='{nowrap}'>{html.escape(t.agent)}</td>",
                     f"<td class='rtnb-user' style='{user}' title=\"{text}\">{text}</td>"]
            cells += [f"<td style='text-align:right;{nowrap}'>{_fmt(getattr(t, m))}</td>"
                      for m in METRICS]
            body += "<tr>" + "".join(cells) + "</tr>"
        return ('<div class="rtnb-metrics tex2jax_ignore mathjax_ignore" '
                'style="max-width:100%;overflow-x:auto">'
                "<table><caption style='text-align:left'>per-turn latency (ms)</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}"


def percentile(sorted_vals: list[float], p: float) -> float:
    """The ``p``-th percentile of sorted values, interpolated linearly."""
    if len(sorted_vals) == 1:
        return sorted_vals[0]
    k = (len(sorted_vals) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)
