"""The executed chapters, as readers see them: the static site, and JupyterLab's plots.

Both use the executed copies that ``tests/test_notebooks.py`` keeps in
``artifacts/notebooks/``; pytest runs that module first (files run in name order), so a
full run renders the chapters it has just executed. Nothing is re-run here. Without the
copies these tests skip, except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from tests import labharness
from tests.test_notebooks import CHAPTERS, EXECUTED_DIR, ROOT, load

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture
def executed() -> dict[str, object]:
    """The executed chapters' paths (skip, or fail in CI, if any is missing)."""
    paths = {name: EXECUTED_DIR / f"{name}.ipynb" for name in CHAPTERS}
    missing = [name for name, path in paths.items() if not path.is_file()
               or any(c.cell_type == "code" and c.execution_count is None
                      for c in nbformat.read(path, as_version=4).cells)]
    if missing:
        message = (f"no complete executed copy of {missing} in {EXECUTED_DIR}: run the "
                   "chapters first (a failed chapter leaves cells without outputs)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return paths


def can_drop_network() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.timeout(600)
def test_site_builds_offline_from_the_executed_chapters(executed):
    """``docs/build_site.py`` renders them into artifacts/site/, with no network if possible."""
    site = ARTIFACTS / "site"
    command = [sys.executable, str(ROOT / "docs" / "build_site.py"), "--out", str(site)]
    if can_drop_network():
        command = ["unshare", "-n", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=540)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith(str(site / "index.html"))

    index = (site / "index.html").read_text()
    for number, name in enumerate(CHAPTERS, 1):
        assert f'href="{name}.html"' in index
        page = (site / f"{name}.html").read_text()
        title = load(name).cells[0].source.splitlines()[0].split(" · ", 1)[1]
        assert f"{number} · {title}" in page
        assert page.count('src="data:image/png;base64,') >= 1, f"{name}: no plot on its page"
        assert not re.search(r'href="\d\d_\w+\.ipynb', page), f"{name} links a .ipynb"
        if number < len(CHAPTERS):
            assert f'href="{CHAPTERS[number]}.html"' in page  # on to the next chapter
    seven = (site / "07_advanced_patterns.html").read_text()
    assert "haikuWriter: Hi, this is the haiku writer" in seven


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_first_plot_of_each_chapter_in_jupyterlab(executed, lab):
    """JupyterLab under headless Chromium opens each executed chapter (without running it);
    its first plot is saved as artifacts/chapter-plots/<chapter>.png."""
    from PIL import Image

    for path in executed.values():
        shutil.copy(path, lab.folder / path.name)
    notebooks = [lab.tree_path(f"{name}.ipynb") for name in CHAPTERS]
    shots = labharness.first_plot_screenshots(lab.url, lab.token, lab.root, notebooks,
                                              ARTIFACTS / "chapter-plots")
    assert sorted(shots) == notebooks
    for notebook, shot in shots.items():
        assert "error" not in shot, f"{notebook}: {shot.get('error')}"
        assert not shot["running"], f"{notebook} was run again"
        assert re.fullmatch(r"\[\d+\]:", shot["prompt"]), shot  # the saved execution count
        width, height = shot["size"]
        assert width >= 300 and height >= 100, shot
        with Image.open(shot["path"]) as image:
            gray = image.convert("L")
            assert gray.width >= 300 and gray.height >= 100
            low, high = gray.getextrema()
            assert high - low > 100, f"{notebook}: the screenshot is blank"
