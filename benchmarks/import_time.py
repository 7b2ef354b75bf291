"""Cold import cost of rtnb, and the time to the first ``rtnb.Session(...)`` without connecting.

Every figure comes from a fresh ``python`` subprocess (nothing imported, OS file cache warm),
``--runs`` times, and the median is reported. Inside the subprocess ``time.perf_counter()``
brackets the step, so interpreter start-up is excluded; the whole process's wall time is
reported too, next to a ``python -c pass`` baseline.

Steps (each measured in its own subprocess, cumulative from a bare interpreter):
- ``import rtnb``: the package itself (everything in it is imported lazily).
- ``rtnb.Session``: first attribute access, which imports ``rtnb.session`` and what it needs.
- ``Session(...)``: ``import rtnb``, build an ``rtnb.Agent`` and construct ``rtnb.Session``
  with a ``ws://`` backend, so nothing connects and no engine starts.
- ``Session(agent)`` with the default backend starts the embedded engine (models load), so it
  is reported separately and only with ``--engine``.

``python -X importtime`` then gives the breakdown of the ``Session(...)`` step: the modules
with the largest cumulative and self times. Run: ``python benchmarks/import_time.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from typing import Any

from _bench import git_rev, wait_quiet
from _realtime import ROOT, machine, write_json

PRELUDE = "import time, json; t0 = time.perf_counter()\n"
STEPS = {
    "python -c pass": None,
    "import rtnb": "import rtnb\n",
    "rtnb.Session (attribute)": "import rtnb\nrtnb.Session\n",
    "Session(...) constructed": (
        "import rtnb\n"
        "agent = rtnb.Agent(name='assistant', instructions='Be brief.')\n"
        "s = rtnb.Session(agent, backend='ws://127.0.0.1:9/v1')\n"),
    "Session(...) + scenario": (
        "import rtnb\n"
        "sc = rtnb.scenarios.get('chat_supervisor')\n"
        "s = rtnb.Session(sc.root, backend='ws://127.0.0.1:9/v1')\n"),
}
ENGINE_STEP = (
    "import os; os.environ.pop('OPENAI_API_KEY', None)\n"
    "import rtnb\n"
    "s = rtnb.Session(rtnb.Agent(name='assistant'))\n")
POSTLUDE = ("import sys\n"
            "print(json.dumps({'t': time.perf_counter() - t0, 'mods': len(sys.modules)}))\n")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)  # the default backend must not turn into 'openai'
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    return env


def run_step(code: str | None, timeout: float = 120.0) -> dict[str, Any]:
    """One fresh interpreter: ``{'inner': seconds of the step, 'outer': process wall, ...}``."""
    from _realtime import now

    argv = [sys.executable, "-c", "pass" if code is None else PRELUDE + code + POSTLUDE]
    t = now()
    proc = subprocess.run(argv, cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=timeout)
    outer = now() - t
    if proc.returncode != 0:
        raise RuntimeError(f"step failed: {proc.stderr.strip()[-500:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1]) if code else {"t": None, "mods": None}
    return {"inner": info["t"], "outer": outer, "modules": info["mods"]}


def _importtime_rows(code: str) -> list[dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=120)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S.*)$", line)
        if m:
            rows.append({"self_ms": int(m.group(1)) / 1000, "cum_ms": int(m.group(2)) / 1000,
                         "depth": (len(m.group(3)) - 1) // 2, "module": m.group(4).strip()})
    return rows


def importtime(code: str, top: int) -> dict[str, Any]:
    """``-X importtime`` of ``code``: the ``top`` modules by cumulative and by self time (ms).

    Modules the bare interpreter already imports at start-up (``site`` and the ``.pth`` files
    it runs) are left out, so what remains is what ``code`` costs.
    """
    baseline = {r["module"] for r in _importtime_rows("pass")}
    rows = [r for r in _importtime_rows(code) if r["module"] not in baseline]
    top_level = [r for r in rows if r["depth"] == 0]
    by_cum = sorted(rows, key=lambda r: -r["cum_ms"])[:top]
    by_self = sorted(rows, key=lambda r: -r["self_ms"])[:top]
    # Group by top-level package: where the time goes by distribution.
    packages: dict[str, float] = {}
    for r in rows:
        pkg = r["module"].split(".")[0]
        packages[pkg] = packages.get(pkg, 0.0) + r["self_ms"]
    return {"total_ms": round(sum(r["cum_ms"] for r in top_level), 1),
            "modules": len(rows), "top_cumulative": by_cum, "top_self": by_self,
            "by_package_self_ms": dict(sorted(((k, round(v, 1)) for k, v in packages.items()),
                                              key=lambda kv: -kv[1])[:top])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="subprocesses per step (median)")
    parser.add_argument("--top", type=int, default=15, help="rows of the -X importtime breakdown")
    parser.add_argument("--engine", action="store_true",
                        help="also time Session(agent) with the default backend (engine start)")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="S",
                        help="before each run wait up to S s for quiet (0: do not wait)")
    parser.add_argument("--out", default="import_time.json")
    args = parser.parse_args(argv)
    steps = dict(STEPS)
    if args.engine:
        steps["Session(agent), default backend (starts engine)"] = ENGINE_STEP
    run_step("import sys\n")  # warm the OS file cache
    results: dict[str, Any] = {}
    for name, code in steps.items():
        runs = args.runs if "engine" not in name else max(3, args.runs // 5)
        inner, outer, others, mods = [], [], [], None
        for _ in range(runs):
            _, pct = wait_quiet(args.quiet_cpu, args.wait_quiet, 0.5)
            r = run_step(code)
            others.append(pct)
            outer.append(r["outer"] * 1000)
            if r["inner"] is not None:
                inner.append(r["inner"] * 1000)
            mods = r["modules"]
        results[name] = {
            "runs": runs,
            "inner_ms": {"median": round(statistics.median(inner), 1), "min": round(min(inner), 1),
                         "max": round(max(inner), 1)} if inner else None,
            "process_ms": {"median": round(statistics.median(outer), 1),
                           "min": round(min(outer), 1)},
            "modules": mods, "foreign_cpu_before_pct": others}
        shown = results[name]["inner_ms"]
        print(f"  {name}: step {shown['median'] if shown else '-'} ms, process "
              f"{results[name]['process_ms']['median']} ms, {mods} modules; other CPU before "
              f"runs max {max(others)}%", file=sys.stderr)
    breakdown = importtime(STEPS["Session(...) constructed"], args.top)
    scenario = importtime(STEPS["Session(...) + scenario"], args.top)
    print("\n| step | median ms (in process) | min | max | whole process ms | modules |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        i = r["inner_ms"]
        cells = (f"{i['median']:.1f} | {i['min']:.1f} | {i['max']:.1f}" if i else "- | - | -")
        print(f"| {name} | {cells} | {r['process_ms']['median']:.1f} | {r['modules'] or '-'} |")
    print(f"\n-X importtime of Session(...) construction: {breakdown['modules']} modules, "
          f"{breakdown['total_ms']:.1f} ms (importtime inflates times)\n")
    print("| module (top cumulative) | cumulative ms | self ms |")
    print("|---|---:|---:|")
    for r in breakdown["top_cumulative"]:
        print(f"| {'  ' * r['depth']}{r['module']} | {r['cum_ms']:.1f} | {r['self_ms']:.1f} |")
    print("\n| package | self ms (sum) |")
    print("|---|---:|")
    for k, v in breakdown["by_package_self_ms"].items():
        print(f"| {k} | {v:.1f} |")
    print(f"\n-X importtime of Session(...) + chat_supervisor scenario: {scenario['modules']} "
          f"modules, {scenario['total_ms']:.1f} ms\n")
    print("| module (top cumulative) | cumulative ms | self ms |")
    print("|---|---:|---:|")
    for r in scenario["top_cumulative"]:
        print(f"| {'  ' * r['depth']}{r['module']} | {r['cum_ms']:.1f} | {r['self_ms']:.1f} |")
    print("\n| package | self ms (sum) |")
    print("|---|---:|")
    for k, v in scenario["by_package_self_ms"].items():
        print(f"| {k} | {v:.1f} |")
    payload = {"benchmark": "import_time", "rev": git_rev(), "machine": machine(),
               "setup": {"runs": args.runs, "python": sys.executable,
                         "quiet_cpu_pct": args.quiet_cpu, "wait_quiet_s": args.wait_quiet,
                         "steps": {k: v for k, v in steps.items()}},
               "results": results, "importtime": breakdown,
               "importtime_scenario": scenario}
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
