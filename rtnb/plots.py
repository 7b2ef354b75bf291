"""Latency and VAD plots for notebooks (matplotlib, imported lazily).

Everything comes from :mod:`rtnb.analysis`, which derives the numbers from the
session's event log, so a live :class:`~rtnb.Session` and ``rtnb.load(path)`` give
the same figures. VAD plots run the engine's own VAD and turn detection
(:mod:`rtnb.engine.speech.vad`, :mod:`rtnb.engine.turns`) over the input audio.
Each function returns a :class:`matplotlib.figure.Figure` (not managed by pyplot),
which renders inline in notebooks and can be saved with ``fig.savefig``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._compat import moved
from ._extras import require
from .analysis import METRICS, ExplorerResult, Turn, TurnTimes, VadSource, turn_times, vad_source
from .analysis import metrics_of as _table
from .engine.turns import FRAME_MS

#: The seed's targets (ms): response (e2e), interruption (barge-in), handoff.
TARGETS = {"e2e": 1000.0, "barge_in": 300.0, "handoff_time": 2000.0}
TARGET_LABELS = {"e2e": "response target 1 s", "barge_in": "interruption target 300 ms",
                 "handoff_time": "handoff target 2 s"}
METRIC_LABELS = {
    "e2e": "e2e (voice to voice)", "end_of_turn_delay": "end of turn",
    "transcription_delay": "transcription", "ttfb": "TTFB (created → audio)",
    "tool_time": "tool calls", "supervisor_time": "supervisor", "handoff_time": "handoff",
    "barge_in": "barge-in", "filler_gap": "filler gap",
}
_C = {"eot": "#f4a261", "transcription": "#90be6d", "ttfb": "#8ecae6", "audio": "#1d3557",
      "tool": "#bc6c25", "supervisor": "#7b2cbf", "handoff": "#2a9d8f", "filler_gap": "#adb5bd",
      "barge_in": "#e76f51", "target": "#d62828", "speech": "#90be6d", "padding": "#ffd166",
      "silence": "#f4a261", "wave": "#457b9d", "prob": "#1d3557", "split": "#d62828"}


# -- figures -------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Any:
    require("matplotlib", "rtnb's plots")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _message(text: str, ax: Any = None) -> Any:
    """A figure (or the given axes) that just says ``text``."""
    if ax is None:
        ax = _figure(8, 1.6).add_subplot()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11,
            wrap=True)
    ax.set_axis_off()
    return ax.figure


def _targets(targets: bool | dict[str, float]) -> dict[str, float]:
    if targets is True:
        return dict(TARGETS)
    return dict(targets) if targets else {}


def _short(text: str, n: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _row_label(turn: Turn) -> str:
    what = f"“{_short(turn.user_text)}”" if turn.user_text else "(no transcript)"
    return f"{turn.index} {turn.kind}: {what}"


class _Labels:
    """Label each kind of artist once, so the legend lists it once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, label: str) -> str:
        if label in self.seen:
            return "_nolegend_"
        self.seen.add(label)
        return label


def plot_latency(source: Any, *, ax: Any = None, targets: bool | dict[str, float] = True) -> Any:
    """Per-turn latency waterfall; returns the Figure.

    One row per turn; x is ms from the user's end of speech (typed input: when sent).
    Marks: end of turn (speech_stopped, the silence window shaded), transcription done,
    response created and first audio (e2e, with its value); spans for tool calls, the
    supervisor, handoffs and the filler gap. A side panel shows barge-in and handoff
    durations. ``targets``: draw the seed's targets (:data:`TARGETS`), or a dict of
    ``{metric: ms}`` for ``e2e``, ``barge_in`` and ``handoff_time``.
    ``source``: a Session, a Recording, a MetricsTable or an event log.
    """
    rows = turn_times(source)
    tg = _targets(targets)
    if not rows:
        return _message("No turns yet: nothing to plot.\nSpeak or call say(), then plot again.",
                        ax)
    if ax is None:
        fig = _figure(12, 1.9 + 0.62 * len(rows))
        ax, side = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3.2, 1]})
    else:
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        fig = ax.figure
        side = make_axes_locatable(ax).append_axes("right", size="28%", pad=0.15, sharey=ax)
    label = _Labels()
    _waterfall(ax, rows, tg, label)
    _side_panel(side, rows, tg, label)
    handles, labels = [], []
    for a in (ax, side):
        h, lab = a.get_legend_handles_labels()
        handles += h
        labels += lab
    approx = " (approximate: placed from durations)" if rows[0].approximate else ""
    ax.set_title(f"Latency per turn{approx}", loc="left", fontsize=11)
    if ax.figure.get_layout_engine() is not None:
        fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=8,
                   frameon=False)
    else:
        ax.legend(handles, labels, loc="lower right", fontsize=7)
    return fig


