"""Executors map :func:`~rtnb.evals.runner.run_call` over call specs.

The seam: a :class:`~rtnb.evals.spec.CallSpec` (pure data) goes in, a JSON-able call
entry comes out, and the results are built from the list of entries alone, so every
executor gives identical verdicts.

- :class:`LocalExecutor` (``--workers N``): N calls at once in this process, each on its
  own thread and event loop, all against **one shared warm engine** (the engine batches
  ASR across sessions). ``processes=True`` runs a process pool instead, each worker with
  its own engine. Measured side by side (``benchmarks/evals_workers.py``, triage suite,
  text mode, 6 calls, 2 workers, on 2 cores that other jobs kept 85-100 % busy): shared
  3.82 calls/min (3.05 with its 24 s warm-up) against 3.27 (2.28 with a 48 s warm-up)
  for a process each, which also loads every model once per worker. Hence the default.
- ``RayExecutor`` (``--ray``): ``rtnb.evals.ray_executor.RayExecutor(address, workers)``,
  actors that call ``warm_backend`` once and ``run_call`` per task; loaded lazily by
  :func:`executor_for`.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from .runner import run_call, warm_backend
from .spec import CallSpec, ExecutorUnavailable

__all__ = ["Executor", "LocalExecutor", "ExecutorUnavailable", "executor_for"]


class Executor(Protocol):
    def map(self, specs: Sequence[CallSpec]) -> Iterator[dict[str, Any]]:
        """Run every spec; yield each call entry as it completes."""
        ...


class LocalExecutor:
    """Run ``workers`` calls at once on this machine (threads sharing one warm engine, or
    with ``processes=True`` a process each, each with its own engine)."""

    def __init__(self, workers: int = 1, *, processes: bool = False) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.processes = processes

    def __repr__(self) -> str:
        how = "processes" if self.processes else "threads, one shared engine"
        return f"LocalExecutor(workers={self.workers}, {how})"

    def map(self, specs: Sequence[CallSpec]) -> Iterator[dict[str, Any]]:
        specs = list(specs)
        if not specs:
            return
        backends = sorted({s.backend for s in specs})
        if self.processes:
            import multiprocessing

            pool: cf.Executor = cf.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_all, initargs=(backends,))
        else:
            _warm_all(backends)  # once, before the calls race to start it
            pool = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="rtnb-eval")
        with pool:
            futures = [pool.submit(run_call, s) for s in specs]
            try:
                for future in cf.as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()


def _warm_all(backends: Sequence[str]) -> None:
    for backend in backends:
        warm_backend(backend)


def executor_for(workers: int = 1, ray: str | None = None, *,
                 processes: bool = False) -> Executor:
    """The executor for ``--workers``/``--ray``: Ray when ``ray`` is given (``"local"``,
    ``"auto"`` or ``ray://host:10001``), else a :class:`LocalExecutor`."""
    if ray is None:
        return LocalExecutor(workers, processes=processes)
    try:
        from .ray_executor import RayExecutor  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name not in ("rtnb.evals.ray_executor", "ray"):
            raise
        missing = ("the Ray executor is not available in this version of rtnb"
                   if exc.name == "rtnb.evals.ray_executor"
                   else 'Ray is not installed: pip install "rtnb[ray]"')
        raise ExecutorUnavailable(f"--ray: {missing}") from None
    return RayExecutor(address=ray, workers=workers)
