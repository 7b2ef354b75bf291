"""Installed size on disk of rtnb's runtime dependency closure.

Starts from rtnb's ``[project.dependencies]`` (from its installed metadata, else from
``pyproject.toml``; rtnb's own extras are left out), follows each distribution's
requirements whose markers hold (with the extras that were asked for, e.g.
``openai[realtime]``), and sums the size of every file each distribution's RECORD lists.
Run: ``python benchmarks/installed_size.py``.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def root_requirements() -> tuple[list[str], str]:
    """rtnb's runtime requirement strings and where they were read from."""
    try:
        dist = md.distribution("rtnb")
    except md.PackageNotFoundError:
        dist = None
    if dist is not None and dist.requires is not None:
        return list(dist.requires), "installed rtnb metadata"
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(data["project"]["dependencies"]), "pyproject.toml"


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))


def closure(roots: list[str]) -> tuple[dict[str, md.Distribution], list[str]]:
    """Installed distributions reachable from ``roots``, and requirements not installed."""
    found: dict[str, md.Distribution] = {}
    asked: dict[str, set[str]] = {}
    missing: list[str] = []
    todo = [(Requirement(r), set()) for r in roots]
    while todo:
        req, parent_extras = todo.pop()
        if not _applies(req, parent_extras):
            continue
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in found and extras <= asked[name]:
            continue
        try:
            dist = found.get(name) or md.distribution(req.name)
        except md.PackageNotFoundError:
            missing.append(str(req))
            continue
        found[name] = dist
        asked[name] = asked.get(name, set()) | extras
        for sub in dist.requires or []:
            todo.append((Requirement(sub), asked[name]))
    return found, sorted(set(missing))


def dist_size(dist: md.Distribution, seen: set[Path]) -> tuple[int, int]:
    """Bytes and file count of ``dist``'s RECORD files (each path counted once overall)."""
    total = files = 0
    for f in dist.files or []:
        path = Path(dist.locate_file(f)).resolve()
        if path in seen:
            continue
        seen.add(path)
        try:
            total += path.stat().st_size
        except OSError:
            if f.size:  # listed but gone: trust RECORD
                total += f.size
            else:
                continue
        files += 1
    return total, files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--out", default="installed_size.json")
    args = parser.parse_args(argv)
    roots, source = root_requirements()
    dists, missing = closure(roots)
    seen: set[Path] = set()
    sizes = []
    for name, dist in dists.items():
        size, files = dist_size(dist, seen)
        sizes.append({"name": name, "version": dist.version, "bytes": size, "files": files})
    sizes.sort(key=lambda s: -s["bytes"])
    total = sum(s["bytes"] for s in sizes)
    mb = 1024 * 1024
    print(f"rtnb runtime closure ({source}): {len(sizes)} distributions, "
          f"{total / mb:.1f} MB\n")
    print("| package | version | MB | share |\n|---|---|---:|---:|")
    for s in sizes[:args.top]:
        print(f"| {s['name']} | {s['version']} | {s['bytes'] / mb:.1f} | "
              f"{100 * s['bytes'] / total:.0f}% |")
    rest = sizes[args.top:]
    print(f"| {len(rest)} others | | {sum(s['bytes'] for s in rest) / mb:.1f} | |")
    print(f"| **total** | | **{total / mb:.1f}** | |")
    if missing:
        print(f"\nnot installed: {', '.join(missing)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / args.out
    out.write_text(json.dumps({
        "benchmark": "installed_size", "requirements_from": source, "roots": roots,
        "total_bytes": total, "total_mb": round(total / mb, 1), "missing": missing,
        "python": sys.version.split()[0], "distributions": sizes}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
