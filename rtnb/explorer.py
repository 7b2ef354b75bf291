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

    w = require("ipywidgets", "rtnb.vad_explorer")

    from .plots import vad_figure

    source = vad_source(recording_or_audio)
    if len(source.pcm) < 2 * FRAME_MS * 48:
        raise ValueError("no input audio to explore (need at least 64 ms)")
    probs = source.probs  # once; each slider change only re-runs detect()
    cfg = source.settings(threshold, prefix_padding_ms, silence_duration_ms)
    logged = source.logged_turns
    style = {"description_width": "initial"}
    layout = w.Layout(width="32%")
    th = w.FloatSlider(value=cfg.threshold, min=0.05, max=0.95, step=0.01,
                       description="threshold", continuous_update=False, style=style,
                       layout=layout)
    pp = w.IntSlider(value=cfg.prefix_padding_ms, min=0, max=1000, step=20,
                     description="prefix_padding_ms", continuous_update=False, style=style,
                     layout=layout)
    sd = w.IntSlider(value=cfg.silence_duration_ms, min=100, max=2000, step=20,
                     description="silence_duration_ms", continuous_update=False, style=style,
                     layout=layout)
    image = w.Image(format="png", layout=w.Layout(width="100%"))
    summary = w.HTML()
    box = w.VBox([w.HBox([th, pp, sd]), summary, image])

    def update(_change: Any = None) -> None:
        result = source.explore(th.value, pp.value, sd.value, max_pause_ms=max_pause_ms)
        fig = vad_figure(source, probs, result)
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


__getattr__ = moved(__name__, {name: "rtnb.analysis" for name in (
    "explore", "Segment", "Pause")})
