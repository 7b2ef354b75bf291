"""Explore server_vad settings on a recording: where turns would be cut, and what it costs.

The speech probabilities are computed once with the engine's VAD
(:func:`rtnb.engine.speech.vad.trace`); each setting then re-runs the engine's own
turn detection (:func:`rtnb.engine.turns.detect`) over them, which is cheap.
:func:`explore` is the pure part; :func:`vad_explorer` wires sliders to it.

End-of-turn latency: ``speech_stopped`` fires on the first 32 ms frame boundary at
least ``silence_duration_ms`` after the last voiced frame, so every turn waits the
silence window plus a decision lag of up to one frame before the reply can start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .engine.turns import FRAME_MS, TurnConfig, TurnEvent, detect

#: A gap between two turns shorter than this probably split one utterance.
MAX_PAUSE_MS = 1000


@dataclass(frozen=True)
class Segment:
    """One detected turn, in milliseconds of input audio."""

    #: Start of the first voiced frame (where ``speech_started`` is decided).
    start_ms: int
    #: ``start_ms`` minus the prefix padding: the wire's ``speech_started.audio_start_ms``.
    padded_start_ms: int
    #: End of the last voiced frame: the wire's ``speech_stopped.audio_end_ms``.
    end_ms: int
    #: Where ``speech_stopped`` is decided; ``None`` if the audio ended first.
    decided_ms: int | None

    @property
    def eot_latency_ms(self) -> int | None:
        """End of speech → ``speech_stopped``: the silence window plus the decision lag."""
        return None if self.decided_ms is None else self.decided_ms - self.end_ms


@dataclass(frozen=True)
class Pause:
    """Silence inside speech (``splits``: it ended a turn)."""

    start_ms: int
    end_ms: int
    splits: bool
    #: A short pause that splits: probably one utterance cut in two.
    flagged: bool = False

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class ExplorerResult:
    """Turns that server_vad would detect with ``config`` over a probability trace."""

    config: TurnConfig
    duration_ms: int
    events: tuple[TurnEvent, ...]
    segments: tuple[Segment, ...]
    pauses: tuple[Pause, ...]

    @property
    def count(self) -> int:
        """Number of turns (including one still open when the audio ends)."""
        return len(self.segments)

    @property
    def eot_latency_ms(self) -> list[int | None]:
        """Per turn: end of speech → ``speech_stopped`` (None while still open)."""
        return [s.eot_latency_ms for s in self.segments]

    @property
    def decision_lag_ms(self) -> list[int | None]:
        """Per turn: end-of-turn latency beyond the silence window (frame rounding)."""
        window = self.config.silence_duration_ms
        return [None if v is None else v - window for v in self.eot_latency_ms]

    @property
    def flagged_pauses(self) -> list[Pause]:
        return [p for p in self.pauses if p.flagged]

    def describe(self) -> str:
        """A plain-text summary, one line per turn and per flagged pause."""
        return "\n".join(_lines(self))


def explore(probs: Sequence[float], threshold: float = 0.5, prefix_padding_ms: int = 300,
            silence_duration_ms: int = 500, *, max_pause_ms: int = MAX_PAUSE_MS) -> ExplorerResult:
    """Run the engine's server_vad turn detection over ``probs`` (one per 32 ms frame).

    Pauses between turns shorter than ``max_pause_ms`` are flagged as likely splits.
    """
    cfg = TurnConfig(threshold=float(threshold), prefix_padding_ms=int(prefix_padding_ms),
                     silence_duration_ms=int(silence_duration_ms))
    events = detect(probs, cfg)
    duration = len(probs) * FRAME_MS
    segments: list[Segment] = []
    pauses: list[Pause] = []
    open_seg: tuple[int, int] | None = None  # (start, padded start)
    silence_from: int | None = None  # last voice, while in the silence window
    last_end: int | None = None  # end of the previous turn
    for ev in events:
        if ev.kind == "speech_started":
            if last_end is not None:
                short = ev.audio_ms - last_end < max_pause_ms
                pauses.append(Pause(last_end, ev.audio_ms, True, short))
            open_seg, silence_from = (ev.audio_ms, ev.audio_start_ms), None
        elif ev.kind == "silence_began":
            silence_from = ev.audio_start_ms
        elif ev.kind == "speech_resumed" and silence_from is not None:
            pauses.append(Pause(silence_from, ev.audio_ms, False))
            silence_from = None
        elif ev.kind == "speech_stopped" and open_seg is not None:
            segments.append(Segment(open_seg[0], open_seg[1], ev.audio_start_ms, ev.audio_ms))
            last_end, open_seg, silence_from = ev.audio_start_ms, None, None
    if open_seg is not None:
        end = silence_from if silence_from is not None else duration
        segments.append(Segment(open_seg[0], open_seg[1], end, None))
    return ExplorerResult(cfg, duration, tuple(events), tuple(segments), tuple(pauses))


def _lines(result: ExplorerResult) -> list[str]:
    cfg = result.config
    lines = [f"{result.count} turn(s) at threshold {cfg.threshold:.2f}, prefix padding "
             f"{cfg.prefix_padding_ms} ms, silence window {cfg.silence_duration_ms} ms"]
    pairs = zip(result.segments, result.decision_lag_ms, strict=True)
    for i, (seg, lag) in enumerate(pairs):
        span = f"turn {i}: speech {seg.start_ms / 1000:.2f}–{seg.end_ms / 1000:.2f} s"
        if seg.decided_ms is None:
            lines.append(f"{span}, still open when the audio ends")
        else:
            lines.append(f"{span}, end of turn +{seg.eot_latency_ms} ms "
                         f"= {cfg.silence_duration_ms} ms window + {lag} ms decision lag")
    for p in result.flagged_pauses:
        lines.append(f"pause {p.duration_ms} ms at {p.start_ms / 1000:.2f} s splits a turn "
                     f"(window {cfg.silence_duration_ms} ms)")
    return lines


def _summary_html(result: ExplorerResult, logged: int | None = None) -> str:
    cfg = result.config
    window = cfg.silence_duration_ms
    lags = sorted({v for v in result.decision_lag_ms if v is not None})
    lag = f"{lags[0]}" if len(lags) == 1 else f"{lags[0]}–{lags[-1]}" if lags else ""
    head = f"<b>{result.count} turn(s)</b>"
    if logged is not None:
        head += f" (the logged session had {logged})"
    cost = (f"each reply waits ≈ <b>{window} ms</b> silence window + {lag} ms decision lag "
            "before it can start (this adds directly to e2e)" if lags else "no turn ended")
    rows = "".join(
        f"<tr><td>{i}</td><td>{s.start_ms / 1000:.2f}–{s.end_ms / 1000:.2f} s</td><td>"
        + ("still open" if s.decided_ms is None else
           f"{s.eot_latency_ms} ms = {window} + {s.eot_latency_ms - window}") + "</td></tr>"
        for i, s in enumerate(result.segments))
    notes = [f"⚠ pause of {p.duration_ms} ms at {p.start_ms / 1000:.2f} s splits an utterance"
             f" (window {window} ms)" for p in result.flagged_pauses]
    notes += [f"pause of {p.duration_ms} ms at {p.start_ms / 1000:.2f} s was bridged by only "
              f"{window - p.duration_ms} ms" for p in result.pauses
              if not p.splits and window - p.duration_ms <= 2 * FRAME_MS]
    items = "".join(f"<li>{n}</li>" for n in notes)
    return (f"<div>{head}; {cost}.<table><tr><th>turn</th><th>speech</th>"
            f"<th>end-of-turn latency = window + lag</th></tr>{rows}</table>"
            + (f"<ul>{items}</ul>" if items else "") + "</div>")


def vad_explorer(recording_or_audio: Any, *, threshold: float | None = None,
                 prefix_padding_ms: int | None = None, silence_duration_ms: int | None = None,
                 max_pause_ms: int = MAX_PAUSE_MS) -> Any:
    """Sliders for the server_vad knobs over a recording or audio; returns an ipywidgets VBox.

    ``recording_or_audio``: a Session, a Recording, an event log, or audio (float array at
    24 kHz, PCM16 bytes, WAV path). Defaults come from the logged turn detection. The box
    has attributes ``threshold``, ``prefix_padding_ms``, ``silence_duration_ms`` (sliders),
    ``image``, ``summary`` and ``result`` (the latest :class:`ExplorerResult`).
    """
    import io

    import ipywidgets as w

    from . import plots
    from .engine.speech.vad import trace

    source = plots.vad_source(recording_or_audio)
    if len(source.pcm) < 2 * FRAME_MS * 48:
        raise ValueError("no input audio to explore (need at least 64 ms)")
    probs = trace(source.pcm)  # once; each slider change only re-runs detect()
    cfg = source.config
    logged = (sum(m.kind == "speech_stopped" for m in source.marks) if source.entries
              else None)
    style = {"description_width": "initial"}
    layout = w.Layout(width="32%")
    th = w.FloatSlider(value=cfg.threshold if threshold is None else threshold, min=0.05,
                       max=0.95, step=0.01, description="threshold", continuous_update=False,
                       style=style, layout=layout)
    pp = w.IntSlider(value=cfg.prefix_padding_ms if prefix_padding_ms is None
                     else prefix_padding_ms, min=0, max=1000, step=20,
                     description="prefix_padding_ms", continuous_update=False, style=style,
                     layout=layout)
    sd = w.IntSlider(value=cfg.silence_duration_ms if silence_duration_ms is None
                     else silence_duration_ms, min=100, max=2000, step=20,
                     description="silence_duration_ms", continuous_update=False, style=style,
                     layout=layout)
    image = w.Image(format="png", layout=w.Layout(width="100%"))
    summary = w.HTML()
    box = w.VBox([w.HBox([th, pp, sd]), summary, image])

    def update(_change: Any = None) -> None:
        result = explore(probs, th.value, pp.value, sd.value, max_pause_ms=max_pause_ms)
        fig = plots.vad_figure(source, probs, result)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        box.result = result
        summary.value = _summary_html(result, logged)
        image.value = buf.getvalue()

    for slider in (th, pp, sd):
        slider.observe(update, names="value")
    box.threshold, box.prefix_padding_ms, box.silence_duration_ms = th, pp, sd
    box.image, box.summary, box.probs = image, summary, probs
    update()
    return box
