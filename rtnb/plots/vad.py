"""The VAD figure: waveform, speech probability, and the turns server_vad cuts.

It runs the engine's own VAD and turn detection over the input audio
(:mod:`rtnb.analysis.vad`) with the given settings, and, for a Session or Recording,
sets the turns the server actually cut (with the settings that cut them) beside the
turns the given settings would cut.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import ExplorerResult, Segment, VadSource, vad_source
from ..engine.turns import FRAME_MS, TurnConfig
from .figure import (
    COLORS,
    SMALL,
    TITLE,
    Plot,
    figure_legend,
    message,
    need_matplotlib,
    new_figure,
    style,
)


def plot_vad(source: Any, *, threshold: float | None = None,
             prefix_padding_ms: int | None = None,
             silence_duration_ms: int | None = None) -> Plot:
    """Input waveform, VAD probability per 32 ms frame and the turns server_vad cuts.

    Runs the engine's VAD and turn detection over the input audio with the given
    settings (default: the logged turn detection, else server_vad's 0.5, 300 ms,
    500 ms). Shaded: detected speech, prefix padding and silence windows. Below, one
    lane per setting: the turns the server cut in the logged session, labelled with
    the settings in force when it cut them, and the turns the given settings cut.
    Returns a :class:`~rtnb.plots.Plot`.
    """
    src = vad_source(source)
    if len(src.pcm) < 2 * FRAME_MS * 48:
        return Plot(message("No input audio to analyse."))
    result = src.explore(threshold, prefix_padding_ms, silence_duration_ms)
    return vad_figure(src, src.probs, result)


def settings_text(cfg: TurnConfig | None) -> str:
    """``threshold 0.50 · padding 300 ms · silence 500 ms`` (semantic_vad: its waits)."""
    if cfg is None:
        return "turn detection off"
    silence = (f"silence {cfg.silence_duration_ms}–{cfg.max_wait_ms} ms"
               if cfg.max_wait_ms else f"silence {cfg.silence_duration_ms} ms")
    return f"threshold {cfg.threshold:.2f} · padding {cfg.prefix_padding_ms} ms · {silence}"


def _changed(logged: TurnConfig, now: TurnConfig) -> tuple[str, str]:
    """The settings that differ, as the server had them and as they are here."""
    pairs = [(f"threshold {a:.2f}", f"{b:.2f}") for a, b in [(logged.threshold, now.threshold)]
             if a != b]
    pairs += [(f"{name} {a} ms", f"{b} ms") for name, a, b in (
        ("padding", logged.prefix_padding_ms, now.prefix_padding_ms),
        ("silence", logged.silence_duration_ms, now.silence_duration_ms)) if a != b]
    return ", ".join(a for a, _ in pairs), ", ".join(b for _, b in pairs)


_SPLIT = "short pause that splits a turn"


def _legend(split: bool) -> list[tuple[Any, str]]:
    from matplotlib.patches import Patch

    parts = [("padding", "prefix padding"), ("speech", "detected speech"),
             ("silence", "silence window → speech_stopped")] + ([("split", _SPLIT)] * split)
    return [(Patch(color=COLORS[c], alpha=0.8), name) for c, name in parts]


def _server_line(src: VadSource, cfg: TurnConfig, turns: int) -> str:
    """Which settings cut the server's turns, and how they differ from ``cfg``."""
    made_by = list(dict.fromkeys(m.config for m in src.marks))
    if not made_by:
        return "the server logged no speech_started/speech_stopped"
    if len(made_by) > 1:
        return (f"the server cut {turns} while its settings changed: "
                + "; ".join(settings_text(c) for c in made_by))
    (server,) = made_by
    if server is None:
        return f"the server cut {turns} with turn detection reported off"
    if server == cfg:
        return f"the server cut {turns} with the same settings"
    theirs, ours = _changed(server, cfg)
    if not theirs:  # semantic_vad: the same knobs, but it may wait longer
        return f"the server cut {turns} with {settings_text(server)}"
    return f"the server cut {turns} with {theirs} (here: {ours}): the lower lane"


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


