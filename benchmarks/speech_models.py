"""Measure the offline speech models: VAD cost, ASR accuracy/latency, TTS speed.

Run with ``python benchmarks/speech_models.py`` (``--quick`` for fewer ASR cases,
``--full-window`` to run the 30 s window path over the set too, ``--only asr``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from _bench import paired_right

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rtnb.engine.speech import PiperTts, SileroVad, WhisperAsr, trace  # noqa: E402
from rtnb.wer import normalize, word_error_rate  # noqa: E402
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


def bench_asr(rows: list[tuple[str, str]], quick: bool, full: bool,
              only: tuple[str, ...] = ("phrases", "numbers", "short"),
              floors: tuple[float, ...] = ()) -> None:
    """WER and cost of the engine's path (sized windows, guarded) and of the full 30 s window.

    The set: the 12 ``PHRASES`` (today's figure) plus ``NUMBER_PHRASES`` and
    ``SHORT_PHRASES``, each x voices x speeds, with 200 ms before and 300 ms after.
    ``floors``: also the engine's path with ``logprob_floor`` set, a decode less sure than
    that redone with the full window (the accuracy/CPU trade-off).
    """
    voices = (
        ["alloy", "echo", "shimmer"] if quick else ["alloy", "echo", "shimmer", "cedar", "coral"]
    )
    speeds = [1.0] if quick else [0.8, 1.0, 1.3]
    sets = {"phrases": speechgen.PHRASES, "numbers": speechgen.NUMBER_PHRASES,
            "short": speechgen.SHORT_PHRASES}
    sets = {k: v for k, v in sets.items() if k in only}
    cases = [(p, v, s, k) for k, ps in sets.items() for v in voices for s in speeds for p in ps]
    audio = {c: speechgen.with_silence(speechgen.utterance(*c[:3]), 200, 300) for c in cases}
    asr, load = timed(WhisperAsr)
    asr.warmup()
    rows.append(("ASR load", f"{load * 1000:.0f} ms ({asr.cpu_threads} threads)"))
    paths = {"sized windows (engine)": asr.transcribe}
    for floor in floors:
        paths[f"sized, full window below avg logprob {floor}"] = asr.variant(
            logprob_floor=floor, margins=(asr.margins[0], None)).transcribe
    if full:
        paths["full 30 s window"] = asr.transcribe_full
    errors: dict[str, dict[str, list[float]]] = {name: {} for name in paths}
    counts: dict[str, dict[str, list[int]]] = {name: {} for name in paths}
    for name, fn in paths.items():
        walls, cpus = [], []
        for text, voice, speed, kind in cases:
            c = time.process_time()
            heard, dt = timed(fn, audio[text, voice, speed, kind])
            cpus.append(time.process_time() - c)
            walls.append(dt)
            wer, words = word_error_rate(text, heard), len(normalize(text))
            errors[name].setdefault(kind, []).append(wer)
            count = counts[name].setdefault(kind, [0, 0])
            count[0] += round(wer * words)
            count[1] += words
        rows.append((f"ASR {name}",
                     f"wall mean {statistics.mean(walls) * 1000:.0f} ms, max "
                     f"{max(walls) * 1000:.0f} ms; CPU mean {statistics.mean(cpus) * 1000:.0f} "
                     f"ms over {len(walls)} utterances"))
    for name in paths:
        per = errors[name]
        parts = [f"{kind} {statistics.mean(errs):.1%} ({counts[name][kind][0]} word errors / "
                 f"{counts[name][kind][1]})" for kind, errs in per.items()]
        every = [e for v in per.values() for e in v]
        rows.append((f"ASR WER {name}", ", ".join(parts) + f", all {statistics.mean(every):.1%}"))
    reference = "full 30 s window"
    for name in [n for n in paths if n != reference and reference in paths]:
        pairs = {kind: paired_right([e == 0 for e in errs],
                                    [e == 0 for e in errors[reference][kind]])
                 for kind, errs in errors[name].items()}
        rows.append((f"ASR heard right, {name} vs full window",
                     ", ".join(f"{kind} {p['right']} vs {p['reference_right']} of "
                               f"{p['utterances']} (only this {p['better']}, only full "
                               f"{p['worse']}, McNemar p {p['p']:.2f})"
                               for kind, p in pairs.items())))


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
    parser.add_argument("--full-window", action="store_true",
                        help="also run the 30 s window path (today's) over the set")
    parser.add_argument("--only", choices=("asr", "tts", "vad"), help="one part only")
    parser.add_argument("--floors", default="",
                        help="comma-separated average log-prob floors, e.g. -0.5: the engine's "
                             "path redoing less sure decodes with the full window")
    parser.add_argument("--sets", default="phrases,numbers,short",
                        help="ASR sets (comma-separated): phrases, numbers, short")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    if args.only in (None, "tts"):
        bench_tts(rows)
    if args.only in (None, "vad"):
        bench_vad(rows)
    if args.only in (None, "asr"):
        floors = tuple(float(f) for f in args.floors.split(",") if f.strip())
        bench_asr(rows, args.quick, args.full_window, tuple(args.sets.split(",")), floors)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
