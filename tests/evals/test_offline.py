"""Suites on the real local engine (real models, loopback sockets): the shipped suites
pass, a planted wrong expectation exits 1 with the JSON and report, audio-mode callers
(voice, speed, noise, barge-in) work, and the pytest helper fails the right item.

Every run here shares the test session's engine (``--backend ws://…``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rtnb
from rtnb.evals import load_suite, run
from tests.evals.suites import PLANTED

# Shared CI machines: the engine loads in the first test, and calls queue behind other jobs.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "evals"



@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.mark.parametrize("name", ["example", "triage", "simple_handoff",
                                  "customer_service_retail", "chat_supervisor", "robustness"])
def test_shipped_suite_passes_in_text_mode(engine, tmp_path, name):
    # One call at a time: the suites' latency budgets (max_e2e_ms) are real checks, and
    # concurrent calls on 2 busy cores pushed a triage turn's e2e to 19 s.
    results = run(EXAMPLES / f"{name}.yaml", workers=1, backend=engine.url, mode="text",
                  record=tmp_path, progress=False)
    assert results.passed, "\n".join(f.message() for f in results.failures)
    assert all(c["passed"] is True for c in results.calls)
    assert results.summary()["checks_failed"] == 0
    skipped = [k for k in results.checks if k["passed"] is None]
    assert all(k["check"] == "judge" for k in skipped)   # only the example judges, offline


def test_audio_mode_with_voice_speed_noise_and_barge_in(engine, tmp_path):
    path = EXAMPLES / "robustness.yaml"
    assert load_suite(path).mode == "audio"
    results = run(path, backend=engine.url, record=tmp_path / "rec", progress=False)
    call = results.calls[0]
    assert call["passed"] is True, results.failures[0].message()
    turns = call["metrics"]["turns"]
    assert {t["kind"] for t in turns} == {"voice"}
    # the second line cut Billing's greeting off: the analysis layer measured the barge-in
    assert any(t["barge_in"] is not None for t in turns)
    recording = rtnb.load(call["recording"])
    assert len(recording.metrics()) == len(turns)


def test_planted_failure_exit_1_with_json_and_report(engine, tmp_path):
    suite = tmp_path / "planted.yaml"
    suite.write_text(PLANTED)
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "rtnb", "eval", str(suite), "--backend", engine.url,
         "--workers", "2", "--json", str(out), "--report", str(report)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "call 'planted wrong handoff' (repeat 0) failed:" in proc.stdout
    assert "turn 2: handoff: expected 'greeter', got [\"haikuWriter\"]" in proc.stdout
    assert "pass rate" in proc.stderr                       # the tqdm bar

    data = json.loads(out.read_text())
    assert set(data) == {"summary", "calls"}
    summary = data["summary"]
    assert (summary["calls"], summary["passed"], summary["failed"]) == (2, 1, 1)
    assert summary["checks_failed"] == 1 and summary["checks_passed"] == 2
    for call in data["calls"]:
        assert {"name", "repeat", "passed", "checks", "metrics", "recording"} <= set(call)
        for check in call["checks"]:
            assert {"turn", "check", "expected", "actual", "passed"} <= set(check)
        assert {"turns", "summary"} <= set(call["metrics"])
        assert all("e2e" in t and "handoff_time" in t for t in call["metrics"]["turns"])
    failed = next(c for c in data["calls"] if c["passed"] is False)
    bad = [k for k in failed["checks"] if k["passed"] is False]
    assert bad == [{"turn": 2, "check": "handoff", "expected": "greeter",
                    "actual": ["haikuWriter"], "passed": False}]
    # the failing call's recording replays, and its handoff was measured
    recording = rtnb.load(failed["recording"])
    assert recording.metrics()[1].handoff_time is not None
    # the report stands alone (images inline) and links the failing call's recording
    page = report.read_text()
    assert "src='data:image/png;base64," in page
    assert not re.search(r"""src=['"](?!data:)""", page)
    link = Path(failed["recording"]).relative_to(tmp_path)
    assert f"href='{link}/'" in page


def test_pytest_helper_fails_one_item_with_a_readable_message(engine, tmp_path):
    (tmp_path / "planted.yaml").write_text(PLANTED)
    (tmp_path / "test_agent_suite.py").write_text(textwrap.dedent(f"""\
        from rtnb.evals import pytest_suite

        test_calls = pytest_suite("planted.yaml", backend={engine.url!r})
        """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "test_agent_suite.py")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "1 failed, 1 passed" in out
    assert "FAILED test_agent_suite.py::test_calls[planted wrong handoff-r0]" in out
    assert "turn 2: handoff: expected 'greeter', got [\"haikuWriter\"]" in out
    assert "recording:" in out


def test_results_api(engine, tmp_path):
    suite = tmp_path / "planted.yaml"
    suite.write_text(PLANTED)
    results = run(load_suite(suite), workers=2, repeat=2, backend=engine.url, progress=False)
    assert results.exit_code == 1 and len(results.calls) == 4
    df = results.to_dataframe()
    assert list(df["passed"]) == [True, True, False, False]
    assert set(results.to_dataframe(checks=True)["check"]) == {"reply_contains", "handoff",
                                                              "reply_matches"}
    assert len(results.failures) == 2
    replay = results.failures[0].load()
    plot = rtnb.plot_latency(replay)
    assert plot.png()[:4] == b"\x89PNG"
    html = results._repr_html_()
    assert "✗" in html and "✓" in html and "data:image/png;base64," in html
