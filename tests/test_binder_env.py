"""Binder without Docker: a fresh venv from binder/requirements.txt alone runs every notebook.

repo2docker reads only ``binder/``: it installs ``binder/requirements.txt`` with pip from the
repository root, on the Python version in ``binder/runtime.txt``, then runs
``binder/postBuild``. This test does the same in a new virtual environment (no packages
from the outer environment, rtnb installed as a wheel from the repository rather than
imported from the source tree). It then executes every
notebook with nbclient *inside* that venv, in a temporary copy of ``notebooks/``, with
``OPENAI_API_KEY`` removed so they run offline on the local engine.

It installs about 1 GB (mostly from pip's cache) and runs all chapters, so it is slow:
it only runs when ``RTNB_BINDER_TEST=1`` (CI sets it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"

pytestmark = pytest.mark.binder
needs_opt_in = pytest.mark.skipif(
    os.environ.get("RTNB_BINDER_TEST") != "1",
    reason="set RTNB_BINDER_TEST=1 to build the Binder venv and run the notebooks in it")

#: Runs inside the venv: a probe notebook, then every chapter; one JSON line per notebook.
RUNNER = r'''
import json, sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

nbdir = Path(sys.argv[1])


def run(nb):
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(nbdir)}}).execute()


probe = nbformat.v4.new_notebook()
probe.cells = [nbformat.v4.new_code_cell(
    "import sys, anywidget, av, ipywebrtc, ipywidgets, matplotlib, rtnb\n"
    "print(sys.prefix)\nprint(rtnb.__file__)")]
run(probe)
print(json.dumps({"probe": probe.cells[0].outputs[0]["text"].split()}), flush=True)

failed = False
for path in sorted(nbdir.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        run(nb)
        error = None
    except CellExecutionError as exc:
        failed, error = True, str(exc)[-3000:]
    print(json.dumps({"notebook": path.stem, "seconds": round(time.perf_counter() - start, 1),
                      "error": error}), flush=True)
sys.exit(1 if failed else 0)
'''


def binder_python() -> str:
    """An interpreter of the version binder/runtime.txt names (this one, if it matches)."""
    wanted = re.fullmatch(r"python-(\d+)\.(\d+)", (BINDER / "runtime.txt").read_text().strip())
    assert wanted, "binder/runtime.txt must read python-X.Y"
    major, minor = int(wanted[1]), int(wanted[2])
    if sys.version_info[:2] == (major, minor):
        return sys.executable
    other = shutil.which(f"python{major}.{minor}")
    if other is None:
        pytest.skip(f"binder/runtime.txt asks for Python {major}.{minor}, which is not installed")
    return other


def test_runtime_and_requirements_are_pinned():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    lines = [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[0] == ".[notebook]", "rtnb itself, from the repository root"
    unpinned = [ln for ln in lines[1:] if "==" not in ln]
    assert not unpinned, f"pin exact versions: {unpinned}"
    names = {re.split(r"[\[=]", ln)[0].lower() for ln in lines[1:]}
    assert {"jupyterlab", "ipykernel", "ipywidgets", "anywidget", "matplotlib",
            "nbclient"} <= names
    assert (BINDER / "jupyter_server_config.py").is_file()
    post = (BINDER / "postBuild").read_text()
    assert "--no-deps" in post and re.search(r"pipecat-ai==[\d.]+", post), (
        "postBuild installs the end-of-turn model's wheel, pinned, without its dependencies")


@pytest.mark.slow
@needs_opt_in
@pytest.mark.timeout(3600)
def test_fresh_venv_from_binder_requirements_runs_every_notebook(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "RTNB_TOKEN", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    venv = tmp_path / "venv"
    started = time.perf_counter()
    subprocess.run([binder_python(), "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        cwd=ROOT, env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    post = subprocess.run(["bash", "binder/postBuild"], cwd=ROOT, capture_output=True,
                          text=True, env={**env, "PATH": f"{venv / 'bin'}:{env['PATH']}"})
    installed = time.perf_counter()
    assert post.returncode == 0, post.stdout[-3000:] + post.stderr[-3000:]

    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    runner = tmp_path / "run_notebooks.py"
    runner.write_text(RUNNER)
    run = subprocess.run([str(python), str(runner), str(notebooks)], cwd=notebooks, env=env,
                         capture_output=True, text=True, timeout=3000)
    finished = time.perf_counter()

    rows = [json.loads(ln) for ln in run.stdout.splitlines() if ln.startswith("{")]
    print(f"\nbinder venv: install {installed - started:.0f} s, notebooks "
          f"{finished - installed:.0f} s, total {finished - started:.0f} s")
    for row in rows[1:]:
        print(f"  {row['notebook']}: {row['seconds']} s{' FAILED' if row['error'] else ''}")
    assert rows and "probe" in rows[0], run.stdout[-3000:] + run.stderr[-3000:]
    prefix, rtnb_file = rows[0]["probe"]
    assert Path(prefix).resolve() == venv.resolve(), "the kernel must run in the Binder venv"
    assert Path(rtnb_file).resolve().is_relative_to(venv.resolve()), (
        "rtnb must come from the wheel installed by binder/requirements.txt")
    failures = {r["notebook"]: r["error"] for r in rows[1:] if r["error"]}
    assert not failures, json.dumps(failures, indent=1)
    assert sorted(r["notebook"] for r in rows[1:]) == sorted(
        p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert run.returncode == 0, run.stderr[-3000:]
