"""ARCHITECTURE.md's import rules, checked on the source (lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rtnb"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of import nodes under ``if TYPE_CHECKING:`` (never run)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids |= {id(n) for child in node.body for n in ast.walk(child)}
    return ids


def imports(path: Path) -> list[tuple[str, bool]]:
    """``(imported rtnb module, at module level)`` for every run-time import in ``path``."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip = _type_checking_nodes(tree)
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from . import events``: the names may be modules themselves.
            targets = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        found += [(t, id(node) in top) for t in targets if t == "rtnb" or t.startswith("rtnb.")]
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_walker_sees_relative_lazy_and_type_checking_imports(tmp_path):
    sample = PACKAGE / "analysis" / "settings.py"  # imports events, engine.turns; TYPE_CHECKING
    got = dict(imports(sample))
    assert got.get("rtnb.events") is True and got.get("rtnb.engine.turns") is True
    assert "rtnb.session.eventlog" not in got  # only under TYPE_CHECKING
    lazy = dict(imports(PACKAGE / "session" / "session.py"))
    assert lazy.get("rtnb.notebook") is False  # imported inside a method


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _under(m, "rtnb.engine")))
def test_the_engine_knows_only_the_wire(module):
    bad = [t for t, _ in imports(MODULES[module])
           if not _under(t, "rtnb.engine", "rtnb.events", "rtnb.models", "rtnb.audio",
                         "rtnb.wer")]
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", ["rtnb.events", "rtnb.models", "rtnb.audio", "rtnb.wer"])
def test_the_vocabulary_and_audio_import_nothing_of_rtnb(module):
    assert not imports(MODULES[module])


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _under(m, "rtnb.analysis")))
def test_the_analysis_reads_logs_not_sessions_or_widgets(module):
    bad = [t for t, _ in imports(MODULES[module]) if _under(
        t, "rtnb.session", "rtnb.notebook", "rtnb.plots", "rtnb.explorer", "rtnb.scenarios")]
    assert not bad, f"{module} imports {bad}"


def test_only_the_presentation_layer_imports_widgets_or_plots_eagerly():
    presentation = ("rtnb.notebook", "rtnb.plots", "rtnb.explorer")
    bad = [(m, t) for m, p in MODULES.items() if not _under(m, *presentation)
           for t, eager in imports(p) if eager and _under(t, *presentation)]
    assert not bad
