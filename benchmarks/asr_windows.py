"""Whisper encoder windows: accuracy, loops and CPU per margin, next to the full 30 s window.

Every utterance of the project's speech set (``tests/speechgen.py``: the 12 ``PHRASES``,
plus ``NUMBER_PHRASES`` and ``SHORT_PHRASES``, × voices × speeds) is cut the way the engine
decodes it (300 ms of lead-in, ~100 ms after the speech) and decoded:

- with the full 30 s window (faster-whisper's ``transcribe``, today's path);
- unguarded, with a window of the audio + each margin in ``--margins``;
- guarded (what :class:`~rtnb.engine.speech.asr.WhisperAsr` does): the short window, then
  the fallback margins (3 s, full) while :func:`~rtnb.engine.speech.asr.judge` rejects.

By default the decoder's memory is filled up with encoded silence to 1500 positions, as
the engine does; ``--no-pad`` measures bare short windows, ``--timestamps`` decodes with
timestamps.

Per configuration: WER overall / on numbers / on short utterances, the decodes the guard
rejected (loops, run-on output), and process CPU and wall time per utterance, side by side in
this one run. ``--batch`` also times batched decodes (one ``generate`` for B utterances).

Run: ``python benchmarks/asr_windows.py`` (``--quick`` for one speed and three voices;
``taskset -c 0 python benchmarks/asr_windows.py`` for one core).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _bench import Contention, git_rev, results_path, wait_quiet
from _realtime import machine

ROOT = Path(__file__).resolve().parents[1]

import json  # noqa: E402

from rtnb.engine.speech import asr as asrmod  # noqa: E402
from rtnb.wer import word_error_rate  # noqa: E402
from tests import speechgen  # noqa: E402


def cases(quick: bool) -> list[tuple[str, str, float, str]]:
    voices = ["alloy", "echo", "shimmer"] if quick else ["alloy", "echo", "shimmer", "cedar",
                                                          "coral"]
    speeds = [1.0] if quick else [0.8, 1.0, 1.3]
    sets = [("phrases", speechgen.PHRASES), ("numbers", speechgen.NUMBER_PHRASES),
            ("short", speechgen.SHORT_PHRASES)]
    return [(p, v, s, kind) for kind, phrases in sets for v in voices for s in speeds
            for p in phrases]


def timed(fn: Any, *args: Any) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def measure(asr: asrmod.WhisperAsr, audio: Any, margins: list[float]) -> dict[str, Any]:
    """Unguarded decodes at each margin (plus 3 s) and the full window, for one utterance."""
    seconds = audio.size / 16000
    row: dict[str, Any] = {"seconds": seconds}
    for m in sorted({*margins, 3.0}):
        got, wall, cpu = timed(asr.decode_once, audio, seconds + m)
        text, reason, cut = asrmod.judge(got, None)
        row[m] = {"raw": got.raw, "kept": got.text, "text": text, "reason": reason, "cut": cut,
                  "tokens": got.tokens, "budget": got.budget, "logprob": got.avg_logprob,
                  "loop": cut or asrmod.degenerate(got.raw, got.tokens, got.budget) is not None,
                  "wall": wall, "cpu": cpu}
    text, wall, cpu = timed(asr._full, audio, None)
    row["full"] = {"raw": text, "kept": text, "text": text, "reason": None, "cut": False,
                   "loop": False,
                   "wall": wall, "cpu": cpu}
    return row


def guarded(row: dict[str, Any], margin: float, floor: float | None = None) -> dict[str, Any]:
    """What the guard returns for ``margin`` (then 3 s, then full), and what it cost.

    It follows :meth:`WhisperAsr.transcribe_many` on the recorded decodes: the first try
    whose :func:`judge` finds no reason wins.
    """
    tries = [row[margin]] + ([row[3.0]] if margin < 3.0 else []) + [row["full"]]
    cost = {"wall": 0.0, "cpu": 0.0}
    for t in tries:
        cost["wall"] += t["wall"]
        cost["cpu"] += t["cpu"]
        unsure = floor is not None and t.get("logprob", 0.0) < floor
        if t["reason"] is None and not unsure:
            return {**t, **cost, "fallbacks": tries.index(t)}
    return {**tries[-1], **cost, "fallbacks": len(tries) - 1}


def summarize(rows: list[dict[str, Any]], pick: Any) -> dict[str, Any]:
    picked = [(r, pick(r)) for r in rows]
    def wer(kind: str | None) -> float:
        errs = [word_error_rate(r["said"], p["text"]) for r, p in picked
                if kind is None or r["kind"] == kind]
        return round(100 * statistics.mean(errs), 2) if errs else float("nan")
    return {"wer": wer(None), "wer_phrases": wer("phrases"), "wer_numbers": wer("numbers"),
            "wer_short": wer("short"),
            "looped": sum(1 for _, p in picked if p["loop"]),
            "cut": sum(1 for _, p in picked if p["cut"] and p.get("fallbacks", 0) == 0),
            "fallbacks": sum(p.get("fallbacks", 0) for _, p in picked),
            "cpu_ms": round(1000 * statistics.mean(p["cpu"] for _, p in picked), 1),
            "wall_ms": round(1000 * statistics.mean(p["wall"] for _, p in picked), 1)}


def bench_batch(asr: asrmod.WhisperAsr, clips: list[Any], sizes: list[int]) -> list[dict]:
    out = []
    for b in sizes:
        groups = [clips[i:i + b] for i in range(0, len(clips) - b + 1, b)][:max(2, 24 // b)]
        walls, cpus = [], []
        for g in groups:
            _, wall, cpu = timed(asr.transcribe_many, [(x, None) for x in g])
            walls.append(wall / b)
            cpus.append(cpu / b)
        out.append({"batch": b, "wall_ms_per_utt": round(1000 * statistics.mean(walls), 1),
                    "cpu_ms_per_utt": round(1000 * statistics.mean(cpus), 1)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--margins", default="0.25,0.5,1,1.5,2",
                        type=lambda s: [float(x) for x in s.split(",")])
    parser.add_argument("--quick", action="store_true", help="speed 1.0, three voices")
    parser.add_argument("--floors", default="-0.3,-0.5,-0.7",
                        type=lambda s: [float(x) for x in s.split(",") if x],
                        help="also simulate redoing decodes below these average log-probs")
    parser.add_argument("--timestamps", action="store_true",
                        help="decode sized windows with timestamps")
    parser.add_argument("--no-pad", action="store_true",
                        help="give the decoder only the short window's encoding (no silence "
                             "filled in up to 1500 positions)")
    parser.add_argument("--batch", default="1,2,4,8",
                        type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--threads", type=int, default=None,
                        help="CTranslate2 threads (default: the CPUs this process may use)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="wait up to S s for other processes to use < 10%% CPU first")
    parser.add_argument("--show-loops", action="store_true",
                        help="print each degenerate decode")
    parser.add_argument("--out", default="asr_windows.json")
    args = parser.parse_args(argv)
    asr = asrmod.WhisperAsr(cpu_threads=args.threads, timestamps=args.timestamps,
                            pad_memory=not args.no_pad)
    asr.warmup()
    todo = cases(args.quick)
    if args.wait_quiet:
        waited, share = wait_quiet(10, args.wait_quiet)
        print(f"  waited {waited:.0f} s for quiet (others {share}%)", file=sys.stderr)
    rows = []
    with Contention() as busy:
        for i, (said, voice, speed, kind) in enumerate(todo):
            pcm = speechgen.with_silence(speechgen.utterance(said, voice, speed), 300, 100)
            audio = asr.to_16k(pcm)
            row = measure(asr, audio, args.margins)
            row.update(said=said, voice=voice, speed=speed, kind=kind)
            rows.append(row)
            if args.show_loops:
                for m in args.margins:
                    if row[m]["loop"] or row[m]["reason"]:
                        print(f"  {row[m]['reason'] or 'cut':>11} margin {m}: [{voice} x{speed}] "
                              f"{said!r} -> {row[m]['raw']!r} -> {row[m]['text']!r}",
                              file=sys.stderr)
            if (i + 1) % 20 == 0:
                print(f"  {i + 1}/{len(todo)}", file=sys.stderr)
    configs = {"full 30 s window (today)": lambda r: {**r["full"], "fallbacks": 0}}
    for m in args.margins:
        configs[f"margin {m:g} s, unguarded"] = lambda r, m=m: {**r[m], "text": r[m]["raw"]}
        configs[f"margin {m:g} s, guarded"] = lambda r, m=m: guarded(r, m)
        for floor in args.floors:
            configs[f"margin {m:g} s, guarded, log-prob floor {floor:g}"] = \
                lambda r, m=m, f=floor: guarded(r, m, f)
    summary = {name: summarize(rows, pick) for name, pick in configs.items()}
    full_cpu = summary["full 30 s window (today)"]["cpu_ms"]
    print(f"\n{len(rows)} utterances ({sum(r['seconds'] for r in rows) / len(rows):.2f} s mean); "
          f"other processes used {busy.pct}% of the CPUs; full-window decode "
          f"{summary['full 30 s window (today)']['wall_ms']:.0f} ms wall, {full_cpu:.0f} ms CPU\n")
    print("| config | WER % | phrases | numbers | short | first decode looped | restart cut "
          "| fallbacks | CPU ms/utt | wall ms/utt | CPU vs full |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in summary.items():
        print(f"| {name} | {s['wer']} | {s['wer_phrases']} | {s['wer_numbers']} | "
              f"{s['wer_short']} | {s['looped']} | {s['cut']} | {s['fallbacks']} | "
              f"{s['cpu_ms']} | "
              f"{s['wall_ms']} | {s['cpu_ms'] / full_cpu:.2f} |")
    batch = []
    if args.batch:
        clips = [asr.to_16k(speechgen.with_silence(speechgen.utterance(p, v), 300, 100))
                 for p in speechgen.PHRASES for v in ("alloy", "echo")]
        with Contention() as bbusy:
            batch = bench_batch(asr, clips, args.batch)
        print(f"\nbatched guarded decodes (margin {asrmod.MARGIN_S} s; others {bbusy.pct}% CPU)")
        print("| batch | wall ms per utterance | CPU ms per utterance |\n|---:|---:|---:|")
        for b in batch:
            print(f"| {b['batch']} | {b['wall_ms_per_utt']} | {b['cpu_ms_per_utt']} |")
    for r in rows:
        for k in list(r):
            if isinstance(k, float):
                r[f"margin_{k:g}"] = r.pop(k)
    path = results_path(args.out)
    path.write_text(json.dumps({"benchmark": "asr_windows", "rev": git_rev(),
                                "machine": machine(), "foreign_cpu": busy.pct,
                                "summary": summary, "batch": batch, "rows": rows},
                               indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
