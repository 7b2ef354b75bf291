"""Figures that display themselves in a notebook, at a size where their text reads well.

A :class:`Plot` wraps a :class:`matplotlib.figure.Figure` (not managed by pyplot) and
renders as one PNG in any notebook, with or without ``%matplotlib inline``. One inch of
figure is :data:`DISPLAY_DPI` CSS pixels on screen, so a font size in points is the
size the reader sees; the PNG has :data:`PIXEL_RATIO` times the pixels, for sharp text.
"""

from __future__ import annotations

import base64
import io
import struct
import sys
from typing import Any

#: CSS pixels per figure inch (the CSS inch): 9 pt text shows as 9 pt.
DISPLAY_DPI = 96
#: PNG pixels per CSS pixel (as IPython's "retina" format).
PIXEL_RATIO = 2
#: Figure width (in): 816 px, inside JupyterLab's 848 px output area at a 1280 px
#: window with the file browser open, so figures are shown at their own size.
WIDTH = 8.5
#: Font sizes (pt): nothing in a figure is smaller than ``SMALL``.
SMALL, BASE, TITLE = 9, 10, 11

#: Colours shared by the figures.
COLORS = {"eot": "#f4a261", "transcription": "#90be6d", "ttfb": "#8ecae6",
          "audio": "#1d3557", "tool": "#bc6c25", "approval": "#e9c46a", "supervisor": "#7b2cbf",
          "handoff": "#2a9d8f", "filler_gap": "#adb5bd", "barge_in": "#e76f51",
          "target": "#d62828", "speech": "#90be6d", "padding": "#ffd166",
          "silence": "#f4a261", "wave": "#457b9d", "prob": "#1d3557", "split": "#d62828",
          "muted": "#6c757d", "note": "#6c4a1e"}


class Plot:
    """A figure that shows itself in a notebook; ``.figure`` is the matplotlib Figure.

    Displayed as one PNG at the figure's size (1 in = 96 CSS px), the same with or
    without ``%matplotlib inline``. ``.axes`` are the figure's axes, and the rest of the
    Figure's public API (``savefig``, ``set_size_inches``, ``suptitle``...) works on the
    Plot itself. A figure that pyplot manages (drawn with ``ax=`` from ``plt.subplots``)
    is left for pyplot to show, so it never appears twice.
    """

    def __init__(self, figure: Any) -> None:
        self.figure = figure

    @property
    def axes(self) -> list[Any]:
        return self.figure.axes

    def png(self, pixel_ratio: float = PIXEL_RATIO) -> bytes:
        """The figure as PNG bytes, ``pixel_ratio`` pixels per CSS pixel."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=DISPLAY_DPI * pixel_ratio)
        return buf.getvalue()

    def display_size(self) -> tuple[int, int]:
        """(width, height) in CSS pixels, as the notebook shows it."""
        w, h = self.figure.get_size_inches()
        return round(w * DISPLAY_DPI), round(h * DISPLAY_DPI)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        if _pyplot_shows(self.figure):
            return {"text/plain": repr(self)}, {}
        png = self.png()
        width, height = png_size(png)
        return ({"image/png": base64.b64encode(png).decode("ascii"),
                 "text/plain": repr(self)},
                {"image/png": {"width": round(width / PIXEL_RATIO),
                               "height": round(height / PIXEL_RATIO)}})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "figure":
            raise AttributeError(name)
        return getattr(self.figure, name)

    def __repr__(self) -> str:
        w, h = self.display_size()
        return (f"<rtnb Plot {w}×{h} px with {len(self.axes)} Axes; .figure is the "
                "matplotlib Figure>")


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header."""
    return struct.unpack(">II", png[16:24])


def _pyplot_shows(figure: Any) -> bool:
    """True if pyplot manages ``figure`` (so its backend displays it)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    manager = getattr(figure.canvas, "manager", None)
    return pyplot is not None and manager is not None and pyplot.fignum_exists(manager.num)


def need_matplotlib() -> Any:
    """matplotlib, or one line naming the ``pip install`` that brings it."""
    from .._extras import require

    return require("matplotlib", "rtnb's plots")


def new_figure(height: float, width: float = WIDTH) -> Any:
    """A Figure not managed by pyplot, at the display resolution, laid out by matplotlib."""
    need_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DISPLAY_DPI, layout="constrained")


def message(text: str, ax: Any = None) -> Any:
    """A figure (or the given axes) that just says ``text``; returns the Figure."""
    if ax is None:
        ax = new_figure(1.4).add_subplot()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            fontsize=TITLE, wrap=True)
    ax.set_axis_off()
    return ax.figure


def style(ax: Any) -> None:
    """Readable defaults: tick labels, axis labels and title at least :data:`SMALL` pt."""
    ax.tick_params(labelsize=SMALL)
    ax.xaxis.label.set_fontsize(BASE)
    ax.yaxis.label.set_fontsize(BASE)


def short(text: str, n: int = 30) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Labels:
    """Label each kind of artist once, so the legend lists it once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, label: str) -> str:
        if label in self.seen:
            return "_nolegend_"
        self.seen.add(label)
        return label


def figure_legend(fig: Any, axes: list[Any], ncol: int, extra: list | None = None) -> None:
    """One legend under the figure for the labelled artists of ``axes``."""
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    for h, lab in extra or []:
        handles.append(h)
        labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(ncol, len(handles)),
                   fontsize=SMALL, frameon=False, handler_map=tuple_handler())


def tuple_handler() -> dict:
    """Legend entries whose handle is a tuple show every swatch side by side."""
    from matplotlib.legend_handler import HandlerTuple

    return {tuple: HandlerTuple(ndivide=None, pad=0.2)}


def keep_off(ax: Any, texts: list[tuple[Any, float, float]], x_line: float,
             gap_px: float = 4.0) -> None:
    """Move each label off the vertical line at data ``x_line``.

    ``texts``: ``(text, x_left, x_right)``: a label drawn ``ha="left"`` at ``x_left``,
    which may instead end at ``x_right`` (``ha="right"``), end just left of the line or
    start just right of it, or sit at either edge of the axes. The first placement that neither crosses the line
    nor leaves the axes wins.
    Call after the layout is done (``fig.draw_without_rendering()``).
    """
    to_px = ax.transData.transform
    line = to_px((x_line, 0))[0]
    box = ax.get_window_extent()
    gap = (ax.transData.inverted().transform((gap_px, 0))[0]
           - ax.transData.inverted().transform((0, 0))[0])
    lo, hi = ax.get_xlim()
    for text, x_left, x_right in texts:
        for ha, x in (("left", x_left), ("right", x_right), ("right", x_line - gap),
                      ("left", x_line + gap), ("right", hi - gap), ("left", lo + gap)):
            text.set_x(x)
            text.set_horizontalalignment(ha)
            ext = text.get_window_extent()
            crosses = ext.x0 - gap_px / 2 < line < ext.x1 + gap_px / 2
            if not crosses and box.x0 <= ext.x0 and ext.x1 <= box.x1:
                break
