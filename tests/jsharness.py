"""The JavaScript Agents SDK tests' Node side: tests/js (package.json + lockfile)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent / "js"


def node() -> str:
    """The ``node`` binary; the tests skip only when there is none."""
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed: the JavaScript Agents SDK tests need Node 20+")
    return path


def ensure_packages() -> None:
    """``npm ci`` from the lockfile when tests/js/node_modules is missing (CI runs it first)."""
    if (JS / "node_modules" / "@openai" / "agents").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: run `npm ci` in tests/js")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"],
                   cwd=JS, check=True, timeout=600)


def run(script: str, *args: str, timeout: float = 300) -> dict:
    """Run a script in tests/js; returns the JSON report it prints on its last line."""
    exe = node()
    ensure_packages()
    proc = subprocess.run([exe, script, *args], cwd=JS, capture_output=True, text=True,
                          timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        pytest.fail(f"{script} printed nothing (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    report = json.loads(lines[-1])
    assert proc.returncode == 0 and "failed" not in report, report.get("failed") or proc.stderr
    return report
