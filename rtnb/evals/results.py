"""Running a suite, and its results: JSON, a DataFrame, HTML, failures with recordings.

:func:`run` expands a suite into :class:`~.spec.CallSpec` s (calls × repeats), maps
them with an executor and builds :class:`Results` from the call entries alone.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .executors import Executor, executor_for
from .spec import CallSpec
from .suite import Suite, load_suite

__all__ = ["run", "specs_for", "Results", "Failure"]


def specs_for(suite: Suite, *, repeat: int | None = None, backend: str = "local",
              mode: str | None = None, record_dir: str | None = None,
              judge: str | None = None) -> list[CallSpec]:
    """Every call × repetition of ``suite`` as call specs (repetitions of a call together)."""
    if suite.path is None:
        raise ValueError("run a suite loaded from a file (rtnb.evals.load_suite(path))")
    times = repeat if repeat is not None else suite.repeat
    return [CallSpec(suite.path, i, r, backend, mode, record_dir, judge)
            for i in range(len(suite.calls)) for r in range(times)]


def run(suite: Suite | str | Path, workers: int = 1, ray: str | None = None, *,
        repeat: int | None = None, backend: str = "local", mode: str | None = None,
        record: str | Path | bool = True, judge: str | None = None,
        progress: bool = True, executor: Executor | None = None) -> Results:
    """Run every call of ``suite`` (a :class:`Suite` or a path) and collect the results.

    ``workers`` calls run at once (threads against one warm engine), or on a Ray cluster
    with ``ray="local"|"auto"|"ray://host:10001"``. ``repeat`` overrides the suite's;
    ``mode`` (``"audio"``/``"text"``) its mode. ``record``: a folder for the calls'
    recordings, True for a new temporary folder, False for none. ``judge``:
    ``"URL#model"`` (see :mod:`rtnb.evals.judge`). ``progress`` shows a tqdm bar.
    """
    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    if record is True:
        record_dir: str | None = tempfile.mkdtemp(prefix=f"rtnb-eval-{suite.name}-")
    else:
        record_dir = str(Path(record).resolve()) if record else None
    if judge is not None:
        from .judge import parse_spec

        parse_spec(judge)
    specs = specs_for(suite, repeat=repeat, backend=backend, mode=mode,
                      record_dir=record_dir, judge=judge)
    runner = executor if executor is not None else executor_for(workers, ray)
    started = time.monotonic()
    calls = list(_progress(runner.map(specs), len(specs), progress, suite.name))
    options = {"workers": workers, "ray": ray, "backend": backend,
               "mode": mode or suite.mode, "repeat": repeat or suite.repeat,
               "judge": judge, "record_dir": record_dir}
    return Results(suite, calls, options, round(time.monotonic() - started, 3))


def _progress(entries: Iterable[dict], total: int, show: bool, name: str) -> Iterable[dict]:
    if not show:
        yield from entries
        return
    from tqdm.auto import tqdm

    done = passed = 0
    with tqdm(total=total, desc=f"rtnb eval {name}", unit="call") as bar:
        for entry in entries:
            done += 1
            passed += entry["passed"] is not False
            bar.set_postfix_str(f"pass rate {passed / done:.0%}", refresh=False)
            bar.update()
            yield entry


@dataclass
class Failure:
    """A call that failed: its failed checks and the folder of its recording, which
    ``rtnb.load()`` replays and ``rtnb.plot_latency()`` plots (see :meth:`load`)."""

    name: str
    repeat: int
    checks: list[dict[str, Any]]
    recording: str | None
    error: str | None = None

    def load(self) -> Any:
        """The call's :class:`rtnb.Recording` (``rtnb.load(self.recording)``)."""
        if self.recording is None:
            raise ValueError(f"{self.name!r} was run without recording (record=False)")
        from ..session import load

        return load(self.recording)

    def message(self) -> str:
        """A readable account of what failed (the pytest helper's failure message)."""
        lines = [f"call {self.name!r} (repeat {self.repeat}) failed:"]
        for c in self.checks:
            where = "whole call" if c["turn"] == 0 else f"turn {c['turn']}"
            lines.append(f"  {where}: {c['check']}: expected {_short(c['expected'])}, "
                         f"got {_short(c['actual'])}")
        if self.recording:
            lines.append(f"  recording: {self.recording} (rtnb.load() replays it)")
        return "\n".join(lines)


