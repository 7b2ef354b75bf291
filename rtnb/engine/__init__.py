"""The local realtime engine: a server plus pluggable VAD, ASR, TTS and brain."""

from __future__ import annotations

from typing import Any

__all__ = ["start_engine", "RunningEngine", "Engine", "EngineServer"]


def __getattr__(name: str) -> Any:
    if name in ("start_engine", "RunningEngine"):
        from . import background

        return getattr(background, name)
    if name in ("Engine", "EngineServer"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'rtnb.engine' has no attribute {name!r}")
