"""Deprecation aliases: names that moved keep working, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``names`` (name → ``"new.module"`` or
    ``"new.module:new_name"``) from where they live now."""

    def __getattr__(name: str) -> Any:
        target = names.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        where, _, new_name = target.partition(":")
        warnings.warn(f"{module}.{name} moved to {where}.{new_name or name}",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(where), new_name or name)

    return __getattr__