def _short(value: Any, n: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= n else text[:n] + "…"


@dataclass
class Results:
    """The outcome of a run: one entry per call and repetition (``calls``), in suite order."""

    suite: Suite
    calls: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.calls = sorted(self.calls, key=lambda c: (c["call_index"], c["repeat"]))

    # -- verdicts ----------------------------------------------------------------------------

    @property
    def passed(self) -> bool:
        """True when no check failed (skipped checks don't fail a run)."""
        return all(c["passed"] is not False for c in self.calls)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    @property
    def checks(self) -> list[dict[str, Any]]:
        return [{"name": c["name"], "repeat": c["repeat"], **k}
                for c in self.calls for k in c["checks"]]

    @property
    def failures(self) -> list[Failure]:
        """The calls that failed, with their failed checks and recordings."""
        return [Failure(c["name"], c["repeat"], [k for k in c["checks"] if k["passed"] is False],
                        c["recording"], c.get("error"))
                for c in self.calls if c["passed"] is False]

    def e2e_values(self) -> list[float]:
        return [t["e2e"] for c in self.calls for t in c["metrics"]["turns"]
                if t.get("e2e") is not None]

    def summary(self) -> dict[str, Any]:
        checks = self.checks
        n = len(self.calls)
        e2e = sorted(self.e2e_values())
        out: dict[str, Any] = {
            "suite": self.suite.name, "path": self.suite.path, "agent": self.suite.agent,
            **{k: self.options.get(k) for k in ("mode", "backend", "workers", "ray",
                                                 "repeat", "judge")},
            "calls": n,
            "passed": sum(c["passed"] is True for c in self.calls),
            "failed": sum(c["passed"] is False for c in self.calls),
            "skipped": sum(c["passed"] is None for c in self.calls),
            "checks": len(checks),
            "checks_passed": sum(k["passed"] is True for k in checks),
            "checks_failed": sum(k["passed"] is False for k in checks),
            "checks_skipped": sum(k["passed"] is None for k in checks),
            "pass_rate": round(sum(c["passed"] is not False for c in self.calls) / n, 4)
            if n else None,
            "seconds": self.seconds,
            "calls_per_minute": round(60 * n / self.seconds, 2) if self.seconds else None,
        }
        if e2e:
            from ..analysis.metrics import percentile

            out["e2e_ms"] = {"n": len(e2e), "p50": round(statistics.median(e2e), 1),
                             "p95": round(percentile(e2e, 95), 1), "max": round(e2e[-1], 1)}
        return out

    # -- views -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """``{"summary": {...}, "calls": [...]}``, as ``rtnb eval --json`` writes it."""
        return {"summary": self.summary(), "calls": self.calls}

    def save_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")
        return path

    def to_dataframe(self, checks: bool = False) -> Any:
        """One row per call and repetition (or, ``checks=True``, per check); needs pandas
        (``pip install "rtnb[evals]"``)."""
        from .._extras import MissingDependency

        try:
            import pandas as pd
        except ModuleNotFoundError:
            raise MissingDependency('results as a DataFrame need pandas, which is not '
                                    'installed; run: pip install "rtnb[evals]"',
                                    name="pandas") from None

        if checks:
            return pd.DataFrame(self.checks)
        rows = []
        for c in self.calls:
            e2e = [t["e2e"] for t in c["metrics"]["turns"] if t.get("e2e") is not None]
            rows.append({"name": c["name"], "repeat": c["repeat"], "passed": c["passed"],
                         "checks": len(c["checks"]),
                         "failed": sum(k["passed"] is False for k in c["checks"]),
                         "skipped": sum(k["passed"] is None for k in c["checks"]),
                         "e2e_p50_ms": statistics.median(e2e) if e2e else None,
                         "e2e_max_ms": max(e2e) if e2e else None,
                         "seconds": c.get("seconds"), "recording": c["recording"]})
        return pd.DataFrame(rows)

    @property
    def df(self) -> Any:
        return self.to_dataframe()

    def plot(self) -> Any:
        """The latency distribution: each call's turn e2e, as an :class:`rtnb.plots.Plot`."""
        from .report import latency_plot

        return latency_plot(self)

    def _repr_html_(self) -> str:
        from .report import results_html

        return results_html(self, standalone=False)

    def save_report(self, path: str | Path) -> Path:
        """One self-contained HTML file (plot inline); failing calls link their recordings."""
        from .report import results_html

        path = Path(path)
        path.write_text(results_html(self, standalone=True, base=path.resolve().parent),
                        encoding="utf-8")
        return path

    def __repr__(self) -> str:
        s = self.summary()
        return (f"<rtnb eval {s['suite']}: {s['passed']} passed, {s['failed']} failed, "
                f"{s['skipped']} skipped of {s['calls']} calls in {self.seconds:.1f}s>")
