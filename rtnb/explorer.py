"""The VAD explorer widget: sliders for the server_vad knobs over a recording or audio.

The analysis lives in :mod:`rtnb.analysis.vad` (:func:`~rtnb.analysis.explore`: where
turns would be cut, and what it costs); the figure is :func:`rtnb.plots.vad_figure`.
``explore``, ``Segment`` and ``Pause`` still import from here, with a DeprecationWarning.
"""

from __future__ import annotations

from typing import Any

from ._compat import moved
from ._extras import require
from .analysis import MAX_PAUSE_MS, ExplorerResult, vad_source
from .engine.turns import FRAME_MS


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


#: (wire name, label with units, kind, min, max, step): one slider per row, all labels
#: the same width, so each slider gets the row's width.
SLIDERS = (
    ("threshold", "speech threshold (0–1)", "float", 0.05, 0.95, 0.01),
    ("prefix_padding_ms", "prefix padding (ms)", "int", 0, 1000, 20),
    ("silence_duration_ms", "silence duration (ms)", "int", 100, 2000, 20),
)
#: Room for the longest label (CSS px).
LABEL_WIDTH = "160px"


def _width() -> int:
    from .plots.figure import DISPLAY_DPI, WIDTH

    return round(WIDTH * DISPLAY_DPI)


def _slider(w: Any, name: str, text: str, kind: str, lo: float, hi: float, step: float,
            value: float) -> Any:
    cls = w.FloatSlider if kind == "float" else w.IntSlider
    return cls(value=value, min=lo, max=hi, step=step, description=text,
               tooltip=f"turn_detection.{name}", continuous_update=False,
               style={"description_width": LABEL_WIDTH}, layout=w.Layout(width="100%"))


def vad_explorer(recording_or_audio: Any, *, threshold: float | None = None,
                 prefix_padding_ms: int | None = None, silence_duration_ms: int | None = None,
                 max_pause_ms: int = MAX_PAUSE_MS) -> Any:
    """Sliders for the server_vad knobs over a recording or audio; returns an ipywidgets VBox.

    ``recording_or_audio``: a Session, a Recording, an event log, or audio (float array at
    24 kHz, PCM16 bytes, WAV path). Defaults come from the logged turn detection. One
    slider per row, labelled with its unit (the wire name is its tooltip), above a
    summary and :func:`rtnb.plot_vad`'s figure at its display size. The box
    has attributes ``threshold``, ``prefix_padding_ms``, ``silence_duration_ms`` (sliders),
    ``image``, ``summary`` and ``result`` (the latest :class:`ExplorerResult`).
    """
    w = require("ipywidgets", "rtnb.vad_explorer")

    from .plots import vad_figure

    source = vad_source(recording_or_audio)
    if len(source.pcm) < 2 * FRAME_MS * 48:
        raise ValueError("no input audio to explore (need at least 64 ms)")
    probs = source.probs  # once; each slider change only re-runs detect()
    cfg = source.settings(threshold, prefix_padding_ms, silence_duration_ms)
    logged = source.logged_turns
    th, pp, sd = (_slider(w, *spec, value) for spec, value in zip(SLIDERS, (
        cfg.threshold, cfg.prefix_padding_ms, cfg.silence_duration_ms), strict=True))
    image = w.Image(format="png", layout=w.Layout(width=f"{_width()}px", max_width="100%",
                                                  height="auto"))
    summary = w.HTML()
    box = w.VBox([th, pp, sd, summary, image], layout=w.Layout(max_width=f"{_width()}px"))
    box.add_class("rtnb-vad-explorer")

    def update(_change: Any = None) -> None:
        result = source.explore(th.value, pp.value, sd.value, max_pause_ms=max_pause_ms)
        plot = vad_figure(source, probs, result)
        box.result = result
        summary.value = _summary_html(result, logged)
        image.value = plot.png()

    for slider in (th, pp, sd):
        slider.observe(update, names="value")
    box.threshold, box.prefix_padding_ms, box.silence_duration_ms = th, pp, sd
    box.image, box.summary, box.probs = image, summary, probs
    update()
    return box


__getattr__ = moved(__name__, {name: "rtnb.analysis" for name in (
    "explore", "Segment", "Pause")})
