"""``rtnb eval --ray``: the same verdicts as the local executor, on a real local Ray cluster
(two actors, each starting its own offline engine); Ray imported only when asked for; one
line when Ray is missing or a cluster can't be reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rtnb
from tests.evals.suites import PLANTED

ROOT = Path(__file__).resolve().parents[2]

# Three calls, one with a planted wrong expectation, so the verdicts differ across calls.
SUITE = PLANTED + """\
  - name: hands off to the haiku writer
    turns:
      - say: "Hi!"
      - say: "Yes please!"
        expect: {handoff: haikuWriter}
"""


def _eval(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtnb", "eval", *args, "--no-progress"],
                          capture_output=True, text=True, cwd=cwd, timeout=900,
                          env=None if env is None else {**os.environ, **env})


def _verdicts(path: Path) -> list:
    calls = json.loads(path.read_text())["calls"]
    return sorted((c["name"], c["repeat"], c["passed"],
                   [(k["turn"], k["check"], k["passed"]) for k in c["checks"]])
                  for c in calls)


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(900)
def test_local_and_ray_local_give_identical_verdicts(engine, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    suite = tmp_path / "suite" / "planted.yaml"
    suite.parent.mkdir()
    suite.write_text(SUITE)
    local = _eval(str(suite), "--backend", engine.url, "--json", str(tmp_path / "local.json"),
                  cwd=tmp_path)
    # the actors start their own engines ("local" backend), from the suite shipped to them
    ray = _eval(str(suite), "--ray", "local", "--workers", "2", "--repeat", "1",
                "--json", str(tmp_path / "ray.json"), "--record", str(tmp_path / "rec"),
                cwd=tmp_path)
    assert local.returncode == 1, local.stderr[-3000:]
    assert ray.returncode == 1, ray.stdout[-2000:] + ray.stderr[-3000:]
    verdicts = _verdicts(tmp_path / "local.json")
    assert verdicts == _verdicts(tmp_path / "ray.json")
    assert [v[2] for v in verdicts] == [True, True, False]  # sorted by name; planted fails
    assert "planted wrong handoff" in ray.stdout

    # recordings made on the actors come back to --record, and replay
    calls = json.loads((tmp_path / "ray.json").read_text())["calls"]
    for call in calls:
        assert Path(call["recording"]).parent == tmp_path / "rec"
    planted = next(c for c in calls if c["passed"] is False)
    recording = rtnb.load(planted["recording"])
    assert len(recording.turns) == 2   # the two user turns, with their metrics


def test_ray_is_imported_only_when_asked_for():
    code = ("import sys, rtnb, rtnb.evals, rtnb.evals.cli, rtnb.evals.executors; "
            "from rtnb.evals import load_suite, run, executor_for; "
            "executor_for(2, None); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "False"


HIDE_RAY = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "ray":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Hide())
from rtnb.cli import main
sys.argv = ["rtnb", "eval", sys.argv[1], "--ray"]
raise SystemExit(main())
"""


def test_without_ray_one_line_names_the_extra(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE)
    proc = subprocess.run([sys.executable, "-c", HIDE_RAY, str(suite)], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "rtnb[ray]"' in lines[0], proc.stderr


@pytest.mark.ray
@pytest.mark.timeout(300)
def test_unreachable_cluster_is_one_line_with_the_address(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE)
    address = f"ray://127.0.0.1:{port}"
    # Ray Client's retries, shortened: 1 s per attempt instead of 5, 10, 15 s
    quick = {"RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S": "1",
             "RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S": "1"}
    proc = _eval(str(suite), "--ray", address, cwd=tmp_path, env=quick)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("rtnb eval")]
    assert len(lines) == 1 and address in lines[0], proc.stderr


def test_the_suite_folder_travels_without_caches_or_recordings(tmp_path, monkeypatch):
    from rtnb.evals import ray_executor

    folder = tmp_path / "suite"
    (folder / "__pycache__").mkdir(parents=True)
    (folder / "__pycache__" / "agent.cpython-311.pyc").write_bytes(b"x")
    (folder / "rec" / "000-call-r0").mkdir(parents=True)
    (folder / "rec" / "000-call-r0" / "output.wav").write_bytes(b"RIFF")
    (folder / "data").mkdir()
    (folder / "suite.yaml").write_text(SUITE)
    (folder / "data" / "prices.json").write_text("{}")
    files = ray_executor.pack_folder(folder, skip=[folder / "rec"])
    assert sorted(files) == ["data/prices.json", "suite.yaml"]
    ray_executor.unpack_folder(files, tmp_path / "worker")
    assert (tmp_path / "worker" / "suite.yaml").read_text() == SUITE

    monkeypatch.setattr(ray_executor, "MAX_FOLDER_BYTES", 100)
    with pytest.raises(ValueError, match="folder of its own"):
        ray_executor.pack_folder(folder)
