"""``rtnb eval --workers N`` on one machine: one shared warm engine vs a process (and an
engine) per worker, side by side in one run.

For each setup the pool is warmed first (engine(s) started, models loaded), timed as
``warm_s``; then every call × repetition of the suite runs, timed as ``run_s``, giving
calls per minute (steady state) and with the warm-up included. The setups alternate
round by round so a noisy neighbour hits both. Others' CPU share over each run is
recorded (``foreign_cpu_pct``).

    python benchmarks/evals_workers.py                       # triage, text, 2 workers
    python benchmarks/evals_workers.py --workers 1 2 --repeat 2 --rounds 2
    python benchmarks/evals_workers.py --suite examples/evals/example.yaml --mode audio

Options: ``--suite`` (default examples/evals/triage.yaml), ``--mode text|audio``,
``--workers N...`` (default 2), ``--repeat K`` (per call, default 2), ``--rounds R``
(default 1), ``--wait-quiet S`` (wait up to S s for a quiet machine before each run),
``--out NAME.json`` (default benchmarks/results/evals_workers.json).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from _bench import Contention, git_rev, wait_quiet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _ready(barrier: object) -> int:
    barrier.wait(timeout=900)  # type: ignore[attr-defined]  # every worker holds one task
    return os.getpid()


def run_setup(kind: str, workers: int, specs: list) -> dict:
    from rtnb.evals.runner import run_call, warm_backend

    t0 = time.perf_counter()
    if kind == "shared":
        warm_backend("local")
        pool: cf.Executor = cf.ThreadPoolExecutor(workers)
    else:
        spawn = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(workers, mp_context=spawn, initializer=warm_backend,
                                      initargs=("local",))
        with spawn.Manager() as manager:  # warm: each worker started its engine
            barrier = manager.Barrier(workers)
            pids = set(pool.map(_ready, [barrier] * workers))
        assert len(pids) == workers, pids
    warm_s = time.perf_counter() - t0
    with pool, Contention() as busy:
        t1 = time.perf_counter()
        calls = list(pool.map(run_call, specs))
        run_s = time.perf_counter() - t1
    passed = sum(c["passed"] is True for c in calls)
    e2e = [t["e2e"] for c in calls for t in c["metrics"]["turns"] if t.get("e2e") is not None]
    return {"setup": kind, "workers": workers, "calls": len(calls), "passed": passed,
            "warm_s": round(warm_s, 2), "run_s": round(run_s, 2),
            "calls_per_min": round(60 * len(calls) / run_s, 2),
            "calls_per_min_with_warmup": round(60 * len(calls) / (run_s + warm_s), 2),
            "call_s_p50": round(statistics.median(c["seconds"] for c in calls), 2),
            "e2e_ms_p50": round(statistics.median(e2e), 1) if e2e else None,
            "foreign_cpu_pct": busy.pct}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=str(ROOT / "examples/evals/triage.yaml"))
    parser.add_argument("--mode", choices=["text", "audio"], default="text")
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/evals_workers.json"))
    parser.add_argument("--only", nargs=2, metavar=("SETUP", "WORKERS"),
                        help=argparse.SUPPRESS)  # one measurement, in this process
    args = parser.parse_args()

    from rtnb.evals import load_suite, specs_for

    suite = load_suite(args.suite)
    specs = specs_for(suite, repeat=args.repeat, mode=args.mode)
    if args.only:
        print("RESULT", json.dumps(run_setup(args.only[0], int(args.only[1]), specs)))
        return
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"{platform.processor() or platform.machine()}; suite {suite.name} ({args.mode}), "
          f"{len(specs)} calls per run", flush=True)
    rows = []
    for r in range(args.rounds):
        for workers in args.workers:
            order = ("shared", "process") if r % 2 == 0 else ("process", "shared")
            for kind in order:
                # each setup in a fresh interpreter, so "shared" starts its engine cold too
                if args.wait_quiet:
                    waited, share = wait_quiet(args.quiet_cpu, args.wait_quiet)
                    print(f"  waited {waited:.0f}s for a quiet machine (others {share}%)")
                row = _in_fresh_process(kind, workers, args)
                row["round"] = r
                rows.append(row)
                print(f"  {kind:7} workers={workers}: {row['calls_per_min']:6.2f} calls/min "
                      f"(with warm-up {row['calls_per_min_with_warmup']:.2f}); warm "
                      f"{row['warm_s']:.1f}s, run {row['run_s']:.1f}s, {row['passed']}/"
                      f"{row['calls']} passed, e2e p50 {row['e2e_ms_p50']} ms, others "
                      f"{row['foreign_cpu_pct']}% CPU", flush=True)
    result = {"benchmark": "evals_workers", "git": git_rev(), "suite": args.suite,
              "mode": args.mode, "repeat": args.repeat, "cpus": os.cpu_count(), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def _in_fresh_process(kind: str, workers: int, args: argparse.Namespace) -> dict:
    import subprocess

    cmd = [sys.executable, __file__, "--suite", args.suite, "--mode", args.mode,
           "--repeat", str(args.repeat), "--only", kind, str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{kind} workers={workers} failed:\n{proc.stderr[-3000:]}")


if __name__ == "__main__":
    main()
