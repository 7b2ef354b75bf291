"""Run a suite from pytest: every call (and repetition) becomes one test item.

In a test module of your own::

    from rtnb.evals import pytest_suite

    test_triage = pytest_suite("triage.yaml", mode="text")

A failing call fails its item with the failed checks (turn, check, expected, actual) and
the path of its recording; a call whose checks were all skipped (say, judge checks with
no judge configured) is skipped with the reason. An invalid suite is a collection error.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

__all__ = ["pytest_suite"]


def pytest_suite(path: str | Path, *, mode: str | None = None, backend: str = "local",
                 repeat: int | None = None, record: str | Path | None = None,
                 judge: str | None = None) -> Any:
    """A test function parametrised over the suite's calls × repetitions.

    ``path`` may be relative to the calling test file. The options are
    :func:`rtnb.evals.run`'s; ``record`` is a folder for the recordings (None: keep a
    failing call's recording in pytest's temporary folder).
    """
    import pytest

    from .results import Failure, specs_for
    from .runner import run_call
    from .suite import load_suite

    file = Path(path)
    if not file.is_absolute() and not file.exists():
        caller = Path(inspect.stack()[1].filename).resolve().parent
        file = caller / file
    suite = load_suite(file)
    record_dir = str(Path(record).resolve()) if record is not None else None
    specs = specs_for(suite, repeat=repeat, backend=backend, mode=mode,
                      record_dir=record_dir, judge=judge)
    ids = [f"{suite.calls[s.call_index].name}-r{s.repeat}" for s in specs]

    @pytest.mark.parametrize("rtnb_call", specs, ids=ids)
    def test_call(rtnb_call: Any, tmp_path: Path) -> None:
        spec = rtnb_call
        if spec.record_dir is None:
            from dataclasses import replace

            spec = replace(spec, record_dir=str(tmp_path))
        entry = run_call(spec)
        if entry["passed"] is False:
            failure = Failure(entry["name"], entry["repeat"],
                              [c for c in entry["checks"] if c["passed"] is False],
                              entry["recording"], entry.get("error"))
            pytest.fail(failure.message(), pytrace=False)
        if entry["passed"] is None:
            reasons = sorted({c.get("skipped", "") for c in entry["checks"]} - {""})
            pytest.skip("; ".join(reasons) or "no check ran")

    test_call.__doc__ = f"The calls of {file.name} ({suite.agent})."
    return test_call
