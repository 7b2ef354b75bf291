"""The ``rtnb`` command checks its arguments and the port before any model loads."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import rtnb

ROOT = Path(__file__).resolve().parent.parent
LOADING = "loading VAD"  # the first line of model loading


def rtnb_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtnb", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def first_lines_then_stop(args: list[str], until: str, limit: int = 10) -> list[str]:
    """Start ``rtnb serve``, read stderr lines until one contains ``until``, then stop it."""
    proc = subprocess.Popen([sys.executable, "-m", "rtnb", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: list[str] = []
    try:
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if until in line or len(lines) >= limit:
                break
    finally:
        proc.kill()
        proc.wait(30)
    return lines


@pytest.mark.parametrize(("port", "why"), [("99999", "out of range"), ("-1", "out of range"),
                                           ("http", "not a port number")])
def test_a_bad_port_is_a_one_line_usage_error_before_loading(port, why):
    result = rtnb_cli("serve", "--port", port)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert result.stderr.startswith("rtnb serve: error: argument --port:") and why in result.stderr
    assert "Traceback" not in result.stderr and LOADING not in result.stderr


def test_a_bad_brain_spec_is_a_usage_error_before_loading():
    result = rtnb_cli("serve", "--brain", "ftp://example/v1")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "argument --brain" in result.stderr and LOADING not in result.stderr


def test_a_busy_port_is_found_before_loading_with_a_hint():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = rtnb_cli("serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "--port 0" in result.stderr and LOADING not in result.stderr


def test_help_is_plain_text_and_version_matches_the_package():
    for args in (["--help"], ["serve", "--help"], ["demo", "--help"]):
        result = rtnb_cli(*args)
        assert result.returncode == 0 and "usage: rtnb" in result.stdout
        assert "``" not in result.stdout and ":func:" not in result.stdout
    version = rtnb_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"rtnb {rtnb.__version__}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "(.+)"$', pyproject, re.M).group(1) == rtnb.__version__


def test_all_interfaces_without_a_token_warns_before_loading():
    lines = first_lines_then_stop(["serve", "--host", "0.0.0.0", "--port", "0"],
                                  until=LOADING)
    assert lines[0].startswith("rtnb: warning: listening on 0.0.0.0 without --token")
    assert "RTNB_TOKEN" in lines[0]
    loopback = first_lines_then_stop(["serve", "--port", "0"], until=LOADING)
    assert not any("warning" in line for line in loopback)


def test_a_dead_brain_is_reported_at_start_in_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lines = first_lines_then_stop(
        ["serve", "--port", "0", "--brain", f"http://127.0.0.1:{port}/v1#llama3.2"],
        until=LOADING)
    assert lines[0].startswith(f"rtnb: warning: the brain endpoint http://127.0.0.1:{port}/v1 "
                               "is unreachable")
    assert "every response will fail" in lines[0]
    assert LOADING in lines[1]  # it still starts: the endpoint may come up later


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_saves_the_folder_the_readme_describes(tmp_path):
    setup = (ROOT / "README.md").read_text().split("## Set up", 1)[1].split("```", 1)[0]
    folder, files = re.search(r"saved in the folder `([\w-]+)/`: ((?:`[\w.]+`,?\s*)+)",
                              setup).groups()
    assert folder == "rtnb-demo"
    names = re.findall(r"`([\w.]+)`", files)
    result = subprocess.run([sys.executable, "-m", "rtnb", "demo", "--say",
                             "What's the weather in Paris?"], capture_output=True, text=True,
                            timeout=280, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "agent > The weather in Paris is 18 degrees and sunny." in result.stdout
    assert sorted(p.name for p in (tmp_path / folder).iterdir()) == sorted(names)
