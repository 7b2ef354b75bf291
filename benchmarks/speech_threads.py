"""Threads for the speech models: the engine's settings against the ones before, side by side.

Each configuration runs in a child process of its own, one after the other on the same
machine, on the same utterances and sentences:

- ASR: the engine's sized decode of each utterance (``WhisperAsr().transcribe``), wall and
  CPU time. ``before``: ``cpu_threads`` = the CPUs (up to 4), the log-mel on numpy's BLAS
  threads; ``now``: one thread (``asr.CPU_THREADS``) and one BLAS thread for the log-mel.
- TTS: Piper synthesis of each sentence (``PiperTts.synthesize_sentence``), wall and CPU
  time, alone and two at a time (as the engine's two synthesis workers run them: the
  throughput is sentences of audio per CPU second). ``before``: onnxruntime's default
  threads with spinning; ``now``: one thread, no spinning (``tts.THREADS``).

The machine's baseline is printed next to every figure: one full-window Whisper decode in
the ``now`` child. Ratios (now / before) are what compare across machines. Run
``python benchmarks/speech_threads.py`` and ``taskset -c 0 python benchmarks/...`` for one
core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _bench import git_rev
from _realtime import machine, write_json

ROOT = Path(__file__).resolve().parents[1]
UTTERANCES = ["Do you have any discounts on new phones for students?",
              "I want to return my snowboard.", "Can I book a table for two at seven tonight?",
              "My phone number is 555 123 4567."]
SENTENCES = ["I'm a simple", "offline engine, so I can't answer that myself.",
             "Sure, our phones", "are ten percent off for students with a valid card.",
             "One moment please."]


def child(config: str, rounds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from tests import speechgen

    cpus = len(os.sched_getaffinity(0))
    from rtnb.engine.speech.asr import WhisperAsr
    from rtnb.engine.speech.tts import PiperTts

    asr = (WhisperAsr(cpu_threads=min(4, cpus), blas_threads=None) if config == "before"
           else WhisperAsr())
    tts = PiperTts(threads=0, spin=True) if config == "before" else PiperTts()
    audio = [speechgen.utterance(u) for u in UTTERANCES]
    asr.warmup()
    tts.warmup()

    def timed(fn) -> tuple[float, float]:
        w, c = time.perf_counter(), time.process_time()
        fn()
        return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000

    asr_runs = [timed(lambda a=a: asr.transcribe(a)) for _ in range(rounds) for a in audio]
    tts_runs = [timed(lambda s=s: tts.synthesize_sentence(s)) for _ in range(rounds)
                for s in SENTENCES]
    audio_s = sum(len(tts.synthesize_sentence(s)) for s in SENTENCES) / 48000
    with ThreadPoolExecutor(2) as pool:  # two sentences at a time, as the engine's workers
        w, c = time.perf_counter(), time.process_time()
        list(pool.map(lambda s: tts.synthesize_sentence(s), SENTENCES * rounds))
        pair_wall, pair_cpu = time.perf_counter() - w, time.process_time() - c
    full = timed(lambda: asr.transcribe_full(audio[0]))
    return {
        "config": config, "asr_threads": asr.cpu_threads,
        "asr_wall_ms": statistics.median(r[0] for r in asr_runs),
        "asr_cpu_ms": statistics.median(r[1] for r in asr_runs),
        "tts_wall_ms": statistics.median(r[0] for r in tts_runs),
        "tts_cpu_ms": statistics.median(r[1] for r in tts_runs),
        "tts_pairs_audio_s_per_cpu_s": round(audio_s * rounds / pair_cpu, 2),
        "tts_pairs_audio_s_per_wall_s": round(audio_s * rounds / pair_wall, 2),
        "full_window_wall_ms": full[0], "full_window_cpu_ms": full[1], "cpus": cpus,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["before", "now"], help=argparse.SUPPRESS)
    parser.add_argument("--out", default="speech_threads.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.rounds)))
        return 0
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    results = {}
    for config in ("before", "now"):
        out = subprocess.run([sys.executable, __file__, "--child", config, "--rounds",
                              str(args.rounds)], env=env, capture_output=True, text=True,
                             check=True, cwd=ROOT)
        results[config] = json.loads(out.stdout.strip().splitlines()[-1])
    b, n = results["before"], results["now"]
    print(f"\nmachine: {n['cpus']} CPUs; one full-window Whisper decode: "
          f"{n['full_window_wall_ms']:.0f} ms wall, {n['full_window_cpu_ms']:.0f} ms CPU\n")
    print("| | before | now | now / before |")
    print("|---|---:|---:|---:|")
    for key, label in [("asr_wall_ms", "ASR sized decode, wall ms"),
                       ("asr_cpu_ms", "ASR sized decode, CPU ms"),
                       ("tts_wall_ms", "TTS sentence alone, wall ms"),
                       ("tts_cpu_ms", "TTS sentence alone, CPU ms"),
                       ("tts_pairs_audio_s_per_cpu_s", "TTS two at a time: audio s per CPU s"),
                       ("tts_pairs_audio_s_per_wall_s", "TTS two at a time: audio s per wall s")]:
        print(f"| {label} | {b[key]:.1f} | {n[key]:.1f} | {n[key] / b[key]:.2f} |")
    path = write_json(args.out, {"benchmark": "speech_threads", "rev": git_rev(),
                                 "machine": machine(), "results": results})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
