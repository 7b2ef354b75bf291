"""Whisper sized windows: a grid of settings, each next to today's full 30 s window, on the
whole speech set; it picks the cheapest setting that hears as well as the full window.

Every utterance of the project's speech set (``tests/speechgen.py``: the 12 ``PHRASES``,
the 6 ``NUMBER_PHRASES`` and the 6 ``SHORT_PHRASES``, × 5 voices × 3 speeds = 360) is cut
the way the engine decodes it (300 ms of lead-in, 100 ms after the speech; ``--cut 200,300``
cuts it as ``speech_models.py`` does) and decoded:

- with today's full 30 s window (faster-whisper's ``transcribe``);
- with sized windows (:class:`~rtnb.engine.speech.asr.WhisperAsr`), for every point of the
  grid ``--silence`` × ``--positions`` × ``--margins`` (× ``--options``):

  * silence: how the silence after the audio looks to the encoder, ``audio`` (zeros in the
    waveform: the log-mel's floor) or ``mel`` (zeros in the log-mel: what faster-whisper
    pads the full window with); the decoder's memory is filled with encoded silence of the
    same kind;
  * positions: the decoder's memory is filled up to this many positions (0: the short
    window's own, 1500: Whisper's full memory);
  * margin: seconds of silence encoded after the audio;
  * options: extra CTranslate2 ``generate`` options, e.g.
    ``--options "no_repeat_ngram_size=3;repetition_penalty=1.1"`` (``;`` between sets,
    ``,`` inside one; the empty set is always there).

Each setting is scored guarded, as the engine runs it: the first decode, then the 3 s
margin, then the full window, while :func:`~rtnb.engine.speech.asr.judge` rejects (a
fallback is decoded only when needed; a decode that several settings would make is made
once, and each setting is charged every try it made). Per setting: word errors on each set
over its reference words, with the WER they give and the mean of per-utterance WER (the
figure ``speech_models.py`` prints), first decodes that looped, fallbacks, and the process
CPU time per utterance (all threads; a loaded machine disturbs it less than wall time),
side by side with the full window in this one run.

**Decision**: the setting with the least CPU among those with no more word errors than the
full window on every set (greedy decoding is deterministic: equal means equal). The engine's
constants should name it; the script says whether they do.

Run: ``python benchmarks/asr_windows.py`` (the default grid, 6 settings: ~15 min on a quiet
machine, ~40 min on 2 loaded cores; ``--quick``: speed 1.0, three voices). One core: ``taskset -c 0 python benchmarks/asr_windows.py`` (CTranslate2 then
runs one thread). ``--batch`` times batched decodes of the engine's setting.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _bench import Contention, git_rev, paired_right, results_path, wait_quiet
from _realtime import machine

ROOT = Path(__file__).resolve().parents[1]

from rtnb.engine.speech import asr as asrmod  # noqa: E402
from rtnb.wer import normalize, word_error_rate  # noqa: E402
from tests import speechgen  # noqa: E402

SETS = {"phrases": speechgen.PHRASES, "numbers": speechgen.NUMBER_PHRASES,
        "short": speechgen.SHORT_PHRASES}
FALLBACK_MARGIN = 3.0
FULL = "full 30 s window (today)"


def cases(quick: bool, sets: list[str]) -> list[tuple[str, str, float, str]]:
    voices = ["alloy", "echo", "shimmer"] if quick else ["alloy", "echo", "shimmer", "cedar",
                                                          "coral"]
    speeds = [1.0] if quick else [0.8, 1.0, 1.3]
    return [(p, v, s, kind) for kind in sets for v in voices for s in speeds
            for p in SETS[kind]]


def timed(fn: Any, *args: Any) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def parse_options(text: str) -> list[dict[str, Any]]:
    """``"a=1,b=2;c=3"`` → ``[{}, {"a": 1, "b": 2}, {"c": 3}]`` (numbers parsed)."""
    out: list[dict[str, Any]] = [{}]
    for chunk in filter(None, (c.strip() for c in text.split(";"))):
        opts: dict[str, Any] = {}
        for pair in chunk.split(","):
            key, value = pair.split("=")
            num = float(value)
            opts[key.strip()] = int(num) if num.is_integer() and "." not in value else num
        out.append(opts)
    return out


def options_name(opts: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in opts.items())


def setting_key(silence: str, positions: int, margin: float, opts: dict[str, Any]) -> str:
    key = f"{silence}/{positions}/{margin:g}"
    return key + (f"/{options_name(opts)}" if opts else "")


def grid_settings(grid: dict[str, Any]) -> list[tuple[str, int, float, dict[str, Any]]]:
    """Every ``(silence, positions, margin, options)`` of the grid."""
    return [(silence, positions, margin, opts) for silence in grid["silence"]
            for positions in grid["positions"] for margin in grid["margins"]
            for opts in grid["options"]]


def measure(asr: asrmod.WhisperAsr, audio: Any, grid: dict[str, Any]) -> dict[str, Any]:
    """One utterance: the full window, and for every setting of the grid what the engine's
    guard returns and what it cost.

    The guard is :meth:`WhisperAsr.transcribe_many`'s: the setting's decode, then the 3 s
    margin, then the full window, while :func:`judge` rejects. A decode is made once and
    shared by the settings that would make the same one (the encoder's output is shared by
    the settings with the same silence and margin), and each setting is charged the whole
    cost of every try it made.
    """
    seconds = audio.size / 16000
    prompt = asr._prompt(None)
    text, wall, cpu = timed(asr._full, audio, None)
    full = {"text": text, "wall": wall, "cpu": cpu}
    encodes: dict[tuple[str, float], tuple[Any, float, float]] = {}
    decodes: dict[str, dict[str, Any]] = {}

    def decode(silence: str, positions: int, margin: float, opts: dict[str, Any]
               ) -> dict[str, Any]:
        key = setting_key(silence, positions, margin, opts)
        if key not in decodes:
            if (silence, margin) not in encodes:
                encodes[silence, margin] = timed(asr.variant(silence=silence).encode_window,
                                                 [audio], seconds + margin)
            encoded, e_wall, e_cpu = encodes[silence, margin]
            v = asr.variant(silence=silence, memory_positions=positions, generate_options=opts)
            got, wall, cpu = timed(
                lambda: v.decode_memory(v.memory(encoded), [audio], [prompt])[0])
            text, reason, cut = asrmod.judge(got, asr.logprob_floor)
            decodes[key] = {"raw": got.raw, "text": text, "reason": reason, "cut": cut,
                            "loop": cut or asrmod.degenerate(got.raw, got.tokens,
                                                             got.budget) is not None,
                            "logprob": round(got.avg_logprob, 4),
                            "wall": e_wall + wall, "cpu": e_cpu + cpu}
        return decodes[key]

    settings = {}
    for silence, positions, margin, opts in grid_settings(grid):
        margins = [margin] + ([FALLBACK_MARGIN] if margin < FALLBACK_MARGIN else [])
        cost = {"wall": 0.0, "cpu": 0.0}
        first = None
        for n, m in enumerate(margins):
            t = decode(silence, positions, m, opts)
            first = first or t
            cost["wall"] += t["wall"]
            cost["cpu"] += t["cpu"]
            if t["reason"] is None:
                picked = {"text": t["text"], "fallbacks": n}
                break
        else:
            cost["wall"] += full["wall"]
            cost["cpu"] += full["cpu"]
            picked = {"text": full["text"], "fallbacks": len(margins)}
        settings[setting_key(silence, positions, margin, opts)] = {
            **picked, **cost, "first_raw": first["raw"], "first_reason": first["reason"],
            "first_loop": first["loop"], "to_full": picked["fallbacks"] == len(margins)}
    return {"seconds": seconds, "full": full, "settings": settings}


def summarize(rows: list[dict[str, Any]], pick: Any) -> dict[str, Any]:
    picked = [(r, pick(r)) for r in rows]
    out: dict[str, Any] = {}
    for kind in SETS:
        mine = [(r, p) for r, p in picked if r["kind"] == kind]
        if not mine:
            continue
        words = sum(len(normalize(r["said"])) for r, _ in mine)
        errors = sum(round(word_error_rate(r["said"], p["text"]) * len(normalize(r["said"])))
                     for r, p in mine)
        out[kind] = {"errors": errors, "words": words, "wer": round(100 * errors / words, 2),
                     "utt_wer": round(100 * statistics.mean(
                         word_error_rate(r["said"], p["text"]) for r, p in mine), 2)}
    out["looped"] = sum(1 for _, p in picked if p.get("first_loop"))
    out["fallbacks"] = sum(p.get("fallbacks", 0) for _, p in picked)
    out["to_full"] = sum(1 for _, p in picked if p.get("to_full"))
    out["cpu_ms"] = round(1000 * statistics.mean(p["cpu"] for _, p in picked), 1)
    out["wall_ms"] = round(1000 * statistics.mean(p["wall"] for _, p in picked), 1)
    return out


def paired(rows: list[dict[str, Any]], pick: Any) -> dict[str, Any]:
    """Per set, :func:`_bench.paired_right` of this setting against the full window."""
    out: dict[str, Any] = {}
    for kind in SETS:
        mine = [r for r in rows if r["kind"] == kind]
        if mine:
            out[kind] = paired_right(
                [word_error_rate(r["said"], pick(r)["text"]) == 0 for r in mine],
                [word_error_rate(r["said"], r["full"]["text"]) == 0 for r in mine])
    return out


def paired_table(pairs: dict[str, dict[str, Any]]) -> str:
    sets = [k for k in SETS if any(k in p for p in pairs.values())]
    head = " | ".join(f"{k}: heard right · right where full is wrong / wrong where full is "
                      f"right (p)" for k in sets)
    lines = [f"| setting | {head} |", "|---|" + "---:|" * len(sets)]
    for name, p in pairs.items():
        cells = " | ".join(
            f"{p[k]['right']}/{p[k]['utterances']}" + ("" if name == FULL else
                                                       f" · {p[k]['better']}/{p[k]['worse']} "
                                                       f"(p {p[k]['p']:.2f})")
            for k in sets)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def decide(summary: dict[str, dict[str, Any]]) -> tuple[str | None, list[str]]:
    """The cheapest setting with no more word errors than the full window on every set, and
    every setting that qualifies (cheapest first)."""
    full = summary[FULL]
    ok = [name for name, s in summary.items() if name != FULL
          and all(s[k]["errors"] <= full[k]["errors"] for k in SETS if k in full)]
    ok.sort(key=lambda name: summary[name]["cpu_ms"])
    return (ok[0] if ok else None), ok


def engine_setting() -> str:
    return setting_key(asrmod.SILENCE, asrmod.MEMORY_POSITIONS, asrmod.MARGIN_S,
                       asrmod.GENERATE_OPTIONS)


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


def table(summary: dict[str, dict[str, Any]], decision: str | None) -> str:
    full_cpu = summary[FULL]["cpu_ms"]
    sets = [k for k in SETS if k in summary[FULL]]
    head = " | ".join(f"{k} errors/words (WER %; per-utterance %)" for k in sets)
    lines = [f"| setting (silence/positions/margin) | {head} | first decode looped "
             f"| fallbacks (to full) | CPU ms/utt | wall ms/utt | CPU vs full |",
             "|---|" + "---:|" * (len(sets) + 5)]
    for name, s in summary.items():
        cells = " | ".join(f"{s[k]['errors']}/{s[k]['words']} ({s[k]['wer']:.1f}; "
                           f"{s[k]['utt_wer']:.1f})" for k in sets)
        label = f"**{name}**" if name == decision else name
        if name == engine_setting():
            label += " (engine)"
        lines.append(f"| {label} | {cells} | {s['looped']} | {s['fallbacks']} ({s['to_full']}) "
                     f"| {s['cpu_ms']} | {s['wall_ms']} | {s['cpu_ms'] / full_cpu:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    floats = lambda s: [float(x) for x in s.split(",") if x]  # noqa: E731
    parser.add_argument("--margins", default="0.5", type=floats,
                        help="seconds of silence encoded after the audio (3 s, the guard's "
                             "fallback, is always decoded)")
    parser.add_argument("--positions", default="1000,1250,1500",
                        type=lambda s: [int(x) for x in s.split(",") if x],
                        help="decoder memory positions filled with encoded silence")
    parser.add_argument("--silence", default="audio,mel",
                        type=lambda s: [x for x in s.split(",") if x],
                        help="kinds of silence: audio, mel")
    parser.add_argument("--options", default="", type=parse_options,
                        help="extra generate option sets, e.g. 'no_repeat_ngram_size=3;"
                             "repetition_penalty=1.1'")
    parser.add_argument("--quick", action="store_true", help="speed 1.0, three voices")
    parser.add_argument("--cut", default="300,100", type=lambda s: [int(x) for x in s.split(",")],
                        metavar="LEAD,TAIL", help="ms of silence before and after the speech: "
                        "300,100 cuts it as the engine does (default), 200,300 as "
                        "speech_models.py does")
    parser.add_argument("--sets", default=",".join(SETS),
                        type=lambda s: [x for x in s.split(",") if x],
                        help="which sets (comma-separated): phrases, numbers, short")
    parser.add_argument("--limit", type=int, default=0,
                        help="only the first N utterances of each set (a smoke test)")
    parser.add_argument("--batch", default="", type=lambda s: [int(x) for x in s.split(",") if x],
                        help="also time batched decodes of the engine's setting, e.g. 1,2,4,8")
    parser.add_argument("--threads", type=int, default=None,
                        help="CTranslate2 threads (default: the CPUs this process may use, "
                             "up to 4)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="wait up to S s for other processes to use < 10%% CPU first")
    parser.add_argument("--show", action="store_true",
                        help="print each utterance the decision's setting and the full window "
                             "hear differently")
    parser.add_argument("--out", default="asr_windows.json")
    args = parser.parse_args(argv)
    grid = {"silence": args.silence, "positions": args.positions, "margins": args.margins,
            "options": args.options}
    asr = asrmod.WhisperAsr(cpu_threads=args.threads)
    asr.warmup()
    for silence in grid["silence"]:
        asr.variant(silence=silence)._fill()  # computed once, outside the timings
    todo = cases(args.quick, args.sets)
    if args.limit:
        todo = [c for k in SETS for c in [c for c in todo if c[3] == k][:args.limit]]
    if args.wait_quiet:
        waited, share = wait_quiet(10, args.wait_quiet)
        print(f"  waited {waited:.0f} s for quiet (others {share}%)", file=sys.stderr)
    rows = []
    t0 = time.perf_counter()
    with Contention() as busy:
        for i, (said, voice, speed, kind) in enumerate(todo):
            pcm = speechgen.with_silence(speechgen.utterance(said, voice, speed), *args.cut)
            row = measure(asr, asr.to_16k(pcm), grid)
            row.update(said=said, voice=voice, speed=speed, kind=kind)
            rows.append(row)
            if (i + 1) % 20 == 0:
                left = (time.perf_counter() - t0) / (i + 1) * (len(todo) - i - 1)
                print(f"  {i + 1}/{len(todo)} (~{left / 60:.0f} min left)", file=sys.stderr)
    configs: dict[str, Any] = {FULL: lambda r: r["full"]}
    for setting in grid_settings(grid):
        configs[setting_key(*setting)] = lambda r, k=setting_key(*setting): r["settings"][k]
    summary = {name: summarize(rows, pick) for name, pick in configs.items()}
    decision, qualified = decide(summary)
    full = summary[FULL]
    print(f"\n{len(rows)} utterances ({sum(r['seconds'] for r in rows) / len(rows):.2f} s mean), "
          f"{asr.cpu_threads} CTranslate2 thread(s); other processes used {busy.pct}% of the "
          f"CPUs; this machine's full-window decode: {full['wall_ms']:.0f} ms wall, "
          f"{full['cpu_ms']:.0f} ms CPU per utterance\n")
    print(table(summary, decision))
    pairs = {name: paired(rows, pick) for name, pick in configs.items()}
    print("\nUtterance by utterance, against the full window on the same audio (McNemar's "
          "exact p; word errors can differ where both are wrong: numbers are compared digit by "
          "digit, so \"10\" for \"two\" is two word errors and \"tune\" one):\n")
    print(paired_table(pairs))
    print(f"\nqualify (no more word errors than the full window on every set), cheapest first: "
          f"{', '.join(qualified) or 'none'}")
    if decision is None:
        print("decision: no setting qualifies")
    else:
        d = summary[decision]
        print(f"decision: {decision} ({d['cpu_ms']} ms CPU per utterance, "
              f"{d['cpu_ms'] / full['cpu_ms']:.3f}x the full window); the engine uses "
              f"{engine_setting()}" + (" (the same)" if decision == engine_setting()
                                       else " (DIFFERENT)"))
        if args.show:
            for r in rows:
                g = r["settings"][decision]
                if normalize(g["text"]) != normalize(r["full"]["text"]):
                    print(f"  [{r['voice']} x{r['speed']}] {r['said']!r}: sized {g['text']!r}, "
                          f"full {r['full']['text']!r}", file=sys.stderr)
    batch = []
    if args.batch:
        clips = [asr.to_16k(speechgen.with_silence(speechgen.utterance(p, v), 300, 100))
                 for p in speechgen.PHRASES for v in ("alloy", "echo")]
        with Contention() as bbusy:
            batch = bench_batch(asr, clips, args.batch)
        print(f"\nbatched guarded decodes ({engine_setting()}; others {bbusy.pct}% CPU)")
        print("| batch | wall ms per utterance | CPU ms per utterance |\n|---:|---:|---:|")
        for b in batch:
            print(f"| {b['batch']} | {b['wall_ms_per_utt']} | {b['cpu_ms_per_utt']} |")
    path = results_path(args.out)
    path.write_text(json.dumps({"benchmark": "asr_windows", "rev": git_rev(),
                                "machine": machine(), "threads": asr.cpu_threads,
                                "foreign_cpu": busy.pct, "grid": grid, "cut_ms": args.cut, "decision": decision,
                                "qualified": qualified, "engine": engine_setting(),
                                "summary": summary, "paired": pairs, "batch": batch, "rows": rows},
                               indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
