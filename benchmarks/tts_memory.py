"""Piper's first chunk against its memory: the onnxruntime arena modes side by side.

Each arena mode of :class:`rtnb.engine.speech.tts.PiperTts` (``off``: no arena, ``grow``:
onnxruntime's default arena, ``shrink``: the arena handed back after every sentence) runs
in a fresh subprocess that loads Piper, warms it up and speaks a long conversation the way
the engine does (``split_sentences``: a short first chunk, then sentences of at most 30
words): ``--replies`` replies that mix short answers, long sentences, several voices and
slow speech (speed 0.5 and 0.25 make the longest tensors).

Per mode:

- ``first_chunk``: synthesis time of each reply's first chunk (call → first PCM), ms;
- ``rtf``: synthesis time / audio duration over the whole conversation;
- memory: RSS after the warm-up, after the conversation (``growth`` = the difference) and
  the peak (``VmHWM``), MB.

Timing: one process loads every mode and speaks each reply with each mode in turn, so a
noisy neighbour hits them alike. Memory: one process per mode. Both run on all cores and
pinned to one core (``taskset -c 0``), in one run.
Run: ``python benchmarks/tts_memory.py`` (~6 min on a quiet 2-core machine; ``--replies``
scales it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from _bench import Contention, git_rev, rss_mb, wait_quiet
from _realtime import ROOT, machine, stats, write_json

SHORT = [
    "Sure, I can help with that.",
    "Yes, that's correct.",
    "I'm a simple offline engine, so I answer from rules rather than a language model.",
    "The weather in Paris is 18 degrees and sunny.",
    "Your order has been cancelled. Is there anything else?",
    "I've transferred you to billing; someone will be with you shortly.",
]
LONG = (
    "Thanks for waiting, I have looked at your account and I can see that the premium plan "
    "renews on the first of every month, that it includes unlimited calls and texts, and "
    "that you can cancel it at any time from the settings page without paying a fee. "
    "If you would rather keep it, I can also apply the loyalty discount that started this "
    "week, which takes ten percent off the next six bills and needs nothing else from you."
)


def conversation(replies: int) -> list[tuple[str, str, float]]:
    """``(text, voice, speed)`` per reply: mostly short, every 4th long, every 8th slow."""
    voices = ["alloy", "echo", "shimmer", "cedar", "verse"]
    out = []
    for i in range(replies):
        text = LONG if i % 4 == 3 else SHORT[i % len(SHORT)]
        speed = (0.25 if i % 16 == 7 else 0.5) if i % 8 == 7 else 1.0
        out.append((text, voices[i % len(voices)], speed))
    return out


def child(arenas: list[str], replies: int) -> dict[str, Any]:
    """Load Piper once per arena mode in this process and speak the conversation with each,
    reply by reply in turn (so a noisy neighbour hits every mode alike). The process's
    memory figures describe a mode only when it runs alone."""
    from rtnb.engine.speech.tts import PiperTts

    voices = {}
    for arena in arenas:
        voices[arena] = PiperTts(arena=arena)
        voices[arena].warmup()
    before = rss_mb()
    first: dict[str, list[float]] = {a: [] for a in arenas}
    synth = dict.fromkeys(arenas, 0.0)
    audio = dict.fromkeys(arenas, 0.0)
    with Contention() as busy:
        for i, (text, voice, speed) in enumerate(conversation(replies)):
            for arena in arenas[i % len(arenas):] + arenas[:i % len(arenas)]:
                start = time.perf_counter()
                for n, (_sentence, pcm) in enumerate(voices[arena].synthesize(text, voice,
                                                                                speed)):
                    if n == 0:
                        first[arena].append(1000 * (time.perf_counter() - start))
                    audio[arena] += len(pcm) / 48000
                synth[arena] += time.perf_counter() - start
    after = rss_mb()
    return {"arenas": arenas, "cores": sorted(os.sched_getaffinity(0)),
            "first_chunk_ms": {a: stats(first[a]) for a in arenas},
            "rtf": {a: round(synth[a] / max(audio[a], 1e-9), 4) for a in arenas},
            "rss_after_warmup_mb": before["rss_mb"], "rss_after_mb": after["rss_mb"],
            "growth_mb": round(after["rss_mb"] - before["rss_mb"], 1),
            "peak_mb": after["peak_rss_mb"], "foreign_cpu": busy.pct}


def run_child(arenas: list[str], replies: int, pinned: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", ",".join(arenas), "--replies", str(replies)]
    if pinned:
        if shutil.which("taskset") is None:
            raise SystemExit("taskset is not installed (util-linux)")
        cmd = ["taskset", "-c", "0", *cmd]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from rtnb.engine.speech.tts import ARENA_MODES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=48)
    parser.add_argument("--modes", default=",".join(ARENA_MODES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-pinned", action="store_true", help="skip the taskset -c 0 runs")
    parser.add_argument("--wait-quiet", type=float, default=0.0,
                        help="before each process wait up to S s for others to go quiet")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--out", default="tts_memory.json")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child.split(","), args.replies)))
        return 0

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    timing: dict[str, dict[str, Any]] = {}
    memory: dict[str, dict[str, Any]] = {}
    for pinned in [False] if args.no_pinned else [False, True]:
        label = "1 (taskset -c 0)" if pinned else f"{len(os.sched_getaffinity(0))}"
        if args.wait_quiet:
            wait_quiet(args.quiet_cpu, args.wait_quiet)
        print(f"  first chunk, all modes in one process, {label} core(s) ...", file=sys.stderr,
              flush=True)
        timing[label] = run_child(modes, args.replies, pinned)
        for mode in modes:
            if args.wait_quiet:
                wait_quiet(args.quiet_cpu, args.wait_quiet)
            print(f"  memory, {mode} alone, {label} core(s) ...", file=sys.stderr, flush=True)
            memory.setdefault(label, {})[mode] = run_child([mode], args.replies, pinned)

    print(f"\nPiper arena modes, a conversation of {args.replies} replies\n")
    print("| cores | arena | first chunk p50 ms | p95 ms | p50 vs off | RTF | "
          "RSS after warm-up MB | growth MB | peak MB | others' CPU % (timing / memory) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, t in timing.items():
        base = t["first_chunk_ms"].get("off", {}).get("p50")
        for mode in modes:
            f, m = t["first_chunk_ms"][mode], memory[label][mode]
            ratio = f"{f['p50'] / base:.2f}" if base else "-"
            print(f"| {label} | {mode} | {f['p50']} | {f['p95']} | {ratio} | {t['rtf'][mode]} | "
                  f"{m['rss_after_warmup_mb']} | {m['growth_mb']} | {m['peak_mb']} | "
                  f"{t['foreign_cpu']} / {m['foreign_cpu']} |")
    path = write_json(args.out, {"benchmark": "tts_memory", "replies": args.replies,
                                 "machine": machine(), "rev": git_rev(), "timing": timing,
                                 "memory": memory})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
