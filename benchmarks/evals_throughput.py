"""``rtnb eval`` throughput: calls per minute with ``--workers 1,2,4`` on this machine and
on a local Ray cluster, in one run, on a text-mode and an audio-mode suite, and where the
time goes.

For each mode (the same suite, ``--mode text`` then ``--mode audio``):

- **local**: one in-process engine (started once, timed as ``engine start``, its ASR, brain
  and TTS calls traced) shared by ``N`` worker threads (:class:`LocalExecutor`, the
  ``--workers N`` default).
- **ray**: one local Ray cluster (started once per mode, timed), then for each ``N`` a
  :class:`RayExecutor` with ``N`` actors, each starting its own engine (``actors start``,
  in parallel), then the calls.

``calls/min`` counts the calls only (engines already warm); ``with start`` adds the
engine/actor start. Where the time of one call goes (local, 1 worker): ``session setup``
(open and close a session on the warm engine, timed apart), ``speech pacing`` (the
caller's speech and the reply's audio in real time: the recording's input and output
audio; audio mode only), ``model`` (the engine's ASR, brain and TTS busy time per call,
traced; in audio mode it overlaps the speech, so ``rest`` can be negative), and the rest
(the protocol, the checks, waiting). Ray's overhead: cluster and
actor start, the round trip of an empty actor call, and its calls/min against local's at
the same ``N``. The machine's baseline (one full-window, 30 s, Whisper tiny.en decode of a
3 s utterance) is printed first; others' CPU share is recorded for every run.

    python benchmarks/evals_throughput.py                      # triage, text and audio
    python benchmarks/evals_throughput.py --workers 1,2 --repeat 1 --modes text
    python benchmarks/evals_throughput.py --wait-quiet 60      # on a shared machine

Options: ``--suite`` (default examples/evals/triage.yaml), ``--modes text,audio``,
``--workers 1,2,4``, ``--repeat K`` (each call K times per run, default 2), ``--executors
local,ray``, ``--wait-quiet S`` (before each run wait up to S s for others to use under
``--quiet-cpu`` % of the CPUs), ``--out`` (default benchmarks/results/evals_throughput.json).
Needs ``pip install "rtnb[ray]"`` for the Ray rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from _bench import Contention, git_rev, wait_quiet  # noqa: E402
from _realtime import StageTrace, engine_url, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def baseline() -> dict[str, Any]:
    """One full-window (30 s) Whisper tiny.en decode of a 3 s utterance, median of 3."""
    from rtnb.engine.parts import default_asr
    from tests import speechgen

    asr = default_asr()
    pcm = speechgen.utterance("What's the weather in Paris today? I need to know by noon.")
    asr.transcribe_full(pcm)  # warm-up
    times = []
    for _ in range(3):
        t = time.perf_counter()
        asr.transcribe_full(pcm)
        times.append(1000 * (time.perf_counter() - t))
    return {**machine(), "full_window_decode_ms": round(statistics.median(times), 1)}


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def summarise(kind: str, mode: str, workers: int, calls: list[dict], run_s: float,
              start_s: float, busy: float | None) -> dict[str, Any]:
    e2e = [t["e2e"] for c in calls for t in c["metrics"].get("turns", [])
           if t.get("e2e") is not None]
    pacing = []
    for c in calls:
        if c.get("recording"):
            folder = Path(c["recording"])
            pacing.append(wav_seconds(folder / "input.wav") + wav_seconds(folder / "output.wav"))
    return {"executor": kind, "mode": mode, "workers": workers, "calls": len(calls),
            "passed": sum(c["passed"] is True for c in calls), "run_s": round(run_s, 2),
            "start_s": round(start_s, 2), "calls_per_min": round(60 * len(calls) / run_s, 2),
            "calls_per_min_with_start": round(60 * len(calls) / (run_s + start_s), 2),
            "call_s_mean": round(statistics.mean(c["seconds"] for c in calls), 2),
            "audio_s_mean": round(statistics.mean(pacing), 2) if pacing else None,
            "e2e_ms_p50": round(statistics.median(e2e), 1) if e2e else None,
            "foreign_cpu_pct": busy}


def session_setup_ms(suite: Any, url: str, n: int = 5) -> float:
    """Open and close a session on the warm engine (median ms)."""
    from rtnb.session import Session

    async def once() -> float:
        t = time.perf_counter()
        async with Session(suite.agent_factory()(), backend=url):
            pass
        return 1000 * (time.perf_counter() - t)

    return round(statistics.median(asyncio.run(once()) for _ in range(n)), 1)


def quiet(args: argparse.Namespace) -> None:
    if args.wait_quiet:
        waited, share = wait_quiet(args.quiet_cpu, args.wait_quiet)
        print(f"    waited {waited:.0f}s for a quiet machine (others {share}%)", flush=True)


def run_local(args: argparse.Namespace, suite: Any, mode: str) -> tuple[list, dict]:
    from rtnb.evals import specs_for
    from rtnb.evals.executors import LocalExecutor

    trace = StageTrace()
    t = time.perf_counter()
    rows, parts = [], {}
    with engine_url(None, trace.install) as url:
        start_s = time.perf_counter() - t
        parts["engine_start_s"] = round(start_s, 2)
        parts["session_setup_ms"] = session_setup_ms(suite, url)
        for workers in args.workers:
            quiet(args)
            with tempfile.TemporaryDirectory() as rec:
                specs = specs_for(suite, repeat=args.repeat, backend=url, mode=mode,
                                  record_dir=rec)
                trace.spans.clear()
                with Contention() as busy:
                    t = time.perf_counter()
                    calls = list(LocalExecutor(workers).map(specs))
                    run_s = time.perf_counter() - t
                row = summarise("local", mode, workers, calls, run_s, start_s, busy.pct)
            model = {k: sum(b - a for kk, a, b, _ in trace.spans if kk == k) / len(calls)
                     for k in ("asr", "brain", "tts")}
            row["model_s_per_call"] = {k: round(v, 2) for k, v in model.items()}
            rows.append(row)
            _print(row)
    return rows, parts


def run_ray(args: argparse.Namespace, suite: Any, mode: str) -> tuple[list, dict]:
    import ray

    from rtnb.evals import specs_for
    from rtnb.evals.ray_executor import RayExecutor, start_local_cluster

    quiet(args)
    t = time.perf_counter()
    start_local_cluster(max(args.workers))
    parts: dict[str, Any] = {"cluster_start_s": round(time.perf_counter() - t, 2)}
    rows = []
    try:
        for workers in args.workers:
            quiet(args)
            with tempfile.TemporaryDirectory() as rec, RayExecutor("local", workers) as ex:
                specs = specs_for(suite, repeat=args.repeat, mode=mode, record_dir=rec)
                entries = ex.map(specs)
                with Contention() as busy:
                    t = time.perf_counter()
                    first = next(entries)  # the actors are up (and warm) before it
                    calls = [first, *entries]
                    total = time.perf_counter() - t
                start_s = ex.timings["actors_s"]
                row = summarise("ray", mode, workers, calls, total - start_s, start_s, busy.pct)
                row["actor_warm_s"] = ex.timings["actor_warm_s"]
            rows.append(row)
            _print(row)
        parts["task_round_trip_ms"] = _round_trip_ms(ray)
    finally:
        ray.shutdown()
    return rows, parts


def _round_trip_ms(ray: Any, n: int = 20) -> float:
    """An empty call on an actor and back (median ms)."""

    @ray.remote(num_cpus=0)
    class Echo:
        def ping(self, x: Any) -> Any:
            return x

    echo = Echo.remote()
    ray.get(echo.ping.remote(0))
    times = []
    for i in range(n):
        t = time.perf_counter()
        ray.get(echo.ping.remote(i))
        times.append(1000 * (time.perf_counter() - t))
    ray.kill(echo)
    return round(statistics.median(times), 2)


def _print(row: dict) -> None:
    model = row.get("model_s_per_call")
    extra = (f", model/call {sum(model.values()):.2f}s" if model else
             f", actors warm {row.get('actor_warm_s')}")
    print(f"  {row['executor']:5} {row['mode']:5} workers={row['workers']}: "
          f"{row['calls_per_min']:6.2f} calls/min (with start {row['calls_per_min_with_start']:.2f});"
          f" run {row['run_s']:.1f}s, start {row['start_s']:.1f}s, call {row['call_s_mean']:.1f}s,"
          f" audio {row['audio_s_mean']}s, e2e p50 {row['e2e_ms_p50']} ms, "
          f"{row['passed']}/{row['calls']} passed, others {row['foreign_cpu_pct']}% CPU{extra}",
          flush=True)


def attribution(rows: list[dict], parts: dict, mode: str) -> dict[str, Any]:
    """Where one call's time goes (local, the fewest workers) and Ray's overhead."""
    local = [r for r in rows if r["executor"] == "local" and r["mode"] == mode]
    ray_rows = [r for r in rows if r["executor"] == "ray" and r["mode"] == mode]
    out: dict[str, Any] = {"mode": mode}
    if local:
        one = min(local, key=lambda r: r["workers"])
        model = sum(one["model_s_per_call"].values())
        setup = parts[mode]["session_setup_ms"] / 1000
        pacing = one["audio_s_mean"] if mode == "audio" else 0.0
        out["per_call_s"] = {"total": one["call_s_mean"], "session_setup": round(setup, 2),
                             "speech_pacing": pacing, "model": round(model, 2),
                             "model_parts": one["model_s_per_call"],
                             "rest": round(one["call_s_mean"] - setup - pacing - model, 2)}
        out["engine_start_s"] = parts[mode]["engine_start_s"]
    if ray_rows:
        out["ray"] = {"cluster_start_s": parts[f"ray-{mode}"]["cluster_start_s"],
                      "task_round_trip_ms": parts[f"ray-{mode}"]["task_round_trip_ms"],
                      "actors_start_s": {r["workers"]: r["start_s"] for r in ray_rows},
                      "vs_local_calls_per_min": {
                          r["workers"]: round(r["calls_per_min"] / lr["calls_per_min"], 2)
                          for r in ray_rows for lr in local if lr["workers"] == r["workers"]}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=str(ROOT / "examples/evals/triage.yaml"))
    parser.add_argument("--modes", default="text,audio")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/evals_throughput.json"))
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    os.environ.pop("OPENAI_API_KEY", None)  # offline: no judge, no remote calls

    from rtnb.evals import load_suite

    suite = load_suite(args.suite)
    base = baseline()
    print(f"machine: {base['nproc']} CPUs ({base['cpu']}), load {os.getloadavg()[0]:.1f}; "
          f"baseline: one full-window Whisper tiny.en decode {base['full_window_decode_ms']} ms"
          f"; suite {suite.name}: {len(suite.calls)} calls x {args.repeat}", flush=True)
    rows: list[dict] = []
    parts: dict[str, Any] = {}
    modes = args.modes.split(",")
    for i, mode in enumerate(modes):
        if "local" in args.executors:
            got, parts[mode] = run_local(args, suite, mode)
            rows += got
        if "ray" in args.executors:
            got, parts[f"ray-{mode}"] = run_ray(args, suite, mode)
            rows += got
        where = attribution(rows, parts, mode)
        print(f"where the time goes ({mode}): "
              f"{json.dumps({k: v for k, v in where.items() if k != 'mode'})}", flush=True)
        # written after each mode, so a long run leaves its figures so far
        result = {"benchmark": "evals_throughput", "git": git_rev(), "suite": args.suite,
                  "repeat": args.repeat, "baseline": base, "rows": rows, "parts": parts,
                  "where": [attribution(rows, parts, m) for m in modes[:i + 1]]}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
