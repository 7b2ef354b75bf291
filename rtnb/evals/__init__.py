"""Voice agent test suites: ``rtnb eval SUITE.yaml`` and its Python API.

A suite (YAML, :mod:`.suite`) names an agent and calls; each call is turns a simulated
caller says (typed, or spoken by the offline TTS) with expectations checked against the
session's event log (:mod:`.checks`), optionally by a judge model (:mod:`.judge`).

Execution seam (for executors on one machine or a cluster):

- :class:`~.spec.CallSpec`: one call, one repetition; frozen, picklable data.
- :func:`~.runner.warm_backend` / :func:`~.runner.run_call`: a worker's whole API; a
  fresh process that imports only ``rtnb.evals.runner`` can run a spec.
- :mod:`.executors`: ``Executor.map(specs)`` yields call entries as they complete;
  :func:`~.executors.executor_for` picks local threads/processes or Ray.
- :mod:`.results`: :class:`~.results.Results` is built from the list of entries alone,
  so every executor gives identical verdicts.

Everything here is imported lazily (``import rtnb`` stays fast).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_suite": "rtnb.evals.suite",
    "parse_suite": "rtnb.evals.suite",
    "Suite": "rtnb.evals.suite",
    "SuiteError": "rtnb.evals.suite",
    "CallSpec": "rtnb.evals.spec",
    "run_call": "rtnb.evals.runner",
    "warm_backend": "rtnb.evals.runner",
    "Executor": "rtnb.evals.executors",
    "LocalExecutor": "rtnb.evals.executors",
    "executor_for": "rtnb.evals.executors",
    "run": "rtnb.evals.results",
    "specs_for": "rtnb.evals.results",
    "Results": "rtnb.evals.results",
    "Judge": "rtnb.evals.judge",
    "pytest_suite": "rtnb.evals.pytest_helper",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rtnb.evals' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
