"""Every Python block of README.md runs as written, in a fresh kernel, on the local engine.

The blocks become the cells of one notebook, in README order, as a reader pastes them; a
last cell (ours) reports what the Quickstart left behind. The kernel runs offline (no
``OPENAI_API_KEY``) in a temporary folder, so ``session.save("call")`` writes there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_notebooks import kernel_env

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

REPORT = """
import json as _json
_call = rtnb.load("call")
print("REPORT" + _json.dumps({
    "lines": session.transcript.lines(),
    "e2e": [t.e2e for t in session.turns],
    "saved_e2e": [t.e2e for t in _call.turns],
    "saved_files": sorted(p.name for p in __import__("pathlib").Path("call").iterdir()),
}))
"""


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def quickstart() -> str:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    [block] = python_blocks(section)
    return block


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"
                   and o.name == "stdout")


def test_the_sample_wav_ships_inside_the_package():
    import wave

    import rtnb

    path = Path(rtnb.SAMPLE_WAV)
    assert path.is_relative_to(Path(rtnb.__file__).parent)  # the wheel carries rtnb/ whole
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert 1.5 < wav.getnframes() / 16000 < 5


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_python_block_runs_in_a_fresh_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    blocks = python_blocks(README)
    assert len(blocks) >= 2 and quickstart() in blocks
    cells = [nbformat.v4.new_code_cell(b) for b in blocks] + [nbformat.v4.new_code_cell(REPORT)]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=kernel_env())
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors

    out = stdout(nb.cells[blocks.index(quickstart())])
    # The replies the README's comments promise.
    for city in ("Paris", "Tokyo"):
        reply = f"The weather in {city} is 18 degrees and sunny."
        assert f"# {reply}" in quickstart()
        assert reply in out
    report = json.loads(stdout(nb.cells[-1]).split("REPORT", 1)[1])
    assert not [line for line in report["lines"] if "[interrupted]" in line], report["lines"]
    assert any("user: What's the weather in Tokyo?" in line for line in report["lines"])
    assert len(report["e2e"]) == 2 and all(e is not None and e > 0 for e in report["e2e"])
    assert report["saved_e2e"] == report["e2e"]  # the recording holds the finished turns
    assert {"events.jsonl", "input.wav", "output.wav"} <= set(report["saved_files"])