def _turn_spans(ax: Any, segments: list[Segment] | tuple[Segment, ...], end_ms: float,
                y: float | None) -> None:
    """Prefix padding, speech and silence window of each turn: as spans over the whole
    axes (``y`` None) or as a bar in the lane at ``y``."""
    for seg in segments:
        end = seg.decided_ms if seg.decided_ms is not None else end_ms
        parts = ((seg.padded_start_ms, seg.start_ms, "padding", 0.45, "prefix padding"),
                 (seg.start_ms, seg.end_ms, "speech", 0.3 if y is None else 0.75,
                  "detected speech"),
                 (seg.end_ms, end, "silence", 0.35 if y is None else 0.6, "silence window"))
        for a, b, color, alpha, name in parts:
            if b <= a:
                continue
            if y is None:
                ax.axvspan(a / 1000, b / 1000, color=COLORS[color], alpha=alpha, lw=0,
                           label=name)
            else:
                ax.barh(y, (b - a) / 1000, left=a / 1000, height=0.6, color=COLORS[color],
                        alpha=min(1.0, alpha + 0.25), lw=0, label=name, gid=color)


def vad_figure(src: VadSource, probs: np.ndarray, result: ExplorerResult) -> Plot:
    """Draw :func:`plot_vad`'s figure from a probability trace and an explored result."""
    need_matplotlib()
    from matplotlib.transforms import blended_transform_factory

    from ..audio import to_float

    logged = src.server_segments if src.entries else None
    lanes = 2 if logged is not None else 1
    fig = new_figure(4.4 + 0.45 * lanes)
    ax_w, ax_p, ax_t = fig.subplots(3, 1, sharex=True, gridspec_kw={
        "height_ratios": [1, 1.25, 0.42 * lanes]})
    samples = to_float(src.pcm)
    duration = max(len(samples) / 24000, len(probs) * FRAME_MS / 1000)
    t, lo, hi = _envelope(samples)
    ax_w.fill_between(t, lo, hi, color=COLORS["wave"], lw=0.5)
    peak = max(float(np.abs(samples).max()) if len(samples) else 0.0, 1e-3)
    ax_w.set_ylim(-1.15 * peak, 1.15 * peak)
    ax_w.set_yticks([-round(peak, 2), 0, round(peak, 2)])
    ax_w.set_ylabel("amplitude\n(1 = full scale)")
    cfg = result.config
    edges = np.arange(len(probs) + 1) * FRAME_MS / 1000
    ax_p.stairs(probs, edges, color=COLORS["prob"], lw=1.2)
    right = blended_transform_factory(ax_p.transAxes, ax_p.transData)
    for level, ls, text in ((cfg.threshold, "--", f"threshold {cfg.threshold:.2f}"),
                            (cfg.threshold - cfg.hysteresis, ":",
                             f"{cfg.threshold - cfg.hysteresis:.2f}: speech continues")):
        ax_p.axhline(level, color=COLORS["target"], ls=ls, lw=1.2, gid="threshold")
        ax_p.text(0.995, level, text, transform=right, ha="right", va="bottom",
                  fontsize=SMALL, color=COLORS["target"], zorder=5,
                  bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.8})
    ax_p.set_ylim(0, 1)
    ax_p.set_ylabel("P(speech)\nper 32 ms")
    title = f"VAD: {result.count} turn(s) with {settings_text(cfg)}"
    lags = sorted({v for v in result.eot_latency_ms if v is not None})
    if lags:
        title += (f"\neach turn ends {lags[0]}" + (f"–{lags[-1]}" if len(lags) > 1 else "")
                  + " ms after its speech (silence window + decision lag)")
    lane_names = [f"these settings\n{result.count} turn(s)"]
    if logged is not None:
        _turn_spans(ax_t, logged, result.duration_ms, 1)
        lane_names.append(f"the server (logged)\n{len(logged)} turn(s)")
        title += "\n" + _server_line(src, cfg, len(logged))
    _turn_spans(ax_t, result.segments, result.duration_ms, 0)
    for ax in (ax_w, ax_p):
        _turn_spans(ax, result.segments, result.duration_ms, None)
    for p in result.flagged_pauses:
        ax_p.axvspan(p.start_ms / 1000, p.end_ms / 1000, ymax=0.12, color=COLORS["split"],
                     alpha=0.6, lw=0, label=_SPLIT)
    ax_t.set_yticks(range(lanes), lane_names)
    ax_t.set_ylim(lanes - 0.5, -0.5)
    ax_t.set_xlabel("seconds of input audio")
    ax_t.set_xlim(0, duration)
    for ax in (ax_w, ax_p, ax_t):
        style(ax)
    ax_w.set_title(title, loc="left", fontsize=TITLE)
    figure_legend(fig, [], ncol=4, extra=_legend(bool(result.flagged_pauses)))
    return Plot(fig)