def _waterfall(ax: Any, rows: list[TurnTimes], tg: dict[str, float], label: _Labels) -> None:
    xs = [0.0, *([tg["e2e"]] if "e2e" in tg else [])]
    for row in rows:
        xs += list(row.marks.values()) + [x for s in row.spans for x in s[2:]]
    lo, hi = min(xs), max(xs)
    pad = 0.04 * (hi - lo or 1000)
    ax.set_xlim(lo - pad, hi + 3 * pad)
    mid = (lo + hi) / 2
    for y, row in enumerate(rows):
        m = row.marks
        ax.plot([0, max([0.0, *m.values()])], [y, y], color="#ced4da", lw=1, zorder=1)
        if "end_of_turn" in m:
            ax.barh(y, m["end_of_turn"], left=0, height=0.34, color=_C["eot"], alpha=0.6,
                    label=label("end of turn (silence window)"), zorder=2)
        if "committed" in m and "transcribed" in m:
            ax.barh(y - 0.27, m["transcribed"] - m["committed"], left=m["committed"],
                    height=0.14, color=_C["transcription"],
                    label=label("transcription (commit → done)"), zorder=2)
            ax.plot(m["transcribed"], y - 0.27, "o", color=_C["transcription"], ms=4, zorder=3)
        if "created" in m and "first_audio" in m:
            ax.barh(y, m["first_audio"] - m["created"], left=m["created"], height=0.34,
                    color=_C["ttfb"], label=label("response created → first audio (TTFB)"),
                    zorder=2)
        notes = []
        for kind, name, a, b in row.spans:
            text = {"tool": "tool call", "supervisor": "supervisor call", "handoff": "handoff",
                    "filler_gap": "filler gap"}[kind]
            ax.barh(y + 0.24, b - a, left=a, height=0.08 if kind == "supervisor" else 0.16,
                    color=_C[kind], label=label(text), zorder=3,
                    hatch="//" if kind == "filler_gap" else None)
            notes.append({"tool": f"{_short(name, 22)} {b - a:.0f} ms",
                          "supervisor": f"(supervisor {b - a:.0f} ms)",
                          "handoff": f"→ {_short(name, 16)} {b - a:.0f} ms",
                          "filler_gap": f"filler gap {b - a:.0f} ms"}[kind])
        if notes:  # one line under the spans, kept inside the axes
            first, last = min(s[2] for s in row.spans), max(s[3] for s in row.spans)
            ax.text(first if first < mid else last, y + 0.36, " · ".join(notes), va="top",
                    ha="left" if first < mid else "right", fontsize=7, color="#6c4a1e",
                    clip_on=True, zorder=4)
        if "first_audio" in m:
            e2e = m["first_audio"]
            late = "e2e" in tg and e2e > tg["e2e"]
            ax.plot(e2e, y, "D", color=_C["audio"], ms=7, label=label("first audio (e2e)"),
                    zorder=5, gid="e2e")
            ax.text(e2e, y - 0.1, f"  {e2e:.0f} ms", va="bottom", fontsize=8, zorder=5,
                    color=_C["target"] if late else _C["audio"], fontweight="bold")
        elif "created" not in m:
            ax.text(0, y, "  no response yet", va="center", fontsize=8, color="#6c757d")
    ax.axvline(0, color="black", lw=1.2, label=label("user's end of speech / input sent"),
               zorder=1)
    if "e2e" in tg:
        ax.axvline(tg["e2e"], color=_C["target"], ls="--", lw=1.2, label=TARGET_LABELS["e2e"],
                   zorder=1)
    ax.set_yticks(range(len(rows)), [_row_label(r.turn) for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.45, -0.55)
    ax.set_xlabel("ms from the user's end of speech")
    ax.grid(axis="x", alpha=0.3)


def _side_panel(ax: Any, rows: list[TurnTimes], tg: dict[str, float], label: _Labels) -> None:
    from matplotlib.ticker import MaxNLocator

    xs = [v for k in ("barge_in", "handoff_time") if k in tg for v in [tg[k]]]
    for y, row in enumerate(rows):
        for metric, marker, color, dy in (("barge_in", "X", _C["barge_in"], -0.15),
                                          ("handoff_time", "D", _C["handoff"], 0.15)):
            v = getattr(row.turn, metric)
            if v is None:
                continue
            xs.append(v)
            name = "barge-in (speech onset → playback stopped)" if metric == "barge_in" \
                else "handoff (transfer → new agent's audio)"
            late = metric in tg and v > tg[metric]
            ax.plot(v, y + dy, marker, color=color, ms=7, label=label(name), zorder=3,
                    gid=metric)
            ax.annotate(f"{v:.0f} ms", (v, y + dy), xytext=(7, 0), textcoords="offset points",
                        va="center", fontsize=8, color=_C["target"] if late else color,
                        zorder=4, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5,
                                        "alpha": 0.8})
    for metric, ls in (("barge_in", "--"), ("handoff_time", ":")):
        if metric in tg:
            ax.axvline(tg[metric], color=_C["target"], ls=ls, lw=1.2,
                       label=TARGET_LABELS[metric])
    if not any(r.turn.barge_in is not None or r.turn.handoff_time is not None for r in rows):
        ax.text(0.5, 0.5, "no barge-in\nor handoff", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#6c757d")
    ax.set_xlim(0, max([1000.0, *xs]) * 1.25)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.set_xlabel("barge-in / handoff (ms)")
    ax.tick_params(axis="y", left=False, labelleft=False)
    ax.grid(axis="x", alpha=0.3)


def plot_latency_summary(source: Any, *, targets: bool | dict[str, float] = True) -> Any:
    """Distribution of each metric across turns (box + points), with the targets.

    ``source``: a Session, a Recording, a MetricsTable or an event log.
    """
    mpl = require("matplotlib", "rtnb's plots")
    from matplotlib.transforms import blended_transform_factory

    table = _table(source)
    tg = _targets(targets)
    metrics = [m for m in METRICS if table.values(m)]
    if not metrics:
        return _message("No turns with latency figures yet: nothing to plot.")
    fig = _figure(10, 1.3 + 0.55 * len(metrics))
    ax = fig.add_subplot()
    data = [table.values(m) for m in metrics]
    ys = np.arange(len(metrics))
    orient = ({"orientation": "horizontal"} if tuple(map(int, mpl.__version__.split(".")[:2]))
              >= (3, 10) else {"vert": False})
    ax.boxplot(data, positions=ys, widths=0.5, showfliers=False, patch_artist=True,
               boxprops={"facecolor": "#dee2e6", "edgecolor": "#495057"},
               medianprops={"color": "#1d3557", "lw": 2}, **orient)
    rng = np.random.default_rng(0)
    label = _Labels()
    to_right = blended_transform_factory(ax.transAxes, ax.transData)
    for y, metric, vals in zip(ys, metrics, data, strict=True):
        jitter = rng.uniform(-0.15, 0.15, len(vals))
        ax.scatter(vals, y + jitter, s=18, color=_C["audio"], alpha=0.7, zorder=3,
                   label=label("turn"))
        if metric in tg:
            ax.plot([tg[metric]] * 2, [y - 0.4, y + 0.4], color=_C["target"], ls="--", lw=1.5,
                    label=TARGET_LABELS[metric], zorder=4)
            ax.annotate(f"target {tg[metric]:.0f} ms", (tg[metric], y - 0.4), xytext=(3, 0),
                        textcoords="offset points", fontsize=7, color=_C["target"], va="top")
        s = table.summary()[metric]
        ax.text(1.01, y, f"p50 {s['p50']:.0f}  p95 {s['p95']:.0f}  n={s['n']}", va="center",
                fontsize=8, transform=to_right)
    ax.set_yticks(ys, [METRIC_LABELS.get(m, m) for m in metrics])
    ax.set_ylim(len(metrics) - 0.5, -0.5)
    shown = [v for vals in data for v in vals] + [tg[m] for m in metrics if m in tg]
    ax.set_xlim(0, max(shown) * 1.15 or 1)
    ax.set_xlabel("ms")
    ax.set_title(f"Latency across {len(table)} turn(s)", loc="left", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


# -- VAD -----------------------------------------------------------------------------------


def plot_vad(source: Any, *, threshold: float | None = None,
             prefix_padding_ms: int | None = None,
             silence_duration_ms: int | None = None) -> Any:
    """Input waveform, VAD probability per 32 ms frame and the turns server_vad cuts.

    Runs the engine's VAD and turn detection over the input audio. Shaded: detected
    speech, prefix padding and silence windows; lines: the threshold, and (for a
    Session or Recording) the server's logged speech_started/speech_stopped at their
    audio positions, with ▼ where each was received. Settings default to the logged
    turn detection, else server_vad's (0.5, 300 ms, 500 ms).
    """
    src = vad_source(source)
    if len(src.pcm) < 2 * FRAME_MS * 48:
        return _message("No input audio to analyse.")
    result = src.explore(threshold, prefix_padding_ms, silence_duration_ms)
    return vad_figure(src, src.probs, result)


def _envelope(samples: np.ndarray, bins: int = 3000) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    """Min/max per bin, for drawing long audio quickly."""
    n = len(samples)
    if n <= bins:
        t = np.arange(n) / 24000
        return t, samples, samples
    edges = np.linspace(0, n, bins + 1).astype(int)[:-1]
    return (edges / 24000, np.minimum.reduceat(samples, edges),
            np.maximum.reduceat(samples, edges))


def vad_figure(src: VadSource, probs: np.ndarray, result: ExplorerResult) -> Any:
    """Draw :func:`plot_vad`'s figure from a probability trace and an explored result."""
    require("matplotlib", "rtnb's plots")
    from matplotlib.transforms import blended_transform_factory

    from .audio import to_float

    fig = _figure(12, 5.6)
    ax_w, ax_p = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.25]})
    label = _Labels()
    samples = to_float(src.pcm)
    duration = max(len(samples) / 24000, len(probs) * FRAME_MS / 1000)
    t, lo, hi = _envelope(samples)
    ax_w.fill_between(t, lo, hi, color=_C["wave"], lw=0.5, label=label("input audio"))
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    ax_w.set_ylim(-1.15 * max(peak, 1e-3), 1.15 * max(peak, 1e-3))
    cfg = result.config
    edges = np.arange(len(probs) + 1) * FRAME_MS / 1000
    ax_p.stairs(probs, edges, color=_C["prob"], lw=1.2, label=label("speech probability"))
    ax_p.axhline(cfg.threshold, color=_C["target"], ls="--", lw=1.2,
                 label=label(f"threshold {cfg.threshold:.2f}"))
    ax_p.axhline(cfg.threshold - cfg.hysteresis, color=_C["target"], ls=":", lw=1,
                 label=label("speech continues above (hysteresis)"))
    for seg in result.segments:
        end = seg.decided_ms if seg.decided_ms is not None else result.duration_ms
        for ax in (ax_w, ax_p):
            ax.axvspan(seg.padded_start_ms / 1000, seg.start_ms / 1000, color=_C["padding"],
                       alpha=0.45, lw=0, label=label(f"prefix padding {cfg.prefix_padding_ms} ms"))
            ax.axvspan(seg.start_ms / 1000, seg.end_ms / 1000, color=_C["speech"], alpha=0.3,
                       lw=0, label=label("detected speech"))
            ax.axvspan(seg.end_ms / 1000, end / 1000, color=_C["silence"], alpha=0.35, lw=0,
                       label=label(f"silence window {cfg.silence_duration_ms} ms "
                                   "→ speech_stopped"))
        if seg.decided_ms is not None:
            ax_p.annotate(f"+{seg.eot_latency_ms} ms", (seg.decided_ms / 1000, 1.02),
                          ha="right", va="bottom", fontsize=8, color="#9c4a00",
                          annotation_clip=False)
    for p in result.flagged_pauses:
        ax_p.axvspan(p.start_ms / 1000, p.end_ms / 1000, ymax=0.12, color=_C["split"],
                     alpha=0.6, lw=0, label=label("short pause that splits a turn"))
    top = blended_transform_factory(ax_w.transData, ax_w.transAxes)
    for mark in src.marks:
        started = mark.kind == "speech_started"
        color = "#2b9348" if started else "#9d0208"
        name = ("server speech_started (audio_start_ms)" if started
                else "server speech_stopped (audio_end_ms)")
        x, got = mark.audio_ms / 1000, mark.received_ms / 1000
        for ax in (ax_w, ax_p):
            ax.axvline(x, color=color, lw=1.4, label=label(name) if ax is ax_w else "_")
        y = 0.93 if started else 0.8
        ax_w.annotate("", (got, y), (x, y), xycoords=top, textcoords=top,
                      arrowprops={"arrowstyle": "->", "color": color, "lw": 1})
        ax_w.plot(got, y, "v", color=color, ms=7, transform=top,
                  label=label("server event received (audio appended so far)"))
    ax_w.set_ylabel("input")
    ax_w.set_yticks([])
    ax_p.set_ylim(0, 1)
    ax_p.set_ylabel("P(speech) per 32 ms")
    ax_p.set_xlabel("seconds of input audio")
    ax_p.set_xlim(0, duration)
    lat = ", ".join(f"{v} ms" for v in result.eot_latency_ms if v is not None) or "—"
    ax_w.set_title(f"VAD: {result.count} turn(s) at threshold {cfg.threshold:.2f}, prefix "
                   f"padding {cfg.prefix_padding_ms} ms, silence window "
                   f"{cfg.silence_duration_ms} ms\nend-of-turn latency (window + decision "
                   f"lag): {lat}", loc="left", fontsize=10)
    handles, labels = [], []
    for ax in (ax_w, ax_p):
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


__getattr__ = moved(__name__, {
    "logged_turn_detection": "rtnb.analysis:turn_detection_in_force",
    **{name: "rtnb.analysis" for name in ("ServerMark", "MetricsTable", "compute_turns")}})
