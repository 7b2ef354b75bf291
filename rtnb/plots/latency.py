"""Latency figures: the per-turn waterfall and the distribution across turns."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import METRICS, TurnTimes, turn_times
from ..analysis import metrics_of as _table
from .figure import (
    COLORS,
    SMALL,
    TITLE,
    Labels,
    Plot,
    figure_legend,
    keep_off,
    message,
    need_matplotlib,
    new_figure,
    short,
    style,
    tuple_handler,
)

#: The seed's targets (ms): response (e2e), interruption (barge-in), handoff.
TARGETS = {"e2e": 1000.0, "barge_in": 300.0, "handoff_time": 2000.0}
METRIC_LABELS = {
    "e2e": "e2e (voice to voice)", "end_of_turn_delay": "end of turn",
    "transcription_delay": "transcription", "ttfb": "TTFB (created → audio)",
    "tool_time": "tool calls", "approval_wait": "approval wait", "supervisor_time": "supervisor", "handoff_time": "handoff",
    "barge_in": "barge-in", "filler_gap": "filler gap", "stall": "playback stall",
}
#: Span kinds, as their notes name them.
_CALLS = {"approval": "approval", "tool": "tool", "supervisor": "supervisor", "handoff": "handoff",
          "filler_gap": "filler gap"}


def _targets(targets: bool | dict[str, float]) -> dict[str, float]:
    if targets is True:
        return dict(TARGETS)
    return dict(targets) if targets else {}


def _row_label(times: TurnTimes) -> str:
    turn = times.turn
    said = f"“{short(turn.user_text, 24)}”" if turn.user_text else "(no transcript)"
    return f"{turn.index} · {turn.kind} · {short(turn.agent, 14)}\n{said}"


def plot_latency(source: Any, *, ax: Any = None, targets: bool | dict[str, float] = True
                 ) -> Plot:
    """Per-turn latency waterfall; returns a :class:`~rtnb.plots.Plot` (shows itself).

    One row per turn; x is ms from the user's end of speech (typed input: when sent).
    Bars: the end-of-turn wait (speech end → ``speech_stopped``), transcription, and
    response created → first audio; ◆ first audio (e2e, with its value). Tool calls,
    supervisor calls, handoffs and the filler gap are thin bars named under the row.
    A side panel shows barge-in (✕) and handoff (◆) durations. ``targets``: draw the
    seed's targets (:data:`TARGETS`), or a dict of ``{metric: ms}`` for ``e2e``,
    ``barge_in`` and ``handoff_time``. ``ax``: draw into these axes instead.
    ``source``: a Session, a Recording, a MetricsTable or an event log.
    """
    rows = turn_times(source)
    tg = _targets(targets)
    if not rows:
        return Plot(message("No turns yet: nothing to plot.\n"
                            "Speak or call say(), then plot again.", ax))
    own = ax is None
    if own:
        fig = new_figure(1.55 + 0.56 * len(rows))
        ax, side = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3.4, 1]})
    else:
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        fig = ax.figure
        side = make_axes_locatable(ax).append_axes("right", size="28%", pad=0.15, sharey=ax)
    labels = _waterfall(ax, rows, tg, Labels())
    _side_panel(side, rows, tg)
    approx = " (approximate: placed from durations)" if rows[0].approximate else ""
    title = f"Latency per turn{approx}"
    if own:  # the title above the target labels, one legend under everything
        fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE)
        figure_legend(fig, [ax], ncol=3, extra=_calls_legend(rows))
    else:
        ax.set_title(title, loc="left", fontsize=TITLE, pad=16)
        handles, names = ax.get_legend_handles_labels()
        extra = _calls_legend(rows)
        ax.legend(handles + [h for h, _ in extra], names + [n for _, n in extra],
                  loc="lower right", fontsize=SMALL, handler_map=tuple_handler())
    if "e2e" in tg:
        fig.draw_without_rendering()  # lay out, then keep the labels off the 1 s line
        keep_off(ax, labels, tg["e2e"])
    return Plot(fig)


def _calls_legend(rows: list[TurnTimes]) -> list[tuple[Any, str]]:
    """One legend entry for every kind of call drawn (each named under its row)."""
    from matplotlib.patches import Patch

    kinds = [k for k in _CALLS if any(s[0] == k for r in rows for s in r.spans)]
    if not kinds:
        return []
    swatches = tuple(Patch(color=COLORS[k], hatch="//" if k == "filler_gap" else None)
                     for k in kinds)
    return [(swatches, " / ".join(_CALLS[k] for k in kinds) + " calls")]


def _waterfall(ax: Any, rows: list[TurnTimes], tg: dict[str, float], label: Labels
               ) -> list[tuple[Any, float, float]]:
    """Draw the rows; returns the movable labels as :func:`keep_off` takes them."""
    xs = [0.0, *([tg["e2e"]] if "e2e" in tg else [])]
    for row in rows:
        xs += list(row.marks.values()) + [x for s in row.spans for x in s[2:]]
    lo, hi = min(xs), max(xs)
    pad = 0.04 * (hi - lo or 1000)
    ax.set_xlim(lo - pad, hi + 6 * pad)  # room for the last value
    movable = []
    for y, row in enumerate(rows):
        m = row.marks
        ax.plot([0, max([0.0, *m.values()])], [y, y], color="#ced4da", lw=1, zorder=1)
        if "end_of_turn" in m:
            ax.barh(y, m["end_of_turn"], left=0, height=0.34, color=COLORS["eot"], alpha=0.6,
                    label=label("waiting for end of turn"), zorder=2)
        if "committed" in m and "transcribed" in m:
            ax.barh(y - 0.27, m["transcribed"] - m["committed"], left=m["committed"],
                    height=0.14, color=COLORS["transcription"],
                    label=label("transcription"), zorder=2)
        if "created" in m and "first_audio" in m:
            ax.barh(y, m["first_audio"] - m["created"], left=m["created"], height=0.34,
                    color=COLORS["ttfb"], label=label("response created → first audio"),
                    zorder=2)
        if row.spans:
            movable.append(_calls(ax, y, row))
        if "first_audio" in m:
            e2e = m["first_audio"]
            late = "e2e" in tg and e2e > tg["e2e"]
            ax.plot(e2e, y, "D", color=COLORS["audio"], ms=7,
                    label=label("first audio (e2e)"), zorder=5, gid="e2e")
            text = ax.text(e2e, y - 0.08, f" {e2e:.0f} ms ", va="bottom", fontsize=SMALL,
                           zorder=6, color=COLORS["target"] if late else COLORS["audio"],
                           fontweight="bold", clip_on=True, gid="e2e_label")
            dx = 0.012 * np.diff(ax.get_xlim())[0]
            movable.append((text, e2e + dx, e2e - dx))
        else:
            ax.text(max([0.0, *m.values()]), y, "  no response yet" if "created" not in m
                    else "  no audio", va="center", fontsize=SMALL, color=COLORS["muted"])
    ax.axvline(0, color="black", lw=1.2, zorder=1)
    if "e2e" in tg:
        _target_line(ax, tg["e2e"], f"{_short_target(tg['e2e'])} target", "--")
    ax.set_yticks(range(len(rows)), [_row_label(r) for r in rows])
    ax.set_ylim(len(rows) - 0.38, -0.55)  # room for the last row's note
    ax.set_xlabel("ms after the user stopped speaking (typed: after sending)")
    ax.grid(axis="x", alpha=0.3)
    style(ax)
    return movable


def _calls(ax: Any, y: int, row: TurnTimes) -> tuple[Any, float, float]:
    """A row's tool/supervisor/handoff/filler spans, and the note that names them."""
    notes = []
    tools = [(a, b) for kind, _, a, b in row.spans if kind == "tool"]
    for kind, name, a, b in row.spans:
        ax.barh(y + 0.24, b - a, left=a, height=0.08 if kind == "supervisor" else 0.16,
                color=COLORS[kind], zorder=3, hatch="//" if kind == "filler_gap" else None,
                gid=kind)
        if kind == "supervisor" and any(ta <= a and b <= tb for ta, tb in tools):
            continue  # inside its tool call, which the note names
        notes.append({"tool": f"{short(name, 18)} {b - a:.0f} ms",
                      "supervisor": f"supervisor {b - a:.0f} ms",
                      "handoff": f"→ {short(name, 16)} {b - a:.0f} ms",
                      "filler_gap": f"filler gap {b - a:.0f} ms"}[kind])
    first, last = min(s[2] for s in row.spans), max(s[3] for s in row.spans)
    text = ax.text(first, y + 0.33, " · ".join(notes), va="top", ha="left", fontsize=SMALL,
                   color=COLORS["note"], clip_on=True, zorder=4, gid="calls_note")
    return text, first, last


