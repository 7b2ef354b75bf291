"""Optional imports that fail with one line naming the ``pip install`` that fixes them.

The notebook parts (ipywidgets, anywidget, ipywebrtc, matplotlib) are rtnb dependencies,
but an environment can still lack one (``--no-deps``, a trimmed image, another kernel's
Python). Then the feature says so in one line instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL = 'pip install "rtnb[notebook]"'


class MissingDependency(ImportError):
    """An optional module is not installed; the message names the install command.

    IPython shows it as its one line, without a traceback (``_render_traceback_``).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise :class:`MissingDependency`.

    Only the module itself (or its package) being absent is reported this way; an
    import error deeper inside an installed package propagates unchanged.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not missing or not (module == missing or module.startswith(missing + ".")):
            raise
        raise MissingDependency(f"{feature} needs {missing}, which is not installed; "
                                f"run: {INSTALL}", name=missing) from None
