"""Results from call entries alone (any executor, any order: the same verdicts), the
executor seam, and the spec's plain data."""

from __future__ import annotations

import json
import os
import pickle
import random
import threading
import time
from pathlib import Path

import pytest

from rtnb.evals import CallSpec, LocalExecutor, load_suite
from rtnb.evals import executors as ex
from rtnb.evals.results import Results, run, specs_for

SUITE = Path(__file__).resolve().parents[2] / "examples" / "evals" / "triage.yaml"


def entry(i: int, repeat: int, passed, e2e=(900.0,), checks=None) -> dict:
    checks = checks if checks is not None else [
        {"turn": 1, "check": "handoff", "expected": "billing",
         "actual": ["billing"] if passed else None, "passed": passed}]
    return {"name": f"call {i}", "repeat": repeat, "passed": passed, "checks": checks,
            "metrics": {"turns": [{"suite_turn": 1, "e2e": v} for v in e2e], "summary": {}},
            "recording": f"/tmp/rec/{i}-{repeat}", "call_index": i, "mode": "text",
            "seconds": 1.0, "error": None}


def test_spec_is_frozen_picklable_data():
    spec = CallSpec(str(SUITE), 2, 1, "ws://127.0.0.1:9/v1", "audio", None, "http://x/v1#m")
    assert pickle.loads(pickle.dumps(spec)) == spec
    with pytest.raises(AttributeError):
        spec.repeat = 3  # type: ignore[misc]
    for bad in ({"backend": "ftp://x"}, {"mode": "video"}, {"call_index": -1}):
        with pytest.raises(ValueError):
            CallSpec(str(SUITE), **{"call_index": 0, **bad})


def test_specs_cover_calls_times_repeats():
    suite = load_suite(SUITE)
    specs = specs_for(suite, repeat=2, mode="audio", judge="http://h/v1#m")
    assert [(s.call_index, s.repeat) for s in specs] == [(i, r) for i in range(3)
                                                        for r in range(2)]
    assert {(s.suite_path, s.mode, s.judge) for s in specs} == {
        (suite.path, "audio", "http://h/v1#m")}


def test_summary_verdicts_and_json():
    suite = load_suite(SUITE)
    skipped = [{"turn": 1, "check": "judge", "expected": "x", "actual": None, "passed": None,
                "skipped": "no judge"}]
    calls = [entry(0, 0, True, (800.0, 1200.0)), entry(1, 0, False, ()),
             entry(2, 0, None, (1000.0,), skipped)]
    results = Results(suite, calls, {"mode": "text", "workers": 2}, 30.0)
    s = results.summary()
    assert (s["calls"], s["passed"], s["failed"], s["skipped"]) == (3, 1, 1, 1)
    assert (s["checks_passed"], s["checks_failed"], s["checks_skipped"]) == (1, 1, 1)
    assert s["pass_rate"] == round(2 / 3, 4) and s["calls_per_minute"] == 6.0
    assert s["e2e_ms"] == {"n": 3, "p50": 1000.0, "p95": 1180.0, "max": 1200.0}
    assert results.exit_code == 1 and not results.passed
    data = json.loads(json.dumps(results.to_json()))
    assert set(data) == {"summary", "calls"} and len(data["calls"]) == 3
    [failure] = results.failures
    assert failure.name == "call 1" and failure.recording == "/tmp/rec/1-0"
    assert "turn 1: handoff: expected 'billing', got null" in failure.message()
    only_skipped = Results(suite, [calls[2]])
    assert only_skipped.exit_code == 0 and only_skipped.summary()["passed"] == 0


def test_any_completion_order_gives_identical_results():
    suite = load_suite(SUITE)
    calls = [entry(i, r, (i + r) % 3 != 0) for i in range(3) for r in range(2)]
    shuffled = calls[:]
    random.Random(1).shuffle(shuffled)
    a, b = Results(suite, calls), Results(suite, shuffled)
    assert a.to_json() == b.to_json()
    assert a.to_dataframe().equals(b.to_dataframe())


def test_html_grid_plot_and_standalone_report(tmp_path):
    suite = load_suite(SUITE)
    results = Results(suite, [entry(0, 0, True), entry(0, 1, False), entry(1, 0, None, (),
                      [{"turn": 1, "check": "judge", "expected": "x", "actual": None,
                        "passed": None, "skipped": "no judge configured"}])],
                      {"mode": "text"}, 3.0)
    html = results._repr_html_()
    assert html.count("✓") == 1 and html.count("✗") == 1 and html.count("–") == 1
    assert "title='turn 1 handoff'" in html
    assert "skipped: no judge configured" in html
    path = results.save_report(tmp_path / "r.html")
    page = path.read_text()
    assert page.startswith("<!doctype html>") and "data:image/png;base64," in page
    assert f"href='{os.path.relpath('/tmp/rec/0-1', tmp_path)}/'" in page   # the failing call
    assert page.count("href=") == 1
    assert results.plot().png()[:4] == b"\x89PNG"


def test_local_executor_yields_in_completion_order(monkeypatch):
    started = threading.Barrier(3)
    finished = {i: threading.Event() for i in range(4)}
    finished[3].set()

    def fake_run_call(spec):
        i = spec.call_index
        started.wait(timeout=5)                   # all three run at once
        finished[i + 1].wait(timeout=5)           # the last submitted finishes first
        time.sleep(0.3)                           # (well after the one before it)
        finished[i].set()
        return entry(i, spec.repeat, True)

    monkeypatch.setattr(ex, "run_call", fake_run_call)
    monkeypatch.setattr(ex, "warm_backend", lambda backend: backend)
    specs = [CallSpec(str(SUITE), i) for i in range(3)]
    order = [c["call_index"] for c in LocalExecutor(3).map(specs)]
    assert order == [2, 1, 0]
    for event in finished.values():
        event.clear()
    finished[3].set()
    results = run(SUITE, workers=3, progress=False, record=False,
                  executor=LocalExecutor(3))
    assert [c["call_index"] for c in results.calls] == [0, 1, 2]
    assert results.options["record_dir"] is None


def test_executor_for():
    assert isinstance(ex.executor_for(2), LocalExecutor)
    assert ex.executor_for(3, processes=True).processes
    with pytest.raises(ValueError):
        LocalExecutor(0)