def _target_line(ax: Any, x: float, text: str, ls: str) -> None:
    """A dashed target line, named at its top (above the axes)."""
    from matplotlib.transforms import blended_transform_factory

    ax.axvline(x, color=COLORS["target"], ls=ls, lw=1.2, zorder=1, gid="target")
    ax.text(x, 1.0, text, transform=blended_transform_factory(ax.transData, ax.transAxes),
            ha="center", va="bottom", fontsize=SMALL, color=COLORS["target"],
            gid="target_label")


def _side_panel(ax: Any, rows: list[TurnTimes], tg: dict[str, float]) -> None:
    from matplotlib.ticker import MaxNLocator

    xs = [v for k in ("barge_in", "handoff_time") if k in tg for v in [tg[k]]]
    shown = [(y, metric, v) for y, row in enumerate(rows)
             for metric in ("barge_in", "handoff_time")
             if (v := getattr(row.turn, metric)) is not None]
    xs += [v for _, _, v in shown]
    ax.set_xlim(0, max([1000.0, *xs]) * 1.2)
    mid = sum(ax.get_xlim()) / 2
    for y, metric, v in shown:
        marker, color, dy = {"barge_in": ("X", COLORS["barge_in"], -0.15),
                             "handoff_time": ("D", COLORS["handoff"], 0.15)}[metric]
        late = metric in tg and v > tg[metric]
        ax.plot(v, y + dy, marker, color=color, ms=7, zorder=3, gid=metric)
        right = v < mid
        ax.annotate(f"{v:.0f} ms", (v, y + dy), xytext=(7 if right else -7, 0),
                    textcoords="offset points", va="center", ha="left" if right else "right",
                    fontsize=SMALL, color=COLORS["target"] if late else color, zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5,
                          "alpha": 0.8})
    for metric, ls in (("barge_in", "--"), ("handoff_time", ":")):
        if metric in tg:
            _target_line(ax, tg[metric], _short_target(tg[metric]), ls)
    if not shown:
        ax.text(0.5, 0.5, "no barge-in\nor handoff", ha="center", va="center",
                transform=ax.transAxes, fontsize=SMALL, color=COLORS["muted"])
    ax.xaxis.set_major_locator(MaxNLocator(3))
    ax.set_xlabel("✕ barge-in\n◆ handoff (ms)")
    ax.tick_params(axis="y", left=False, labelleft=False)
    ax.grid(axis="x", alpha=0.3)
    style(ax)


