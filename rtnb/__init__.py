"""rtnb: realtime voice agents in Jupyter, with an offline OpenAI-Realtime-compatible engine.

Everything is imported lazily so that ``import rtnb`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "start_engine": "rtnb.engine.background",
    "RunningEngine": "rtnb.engine.background",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rtnb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
