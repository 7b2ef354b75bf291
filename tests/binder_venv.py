"""The Binder environment as repo2docker builds it, without Docker: a fresh venv from binder/.

repo2docker reads only ``binder/``: it installs ``binder/requirements.txt`` with pip from the
repository root, on the Python version in ``binder/runtime.txt``, then runs
``binder/postBuild``. :func:`build` does the same in a new virtual environment (no packages
from the outer environment; rtnb installed from the repository as a wheel, not imported
from the source tree) and registers the venv's Python as a Jupyter kernel, so the chapters
can run in it (``tests/test_notebooks.py``) without executing them a second time.

It installs about 1 GB (mostly from pip's cache), so it is built only when
``RTNB_BINDER_TEST=1`` (CI sets it), once per test session (``binder_venv`` fixture).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
KERNEL_NAME = "rtnb-binder"
#: Variables a Binder kernel must not inherit: they would point it at the source tree, an
#: outer venv, or a key (the chapters run offline).
NOT_INHERITED = ("OPENAI_API_KEY", "RTNB_TOKEN", "PYTHONPATH", "VIRTUAL_ENV")


def enabled() -> bool:
    return os.environ.get("RTNB_BINDER_TEST") == "1"


@dataclass(frozen=True)
class BinderVenv:
    root: Path
    python: Path
    #: A folder to put on ``JUPYTER_PATH``: it holds the kernelspec :data:`KERNEL_NAME`.
    jupyter_path: Path
    install_s: float


class BinderBuildError(RuntimeError):
    """The venv could not be built: the step and the end of its output."""


def binder_python() -> str | None:
    """An interpreter of the version binder/runtime.txt names (this one, if it matches)."""
    wanted = re.fullmatch(r"python-(\d+)\.(\d+)", (BINDER / "runtime.txt").read_text().strip())
    if not wanted:
        raise BinderBuildError("binder/runtime.txt must read python-X.Y")
    major, minor = int(wanted[1]), int(wanted[2])
    if sys.version_info[:2] == (major, minor):
        return sys.executable
    return shutil.which(f"python{major}.{minor}")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def build(root: Path, python: str) -> BinderVenv:
    """Create the venv under ``root`` as repo2docker would, and register its kernel."""
    env = clean_env()
    started = time.perf_counter()
    venv = root / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env)
    vpython = venv / "bin" / "python"
    steps = [([str(vpython), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
              env),
             (["bash", "binder/postBuild"], {**env, "PATH": f"{venv / 'bin'}:{env['PATH']}"})]
    for argv, step_env in steps:
        done = subprocess.run(argv, cwd=ROOT, env=step_env, capture_output=True, text=True)
        if done.returncode:
            raise BinderBuildError(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}"
                                   f"{done.stderr[-3000:]}")
    spec = root / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(vpython), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Binder venv)", "language": "python"}))
    return BinderVenv(venv, vpython, root / "jupyter", time.perf_counter() - started)