def _short_target(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:.0f} ms"


def plot_latency_summary(source: Any, *, targets: bool | dict[str, float] = True) -> Plot:
    """Distribution of each metric across turns (box + points), with the targets.

    Returns a :class:`~rtnb.plots.Plot`. ``source``: a Session, a Recording, a
    MetricsTable or an event log.
    """
    mpl = need_matplotlib()
    from matplotlib.transforms import blended_transform_factory

    table = _table(source)
    tg = _targets(targets)
    metrics = [m for m in METRICS if table.values(m)]
    if not metrics:
        return Plot(message("No turns with latency figures yet: nothing to plot."))
    fig = new_figure(1.3 + 0.5 * len(metrics))
    ax = fig.add_subplot()
    data = [table.values(m) for m in metrics]
    ys = np.arange(len(metrics))
    orient = ({"orientation": "horizontal"} if tuple(map(int, mpl.__version__.split(".")[:2]))
              >= (3, 10) else {"vert": False})
    ax.boxplot(data, positions=ys, widths=0.5, showfliers=False, patch_artist=True,
               boxprops={"facecolor": "#dee2e6", "edgecolor": "#495057"},
               medianprops={"color": "#1d3557", "lw": 2}, **orient)
    rng = np.random.default_rng(0)
    to_right = blended_transform_factory(ax.transAxes, ax.transData)
    for y, metric, vals in zip(ys, metrics, data, strict=True):
        jitter = rng.uniform(-0.15, 0.15, len(vals))
        ax.scatter(vals, y + jitter, s=18, color=COLORS["audio"], alpha=0.7, zorder=3)
        if metric in tg:
            ax.plot([tg[metric]] * 2, [y - 0.4, y + 0.4], color=COLORS["target"], ls="--",
                    lw=1.5, zorder=4, gid="target")
            ax.annotate(f"target {_short_target(tg[metric])}", (tg[metric], y - 0.4),
                        xytext=(3, 0), textcoords="offset points", fontsize=SMALL,
                        color=COLORS["target"], va="top", zorder=5,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5,
                              "alpha": 0.8})
        s = table.summary()[metric]
        ax.text(1.01, y, f"p50 {s['p50']:.0f}  p95 {s['p95']:.0f} ms  n={s['n']}", va="center",
                fontsize=SMALL, transform=to_right)
    ax.set_yticks(ys, [METRIC_LABELS.get(m, m) for m in metrics])
    ax.set_ylim(len(metrics) - 0.5, -0.5)
    shown = [v for vals in data for v in vals] + [tg[m] for m in metrics if m in tg]
    ax.set_xlim(0, max(shown) * 1.15 or 1)
    ax.set_xlabel("ms · dots: turns · box: middle half, line: median")
    ax.set_title(f"Latency across {len(table)} turn(s)", loc="left", fontsize=TITLE)
    ax.grid(axis="x", alpha=0.3)
    style(ax)
    return Plot(fig)


__all__ = ["METRIC_LABELS", "TARGETS", "plot_latency", "plot_latency_summary"]
