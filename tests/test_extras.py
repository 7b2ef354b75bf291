"""A missing notebook dependency is one line naming the ``pip install`` that fixes it.

The module is hidden with a meta-path blocker in a fresh interpreter (or a real kernel),
as if it had never been installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rtnb._extras import INSTALL, MissingDependency, require

ROOT = Path(__file__).resolve().parent.parent


def blocker(*hidden: str) -> str:
    """Python source that makes ``import <hidden>`` fail as if it were not installed."""
    return textwrap.dedent(f"""
        import importlib.abc, sys
        class _Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {set(hidden)!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, _Hide())
    """)


ATTEMPT = textwrap.dedent("""
    import json, rtnb
    def attempt(what, call):
        try:
            call()
            result = None
        except ImportError as exc:
            result = {"type": type(exc).__name__, "message": str(exc)}
        print(json.dumps([what, result]))
""")

CASES = {
    "matplotlib": ["plot_latency", "plot_latency_summary", "plot_vad"],
    "ipywidgets": ["panel", "vad_explorer", "clips"],
    "anywidget": ["panel", "live_audio"],
    "ipywebrtc": ["clips"],
}
CALLS = {
    "plot_latency": "lambda: rtnb.plot_latency(EventLog())",
    "plot_latency_summary": "lambda: rtnb.plot_latency_summary(EventLog())",
    "plot_vad": "lambda: rtnb.plots.vad_figure(None, None, None)",
    "vad_explorer": "lambda: rtnb.vad_explorer(bytes(48000))",
    "panel": "lambda: rtnb.notebook.SessionPanel",
    "live_audio": "lambda: rtnb.notebook.LiveAudio",
    "clips": "lambda: rtnb.notebook.ClipRecorder",
}


@pytest.mark.parametrize("hidden", sorted(CASES))
def test_each_feature_names_the_install_in_one_line(hidden):
    code = blocker(hidden) + ATTEMPT + "import rtnb.notebook, rtnb.plots\n" + \
        "from rtnb.session.eventlog import EventLog\n" + "".join(
            f"attempt({what!r}, {CALLS[what]})\n" for what in CASES[hidden])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    results = dict(json.loads(line) for line in out.stdout.splitlines())
    assert sorted(results) == sorted(CASES[hidden])
    for what, result in results.items():
        assert result is not None, f"{what} worked without {hidden}"
        assert result["type"] == "MissingDependency", (what, result)
        message = result["message"]
        assert "\n" not in message and f"needs {hidden}, which is not installed" in message
        assert message.endswith(f"run: {INSTALL}") and INSTALL == 'pip install "rtnb[notebook]"'


def test_require_reports_only_the_module_itself(tmp_path, monkeypatch):
    (tmp_path / "half_installed").mkdir()
    (tmp_path / "half_installed" / "__init__.py").write_text("import not_there_at_all\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:  # a broken package is not "missing"
        require("half_installed", "a feature")
    assert not isinstance(info.value, MissingDependency)
    assert info.value.name == "not_there_at_all"
    with pytest.raises(MissingDependency, match="needs nothing_here"):
        require("nothing_here.sub", "a feature")
    assert require("json", "a feature") is json


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_in_a_kernel_without_ipywidgets_one_line_and_no_tqdm_warning(tmp_path):
    """A real kernel: the engine's models load quietly; showing a session gives one line."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    cells = [
        blocker("ipywidgets"),
        "import rtnb\nfrom rtnb.engine.parts import default_asr\ndefault_asr();",
        "session = rtnb.Session(rtnb.Agent('Assistant', 'Be brief.'), backend='local')\n"
        "session",
        "session.show()",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=240, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    load, display, show = (c.outputs for c in nb.cells[1:])
    assert not [o for o in load if "IProgress" in json.dumps(o)], load
    for outputs in (display, show):
        errors = [o for o in outputs if o.output_type == "error"]
        assert len(errors) == 1, outputs
        assert errors[0].traceback == [
            "MissingDependency: rtnb's session panel needs ipywidgets, which is not "
            f"installed; run: {INSTALL}"]
