"""rtnb's plots in a real IPython kernel: shown inline with no magic, once, never piling up.

A fresh ``python3`` kernel (nbclient) runs a small notebook that never says
``%matplotlib inline``, then one that does and also uses pyplot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

CELLS = [
    "import rtnb\nfrom tests.logscript import three_turns\nlog = three_turns()",
    "rtnb.plot_latency(log)",  # 1: no magic, no pyplot
    "rtnb.plot_latency_summary(log)",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nrtnb.plot_latency(log)",  # 3
    "fig, ax = plt.subplots()\nrtnb.plot_latency(log, ax=ax)",  # 4: pyplot's own figure
    "plots = [rtnb.plot_latency(log) for _ in range(5)]\nprint(plt.get_fignums())",  # 5
]


def run(cells: list[str]):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute(env=env)
    return nb


def images(cell) -> list[dict]:
    return [o for o in cell.outputs if "image/png" in o.get("data", {})]


@pytest.mark.timeout(180)
def test_plots_show_inline_once_with_and_without_the_magic():
    nb = run(CELLS)
    cells = nb.cells
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    for cell in cells[1:3]:  # no %matplotlib, no pyplot: still a picture, not "<Figure …>"
        (out,) = cell.outputs
        assert out.output_type == "execute_result" and "image/png" in out.data
        assert out.metadata["image/png"]["width"] == 816
        assert not out.data["text/plain"].startswith("<Figure")
    assert len(images(cells[3])) == 1  # the inline backend does not add a second copy
    # A pyplot figure drawn into with ax=: the inline backend shows it, the Plot does not.
    assert len(images(cells[4])) == 1
    result = next(o for o in cells[4].outputs if o.output_type == "execute_result")
    assert set(result.data) == {"text/plain"}
    # rtnb's figures never enter pyplot's figure manager, so nothing piles up.
    assert "".join(o.get("text", "") for o in cells[5].outputs).strip() == "[]"
