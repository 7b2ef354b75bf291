"""Installed size on disk of rtnb's runtime dependency closure.

Starts from rtnb's ``[project.dependencies]`` (from its installed metadata, else from
``pyproject.toml``; rtnb's own extras are left out unless named with ``--extra``), follows
each distribution's requirements whose markers hold (with the extras that were asked for,
e.g. ``openai[realtime]``), and sums the size of every file each distribution's RECORD lists.
Run: ``python benchmarks/installed_size.py`` and ``python benchmarks/installed_size.py
--extra notebook``; ``--pyproject`` reads this checkout's ``pyproject.toml`` even when an
installed rtnb (perhaps from another checkout) has metadata.
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


def root_requirements(prefer_pyproject: bool = False) -> tuple[list[str], str]:
    """rtnb's requirement strings (extras as ``; extra == ...`` markers) and their source."""
    try:
        dist = None if prefer_pyproject else md.distribution("rtnb")
    except md.PackageNotFoundError:
        dist = None
    if dist is not None and dist.requires is not None:
        return list(dist.requires), "installed rtnb metadata"
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = list(project["dependencies"])
    for extra, reqs in project.get("optional-dependencies", {}).items():
        roots += [f"{r}; extra == '{extra}'" for r in reqs]
    return roots, "pyproject.toml"


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))


def closure(roots: list[str], extras: set[str] | frozenset[str] = frozenset()
            ) -> tuple[dict[str, md.Distribution], list[str]]:
    """Installed distributions reachable from ``roots`` (with rtnb's ``extras``), and
    requirements not installed."""
    found: dict[str, md.Distribution] = {}
    asked: dict[str, set[str]] = {}
    missing: list[str] = []
    todo = [(Requirement(r), set(extras)) for r in roots]
    while todo:
        req, parent_extras = todo.pop()
        if not _applies(req, parent_extras):
            continue
        name = canonicalize_name(req.name)
        if name == "rtnb":  # an extra that names another (rtnb[notebook] in [test])
            todo += [(Requirement(r), set(req.extras)) for r in roots]
            continue
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
    parser.add_argument("--extra", action="append", default=[],
                        help="include this rtnb extra (repeatable), e.g. --extra notebook")
    parser.add_argument("--pyproject", action="store_true",
                        help="read the requirements from this checkout's pyproject.toml")
    parser.add_argument("--out", help="result file (default installed_size[-EXTRA].json)")
    args = parser.parse_args(argv)
    out_name = args.out or "-".join(["installed_size", *args.extra]) + ".json"
    roots, source = root_requirements(args.pyproject)
    dists, missing = closure(roots, set(args.extra))
    seen: set[Path] = set()
    sizes = []
    for name, dist in dists.items():
        size, files = dist_size(dist, seen)
        sizes.append({"name": name, "version": dist.version, "bytes": size, "files": files})
    sizes.sort(key=lambda s: -s["bytes"])
    total = sum(s["bytes"] for s in sizes)
    mb = 1024 * 1024
    label = f"rtnb[{','.join(args.extra)}]" if args.extra else "rtnb"
    print(f"{label} runtime closure ({source}): {len(sizes)} distributions, "
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
    out = RESULTS / out_name
    out.write_text(json.dumps({
        "benchmark": "installed_size", "extras": args.extra, "requirements_from": source,
        "roots": roots,
        "total_bytes": total, "total_mb": round(total / mb, 1), "missing": missing,
        "python": sys.version.split()[0], "distributions": sizes}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
