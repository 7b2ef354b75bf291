"""Project wiring: the README's commands, CI, and a fast import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", setup)


def test_readme_gives_two_setup_commands_and_ci_runs_the_test_one():
    install, test = readme_commands()
    assert "pip install" in install and "rtnb demo" in install
    assert "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text()


def test_import_is_lazy_and_fast():
    code = ("import sys, time; t = time.perf_counter(); import rtnb; "
            "dt = time.perf_counter() - t; "
            "heavy = [m for m in ('numpy', 'openai', 'onnxruntime', 'faster_whisper', 'piper', "
            "'websockets', 'pydantic') if m in sys.modules]; print(dt, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split(" ", 1)
    assert out[1].strip() == "[]"
    assert float(out[0]) < 0.5
