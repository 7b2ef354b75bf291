"""Measure the offline speech models: VAD cost, ASR accuracy/latency, TTS speed.

Run with ``python benchmarks/speech_models.py`` (``--quick`` for fewer ASR cases).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rtnb.engine.speech import PiperTts, SileroVad, WhisperAsr, trace  # noqa: E402
from rtnb.wer import word_error_rate  # noqa: E402
from tests import speechgen  # noqa: E402

PARAGRAPH = (
    "Sure, I can help with that. Your order number is four five two one, and it shipped "
    "yesterday. It should arrive by Thursday afternoon. Is there anything else I can do for you?"
)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_vad(rows: list[tuple[str, str]]) -> None:
    _, load = timed(SileroVad)
    pcm = b"".join(speechgen.utterance(p) for p in speechgen.PHRASES[:6])
    frames = len(pcm) // 1536
    for label, chunk in (("VAD, 32 ms chunks", 1536), ("VAD, 20 ms chunks", 960)):
        vad = SileroVad()
        start = time.perf_counter()
        for i in range(0, len(pcm), chunk):
            vad.process(pcm[i : i + chunk])
        per = (time.perf_counter() - start) / frames
        rows.append((label, f"{per * 1e6:.0f} µs/frame, {0.032 / per:.0f}x realtime"))
    _, dt = timed(trace, pcm)
    rows.append(("VAD, whole-file trace", f"{dt / frames * 1e6:.0f} µs/frame"))
    rows.append(("VAD session load", f"{load * 1000:.0f} ms"))


def bench_asr(rows: list[tuple[str, str]], quick: bool) -> None:
    voices = (
        ["alloy", "echo", "shimmer"] if quick else ["alloy", "echo", "shimmer", "cedar", "coral"]
    )
    speeds = [1.0] if quick else [0.8, 1.0, 1.3]
    cases = [(p, v, s) for v in voices for s in speeds for p in speechgen.PHRASES]
    audio = {c: speechgen.with_silence(speechgen.utterance(*c), 200, 300) for c in cases}
    for threads in (1, 2):
        asr, load = timed(WhisperAsr, cpu_threads=threads)
        asr.warmup()
        errors: dict[tuple[str, float], list[float]] = {}
        latencies = []
        for text, voice, speed in cases:
            heard, dt = timed(asr.transcribe, audio[text, voice, speed])
            latencies.append(dt)
            errors.setdefault((voice, speed), []).append(word_error_rate(text, heard))
        every = [e for errs in errors.values() for e in errs]
        rows.append((f"ASR load ({threads} thread)", f"{load * 1000:.0f} ms"))
        rows.append(
            (
                f"ASR latency ({threads} thread)",
                f"mean {statistics.mean(latencies) * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} utterances",
            )
        )
    for (voice, speed), errs in errors.items():
        rows.append((f"ASR WER {voice} x{speed}", f"{statistics.mean(errs):.1%}"))
    rows.append(("ASR WER overall", f"{statistics.mean(every):.1%}"))


def bench_tts(rows: list[tuple[str, str]]) -> None:
    tts, load = timed(PiperTts)
    tts.warmup()
    rows.append(("TTS load", f"{load * 1000:.0f} ms"))
    for voice in ("alloy", "cedar"):
        firsts, totals, seconds = [], [], []
        for _ in range(3):
            start = time.perf_counter()
            n_bytes = 0
            for i, (_, pcm) in enumerate(tts.synthesize(PARAGRAPH, voice=voice)):
                if i == 0:
                    firsts.append(time.perf_counter() - start)
                n_bytes += len(pcm)
            totals.append(time.perf_counter() - start)
            seconds.append(n_bytes / 48000)
        rtf = sum(totals) / sum(seconds)
        rows.append(
            (
                f"TTS {voice}",
                f"RTF {rtf:.3f}, first sentence {statistics.median(firsts) * 1000:.0f} ms, "
                f"{statistics.mean(seconds):.1f} s of audio",
            )
        )
    _, dt = timed(lambda: list(tts.synthesize("Sure.")))
    rows.append(("TTS 'Sure.'", f"{dt * 1000:.0f} ms"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer ASR voices and speeds")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    bench_tts(rows)
    bench_vad(rows)
    bench_asr(rows, args.quick)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
