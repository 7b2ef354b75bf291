"""The notebook layer: session panel, live audio and clip recording (imported lazily)."""

from __future__ import annotations

from typing import Any

__all__ = ["SessionPanel", "LiveAudio", "ClipRecorder", "show"]


#: What each export needs; a missing one is reported in one line naming the install.
_NEEDS = {"SessionPanel": ("rtnb's session panel", "ipywidgets", "anywidget"),
          "show": ("rtnb's session panel", "ipywidgets", "anywidget"),
          "LiveAudio": ("rtnb's live audio", "anywidget"),
          "ClipRecorder": ("rtnb's clip recorder", "ipywidgets", "ipywebrtc")}


def __getattr__(name: str) -> Any:
    if name in _NEEDS:
        from .._extras import require

        feature, *modules = _NEEDS[name]
        for module in modules:
            require(module, feature)
    if name == "SessionPanel" or name == "show":
        from . import panel

        return panel.SessionPanel if name == "SessionPanel" else _show
    if name == "LiveAudio":
        from .live_audio import LiveAudio

        return LiveAudio
    if name == "ClipRecorder":
        from .clips import ClipRecorder

        return ClipRecorder
    raise AttributeError(f"module 'rtnb.notebook' has no attribute {name!r}")


def _show(session: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    from .panel import SessionPanel

    panel = SessionPanel(session, **kwargs)
    display(panel)
    return panel
