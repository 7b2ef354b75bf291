"""Build the tutorial site: the executed chapters as static HTML pages, offline.

The chapters are committed without outputs; the test suite executes them
(``tests/test_notebooks.py``) and keeps the executed copies in ``artifacts/notebooks/``.
This script renders those copies with MkDocs and mkdocs-jupyter (nothing is re-run) into
``artifacts/site/``; open ``artifacts/site/index.html``. ``--execute`` first runs the
chapters that have no executed copy yet, offline on the local engine (a few minutes).

MkDocs with mkdocs-jupyter, rather than Jupyter Book: it is pure Python (Jupyter Book 2
builds with mystmd, which downloads its site theme on first use), renders stored outputs
through nbconvert without a kernel, and builds the nine chapters in seconds.

Run: ``python docs/build_site.py [--notebooks DIR] [--out DIR] [--execute]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHAPTERS_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "artifacts" / "notebooks"
SITE_DIR = ROOT / "artifacts" / "site"


def chapters() -> list[str]:
    return sorted(p.stem for p in CHAPTERS_DIR.glob("*.ipynb"))


def is_executed(path: Path) -> bool:
    """True when every code cell of the notebook at ``path`` ran (has an execution count)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return bool(code) and all(c.execution_count is not None for c in code)


def execute_missing(executed: Path, timeout: int = 300) -> None:
    """Run each chapter without an executed copy in ``executed`` (in a scratch copy)."""
    import nbformat
    from nbclient import NotebookClient

    # On the local engine, as the site says: no OpenAI key, no engine token.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "RTNB_TOKEN")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "notebooks"
        shutil.copytree(CHAPTERS_DIR, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for name in chapters():
            target = executed / f"{name}.ipynb"
            if target.is_file() and is_executed(target):
                continue
            print(f"executing {name} ...", flush=True)
            nb = nbformat.read(work / f"{name}.ipynb", as_version=4)
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute(env=env)
            executed.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)


def stage(executed: Path, into: Path) -> None:
    """Lay out the site's sources: the index page and the executed chapters."""
    missing = [n for n in chapters() if not (executed / f"{n}.ipynb").is_file()]
    if missing:
        raise SystemExit(f"no executed copy of {', '.join(missing)} in {executed}: run the "
                         "chapters first (python -m pytest tests/test_notebooks.py, or "
                         "this script with --execute)")
    stale = [n for n in chapters() if not is_executed(executed / f"{n}.ipynb")]
    if stale:
        raise SystemExit(f"{', '.join(stale)} in {executed} did not run to the end "
                         "(cells without outputs); execute them again")
    into.mkdir(parents=True)
    for page in ("index.md", "site.css"):
        shutil.copy(DOCS / page, into / page)
    for name in chapters():
        shutil.copy(executed / f"{name}.ipynb", into / f"{name}.ipynb")


def build(executed: Path = EXECUTED_DIR, out: Path = SITE_DIR) -> Path:
    """Render the executed chapters into ``out``; returns the path of the index page."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        stage(executed, src)
        config = load_config(str(DOCS / "mkdocs.yml"), docs_dir=str(src),
                             site_dir=str(out))
        mkdocs_build(config)
    index = out / "index.html"
    _link_chapters(out)
    return index


def _link_chapters(out: Path) -> None:
    """Point links between chapters (``02_realtime_api.ipynb`` in a chapter's markdown) at
    the rendered pages; the notebook renderer leaves them as written."""
    names = "|".join(map(re.escape, chapters()))
    pattern = re.compile(rf'href="((?:{names}))\.ipynb(#[^"]*)?"')
    for page in out.glob("*.html"):
        text = page.read_text()
        linked = pattern.sub(lambda m: f'href="{m[1]}.html{m[2] or ""}"', text)
        if linked != text:
            page.write_text(linked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=Path, default=EXECUTED_DIR,
                        help="folder of executed chapters (default artifacts/notebooks)")
    parser.add_argument("--out", type=Path, default=SITE_DIR,
                        help="where the site goes (default artifacts/site)")
    parser.add_argument("--execute", action="store_true",
                        help="first run the chapters that have no executed copy")
    args = parser.parse_args(argv)
    if args.execute:
        execute_missing(args.notebooks)
    index = build(args.notebooks, args.out)
    print(f"site: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
