"""Binder without Docker: a fresh venv from binder/ alone gives the kernel the chapters run in.

``tests/binder_venv.py`` builds the venv as repo2docker would; with ``RTNB_BINDER_TEST=1``
(CI), ``tests/test_notebooks.py`` runs every chapter in that venv's kernel (once: not again
in this environment). Here: the pins, and that the kernel really is the venv's, with rtnb
installed from the repository as a wheel, and the notebook parts importable.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"

pytestmark = pytest.mark.binder


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
@pytest.mark.timeout(1800)
def test_the_binder_venv_kernel_runs_rtnb_from_its_wheel(binder_venv, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    from tests.binder_venv import KERNEL_NAME
    from tests.test_notebooks import kernel_env

    probe = nbformat.v4.new_notebook()
    probe.cells = [nbformat.v4.new_code_cell(
        "import sys, anywidget, av, ipywebrtc, ipywidgets, matplotlib, rtnb\n"
        "print(sys.prefix)\nprint(rtnb.__file__)")]
    NotebookClient(probe, timeout=300, kernel_name=KERNEL_NAME,
                   resources={"metadata": {"path": str(tmp_path)}}
                   ).execute(env=kernel_env(KERNEL_NAME))
    print(f"\nbinder venv: install {binder_venv.install_s:.0f} s")
    prefix, rtnb_file = probe.cells[0].outputs[0]["text"].split()
    assert Path(prefix).resolve() == binder_venv.root.resolve(), "the kernel must run in the venv"
    assert Path(rtnb_file).resolve().is_relative_to(binder_venv.root.resolve()), (
        "rtnb must come from the wheel installed by binder/requirements.txt")
