"""Shared fixtures: one real engine (real models, real sockets) per test session."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="session")
def engine():
    """The local engine with its default offline speech parts, on a free loopback port."""
    from rtnb.engine.background import start_engine

    with start_engine(port=0) as running:
        yield running


@pytest.fixture(scope="session")
def speech():
    """Synthetic user speech (24 kHz PCM16), generated once and cached."""
    from tests import speechgen

    return speechgen


@pytest.fixture(scope="session")
def two_utterances():
    """Two utterances with a 400 ms pause between them, and the first one's length (ms)."""
    from tests import speechgen

    return speechgen.two_utterances()


@pytest.fixture(scope="session")
def binder_venv(tmp_path_factory):
    """The Binder venv (``tests/binder_venv.py``), built once; skips unless RTNB_BINDER_TEST=1."""
    import os

    from tests import binder_venv as binder

    if not binder.enabled():
        pytest.skip("set RTNB_BINDER_TEST=1 to build the Binder venv and run the chapters in it")
    python = binder.binder_python()
    if python is None:
        pytest.skip("binder/runtime.txt asks for a Python version that is not installed")
    venv = binder.build(tmp_path_factory.mktemp("binder"), python)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(venv.jupyter_path), os.environ.get("JUPYTER_PATH")) if p)
    return venv


@pytest.fixture(scope="session")
def chapter_kernel(request) -> str:
    """The kernel the chapters run in: the Binder venv's in CI (RTNB_BINDER_TEST=1), so they
    run once, where readers run them; this environment's ``python3`` otherwise."""
    from tests import binder_venv as binder

    if not binder.enabled():
        return "python3"
    request.getfixturevalue("binder_venv")
    return binder.KERNEL_NAME


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """One JupyterLab (``tests/labharness.py``) for every browser test of the run, started
    when the first one asks for it (``lab``); skips unless Chromium, Playwright and
    JupyterLab are here."""
    from tests import labharness

    labharness.require_browser()
    with labharness.shared_lab(tmp_path_factory.mktemp("lab")) as lab:
        yield lab


@pytest.fixture
def lab(lab_server, request):
    """The shared JupyterLab with a new folder for this test (``lab.folder``); the kernels
    the test started are shut down after it, so none is left for the next test."""
    yield lab_server.subfolder(re.sub(r"\W", "_", request.node.name)[:60])
    lab_server.shut_down_kernels()
    assert lab_server.running_kernels() == 0
