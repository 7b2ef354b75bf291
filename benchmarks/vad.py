"""VAD cost: streaming Silero throughput, batched ``trace()``, and the notebook's VAD plots.

Input: ~60 s of synthetic speech (piper utterances from ``tests/speechgen.py``, cached) with
pauses of 0.2–2.0 s, 24 kHz PCM16.

Measured, each as the median of ``--repeats`` runs (every run on a fresh VAD state):
- ``stream``: the whole recording through ``SileroVad.process`` in 20 ms chunks, the way the
  engine receives a microphone's appends. Throughput in x real time, and the cost per chunk.
- ``trace``: ``rtnb.engine.speech.vad.trace`` on the whole recording at once (batched rows).
- ``plot_vad``: ``rtnb.plot_vad`` on the recording (trace + turn detection + figure), and the
  PNG render a notebook then does (``Plot.png()``: 816 px wide, drawn at twice the pixels).
- ``explorer``: the VAD explorer's work per slider change: ``rtnb.analysis.explore`` alone, and
  the full widget update (explore + figure + the same PNG) timed through the real
  ``rtnb.vad_explorer()`` widget by moving its sliders.

Before each measurement the script waits (bounded) until other processes are quiet, and it
records their CPU share during the measurement. Run: ``python benchmarks/vad.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _bench import Contention, cpu_timer, git_rev, speech_60s, wait_quiet
from _realtime import machine, write_json

CHUNK_MS = 20


def _median_runs(fn: Callable[[], Any], repeats: int, quiet: tuple[float, float],
                 label: str) -> dict[str, Any]:
    """Run ``fn`` ``repeats`` times (each after waiting for quiet); median wall/CPU seconds.

    ``quiet_wall_s`` is the median wall time over the runs during which other processes used
    less than the quiet limit (None if there were none).
    """
    walls, cpus, others, waited = [], [], [], []
    for _ in range(repeats):
        w, _pct = wait_quiet(*quiet)
        waited.append(round(w, 1))
        with Contention() as c, cpu_timer() as t:
            fn()
        walls.append(t["wall"])
        cpus.append(t["cpu"])
        others.append(c.pct)
    out = {"wall_s": round(statistics.median(walls), 4), "cpu_s": round(statistics.median(cpus), 4),
           "wall_min_s": round(min(walls), 4), "wall_max_s": round(max(walls), 4),
           "runs": len(walls), "foreign_cpu_pct": others, "waited_quiet_s": waited}
    calm = [w for w, o in zip(walls, others, strict=True) if o is not None and o < quiet[0]]
    out["quiet_runs"] = len(calm)
    out["quiet_wall_s"] = round(statistics.median(calm), 4) if calm else None
    print(f"  {label}: median {out['wall_s'] * 1000:.1f} ms wall, {out['cpu_s'] * 1000:.1f} ms "
          f"CPU (min {out['wall_min_s'] * 1000:.1f}, max {out['wall_max_s'] * 1000:.1f}); "
          f"other processes {others}%", file=sys.stderr)
    return out


def _profile(fn: Callable[[], Any], top: int, runs: int = 3) -> list[dict[str, Any]]:
    """cProfile of ``runs`` calls: the functions with the largest cumulative time per call."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(runs):
        fn()
    prof.disable()
    table = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = []
    for (file, line, func), (_cc, calls, tt, ct, _callers) in table.items():
        short = file.split("/site-packages/", 1)[-1].split("/work/main/", 1)[-1]
        rows.append({"where": f"{short}:{line}:{func}", "calls": calls // runs,
                     "self_ms": round(tt * 1000 / runs, 1), "cum_ms": round(ct * 1000 / runs, 1)})
    rows.sort(key=lambda r: -r["cum_ms"])
    return rows[:top]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    import rtnb
    from rtnb import explorer as vx
    from rtnb.analysis import explore
    from rtnb.engine.speech.vad import SileroVad, trace

    pcm, spans = speech_60s(args.seconds)
    seconds = len(pcm) / 48_000
    print(f"  input: {seconds:.1f} s, {len(spans)} utterances", file=sys.stderr)
    quiet = (args.quiet_cpu, args.wait_quiet)
    step = CHUNK_MS * 48
    chunks = [pcm[i:i + step] for i in range(0, len(pcm), step)]
    SileroVad().process(pcm[:48_000])  # load the ONNX session once (shared per process)

    per_chunk: list[float] = []

    def stream() -> None:
        vad = SileroVad()
        per_chunk.clear()
        for c in chunks:
            t = time.perf_counter()
            vad.process(c)
            per_chunk.append(time.perf_counter() - t)

    res: dict[str, Any] = {"input_s": round(seconds, 2), "utterances": len(spans)}
    res["stream"] = _median_runs(stream, args.repeats, quiet, "stream 20 ms chunks")
    pc = np.asarray(per_chunk) * 1000
    res["stream"].update(
        x_realtime=round(seconds / res["stream"]["wall_s"], 1),
        x_realtime_quiet=round(seconds / res["stream"]["quiet_wall_s"], 1)
        if res["stream"]["quiet_wall_s"] else None,
        x_realtime_cpu=round(seconds / res["stream"]["cpu_s"], 1),
        chunks=len(chunks),
        per_chunk_ms={"p50": round(float(np.percentile(pc, 50)), 3),
                      "p95": round(float(np.percentile(pc, 95)), 3),
                      "max": round(float(pc.max()), 3)},
        per_frame_ms=round(res["stream"]["wall_s"] * 1000 / (len(pcm) // 1536), 3))

    probs: list[Any] = []
    res["trace"] = _median_runs(lambda: probs.append(trace(pcm)), args.repeats, quiet,
                                "trace() batched")
    res["trace"]["x_realtime"] = round(seconds / res["trace"]["wall_s"], 1)
    res["trace"]["x_realtime_cpu"] = round(seconds / res["trace"]["cpu_s"], 1)
    res["trace"]["frames"] = int(len(probs[-1]))
    vad = SileroVad()
    streamed = np.concatenate([vad.process(c) for c in chunks])
    res["trace"]["equals_stream"] = bool(np.array_equal(streamed, probs[-1]))

    figs: list[Any] = []
    res["plot_vad_build"] = _median_runs(lambda: figs.append(rtnb.plot_vad(pcm)), args.repeats,
                                         quiet, "plot_vad(60 s) build")

    def render() -> None:
        figs[-1].png()  # what the notebook shows

    res["plot_vad_render"] = _median_runs(render, args.repeats, quiet, "plot_vad PNG render")

    def full() -> None:
        rtnb.plot_vad(pcm).png()

    res["plot_vad_total"] = _median_runs(full, args.repeats, quiet,
                                         "plot_vad build + render")

    p = probs[-1]
    settings = [(0.5, 300, 500), (0.6, 300, 500), (0.4, 200, 700), (0.5, 300, 300)]
    k = iter(range(10**9))

    def explore_only() -> None:
        for _ in range(20):
            th, pp, sd = settings[next(k) % len(settings)]
            explore(p, th, pp, sd)

    res["explore_x20"] = _median_runs(explore_only, args.repeats, quiet, "explore() x 20")
    res["explore_ms"] = round(res["explore_x20"]["cpu_s"] * 1000 / 20, 3)  # CPU per call

    box = vx.vad_explorer(pcm)  # builds the widget (trace once + first update)
    values = iter(range(10**9))

    def slider() -> None:
        # Each assignment fires the widget's observer synchronously: explore + figure + PNG.
        box.threshold.value = (0.40, 0.45, 0.55, 0.60)[next(values) % 4]

    res["explorer_slider"] = _median_runs(slider, args.repeats, quiet,
                                          "vad_explorer slider change")
    if args.profile:
        res["profile_slider"] = _profile(slider, args.top)
        res["profile_plot_vad"] = _profile(full, args.top)
    res["explorer_build"] = _median_runs(lambda: vx.vad_explorer(pcm), max(2, args.repeats // 2),
                                         quiet, "vad_explorer() construction")
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement")
    parser.add_argument("--quiet-cpu", type=float, default=10.0,
                        help="'quiet' means other processes use less than this %% of the CPUs")
    parser.add_argument("--wait-quiet", type=float, default=60.0, metavar="S",
                        help="before each run wait up to S s for quiet (0: do not wait)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile a slider change and plot_vad (build + render)")
    parser.add_argument("--top", type=int, default=25, help="rows of each profile")
    parser.add_argument("--out", default="vad.json")
    args = parser.parse_args(argv)
    res = measure(args)
    s, tr = res["stream"], res["trace"]
    print(f"\nVAD on {res['input_s']} s of speech with pauses ({res['utterances']} utterances)\n")
    print("| measurement | median wall ms | median CPU ms | x real time (CPU) | quiet runs: "
          "median wall ms | other CPU % |")
    print("|---|---:|---:|---:|---:|---|")
    rows = [("SileroVad.process, 20 ms chunks", s, s["x_realtime_cpu"]),
            ("trace() batched", tr, tr["x_realtime_cpu"]),
            ("plot_vad build", res["plot_vad_build"], None),
            ("plot_vad PNG render", res["plot_vad_render"], None),
            ("plot_vad build + render", res["plot_vad_total"], None),
            ("explore() per call", None, None),
            ("vad_explorer slider change", res["explorer_slider"], None),
            ("vad_explorer() construction", res["explorer_build"], None)]
    for name, r, x in rows:
        if r is None:
            print(f"| {name} | {res['explore_ms']:.2f} | | | | |")
            continue
        xs = f"{x:.0f}" if x else ""
        qs = f"{r['quiet_wall_s'] * 1000:.1f} ({r['quiet_runs']})" if r["quiet_wall_s"] else "-"
        others = [v for v in r["foreign_cpu_pct"] if v is not None]
        print(f"| {name} | {r['wall_s'] * 1000:.1f} | {r['cpu_s'] * 1000:.1f} | {xs} | {qs} | "
              f"{min(others):.0f}–{max(others):.0f} |")
    print(f"\nstreaming: {s['per_chunk_ms']['p50']:.3f} ms per 20 ms chunk p50, "
          f"{s['per_chunk_ms']['p95']:.3f} p95; {s['per_frame_ms']:.3f} ms per 32 ms frame; "
          f"trace() equals streaming: {tr['equals_stream']}")
    for key in ("profile_slider", "profile_plot_vad"):
        if key in res:
            print(f"\n{key} (cProfile, per call, by cumulative time):\n")
            print("| file:line:function | calls | self ms | cum ms |")
            print("|---|---:|---:|---:|")
            for r in res[key]:
                print(f"| {r['where']} | {r['calls']} | {r['self_ms']} | {r['cum_ms']} |")
    payload = {"benchmark": "vad", "rev": git_rev(), "machine": machine(),
               "setup": {"seconds": args.seconds, "repeats": args.repeats,
                         "chunk_ms": CHUNK_MS, "quiet_cpu_pct": args.quiet_cpu,
                         "wait_quiet_s": args.wait_quiet},
               **res}
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
