"""The local realtime engine: a server plus pluggable VAD, ASR, TTS and brain.

Names are imported lazily so that importing this package loads no server or model.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["start_engine", "RunningEngine", "Engine", "EngineServer"]

_WHERE = {
    "start_engine": "background",
    "RunningEngine": "background",
    "Engine": "parts",
    "EngineServer": "server",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rtnb.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
