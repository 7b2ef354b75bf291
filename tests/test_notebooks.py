"""The tutorial notebooks: stored clean and well-formed, and each one runs top to bottom.

Execution uses nbclient with the ``python3`` kernel (in CI, with ``RTNB_BINDER_TEST=1``,
the Binder venv's kernel instead: ``tests/binder_venv.py``), in a temporary copy of ``notebooks/``
(the kernel's working directory), so recordings the notebooks write stay out of the repo.
``OPENAI_API_KEY`` is removed from the kernel's environment: the notebooks run on the
local engine, offline. Each notebook must finish within ``BUDGET_S`` seconds of wall time
(kernel start included); the measured times are printed, attached to the JUnit report
(``record_property``) and kept in pytest's cache under ``rtnb/notebook_times``
(``pytest --cache-show 'rtnb/*'``). ``RTNB_NOTEBOOK_BUDGET_S`` overrides the budget.
The executed copies are kept in ``artifacts/notebooks/`` (gitignored):
``tests/test_rendered_chapters.py`` builds the static site and the JupyterLab plot
screenshots from them.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
CHAPTERS = [
    "01_getting_started", "02_realtime_api", "03_voice_input", "04_conversational_ai",
    "05_function_calling", "06_voice_output", "07_advanced_patterns", "08_production",
    "09_testing_voice_agents",
]
#: What a chapter must print, and must not (regexes over its stdout).
PRINTED = {
    # The reply after "Yes please!" is the haiku writer's, and is labelled so.
    "07_advanced_patterns": ([r"\n  haikuWriter: Hi, this is the haiku writer"],
                             [r"greeter: Hi, this is the haiku writer"]),
}
#: Executed copies of the chapters (gitignored), for the static site and the screenshots.
EXECUTED_DIR = ROOT / "artifacts" / "notebooks"
BUDGET_S = float(os.environ.get("RTNB_NOTEBOOK_BUDGET_S", "60"))
CELL_TIMEOUT_S = 180

nbformat = pytest.importorskip("nbformat")


def load(name: str):
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def kernel_env(kernel: str = "python3") -> dict[str, str]:
    """The environment for the kernel: offline (no OpenAI key, no engine token); a Binder
    venv kernel also drops what would point it at the source tree or another venv."""
    from tests.binder_venv import KERNEL_NAME, NOT_INHERITED

    dropped = NOT_INHERITED if kernel == KERNEL_NAME else ("OPENAI_API_KEY", "RTNB_TOKEN")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def execute(path: Path, cwd: Path, timeout: int = CELL_TIMEOUT_S, keep: Path | None = None,
            kernel: str = "python3"):
    """Run every cell of ``path`` in a fresh ``kernel``; returns the executed notebook.

    Raises ``nbclient.exceptions.CellExecutionError`` on the first failing cell. ``keep``:
    where to write the executed notebook (also after a failure, with the outputs so far).
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env=kernel_env(kernel))
    finally:
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, keep)
    return nb


# -- stored form (fast) -----------------------------------------------------------------------


def test_the_nine_chapters_are_there():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == CHAPTERS


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_is_stored_clean_and_well_formed(name):
    nb = load(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, (
            f"{name}: store notebooks without outputs (cell {cell.get('id')})")
    number = int(name[:2])
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {number} · ")
    # rtnb's plots show themselves; only a chapter's own matplotlib Figures need the magic.
    own_figures = "Figure(" in "\n".join(c.source for c in code)
    assert ("%matplotlib inline" in code[0].source) == own_figures, (
        "%matplotlib inline belongs in the chapters that draw their own Figures, only")
    assert last.cell_type == "markdown" and last.source.startswith("## Exercises")
    exercises = re.findall(r"^\d+\. ", last.source, flags=re.M)
    assert 3 <= len(exercises) <= 5
    sources = "\n".join(c.source for c in code)
    assert ".show()" in sources, "every chapter offers the live mic panel"
    assert re.search(r"skipped when the notebook runs headless", "\n".join(
        c.source for c in nb.cells if c.cell_type == "markdown"))
    # Sessions use the default backend, so the notebooks run unchanged with OPENAI_API_KEY.
    assert not re.search(r"Session\([^)]*backend\s*=", sources)


def reads_before_await(source: str) -> list[str]:
    """Expressions that read an attribute, then ``await`` something, in one f-string or call.

    Python evaluates left to right, so ``f"{session.agent.name}: {await session.wait()}"``
    reads the agent *before* the turn (and any handoff in it) happens.
    """
    code = "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("%", "!")))
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.JoinedStr):
            parts = list(node.values)
        elif isinstance(node, ast.Call):
            parts = [*node.args, *(k.value for k in node.keywords)]
        else:
            continue
        read = False
        for part in parts:
            awaits = any(isinstance(n, ast.Await) for n in ast.walk(part))
            if awaits and read:
                found.append(ast.unparse(node))
                break
            read = read or (not awaits and any(isinstance(n, ast.Attribute)
                                               for n in ast.walk(part)))
    return found


def test_reads_before_await_finds_the_chapter_7_label_bug():
    bug = 'print(f"caller: {line}\\n  {session.agent.name}: {await session.wait()}")'
    [found] = reads_before_await(bug)
    assert found.startswith("f") and "{session.agent.name}: {await session.wait()}" in found
    fixed = 'reply = await session.wait()\nprint(f"{session.agent.name}: {reply}")'
    assert reads_before_await(fixed) == []
    assert reads_before_await('print(f"{line}: {await session.wait()}")') == []


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_state_is_read_before_an_await_in_the_same_expression(name):
    for cell in load(name).cells:
        if cell.cell_type == "code":
            assert not reads_before_await(cell.source), cell.source


# -- execution (slow) -------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A throwaway copy of notebooks/, the kernel's working directory."""
    copy = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return copy


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_runs_within_budget(name, workdir, chapter_kernel, record_property, request):
    start = time.perf_counter()
    nb = execute(workdir / f"{name}.ipynb", workdir, keep=EXECUTED_DIR / f"{name}.ipynb",
                 kernel=chapter_kernel)
    elapsed = time.perf_counter() - start
    record_property("wall_time_s", round(elapsed, 1))
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None:
        times = cache.get("rtnb/notebook_times", {})
        times[name] = round(elapsed, 1)
        cache.set("rtnb/notebook_times", times)
    print(f"\n{name}: {elapsed:.1f} s (budget {BUDGET_S:.0f} s)")

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 1, f"{name} shows no figure"
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs if o.output_type == "stream")
    must, must_not = PRINTED.get(name, ((), ()))
    for pattern in must:
        assert re.search(pattern, printed), f"{name} should print {pattern!r}"
    for pattern in must_not:
        assert not re.search(pattern, printed), f"{name} prints {pattern!r}"
    assert elapsed < BUDGET_S, f"{name} took {elapsed:.1f} s; the budget is {BUDGET_S:.0f} s"

