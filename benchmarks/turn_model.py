"""semantic_vad with the end-of-turn model against server_vad: premature ends and latency.

Two sets of real speech (piper voices from ``tests/speechgen.py``), the same sentences
(``speechgen.PAUSED``) in both:

- **finished**: each sentence spoken whole;
- **paused**: the same sentence with ``--pause-ms`` of silence spliced in after an
  unfinished prefix ("I want to return my … snowboard.").

For each utterance and each turn-detection setting:

- ``premature``: a ``speech_stopped`` came before the speaker was done (inside the
  mid-sentence pause, or any other gap before the end of speech);
- ``latency``: end of speech → ``speech_stopped`` of the turn that holds it (ms);
- ``longest_wait``: turns that ended only at semantic_vad's longest wait (the model said
  "unfinished" about finished words).

Modes:

- default: through the protocol. The official ``openai`` SDK talks to an in-process engine
  (or ``--url``), audio paced in real time, one ``session.update`` per utterance, the
  settings interleaved. End of speech is the wall time of the append that carried the last
  sample above −40 dBFS; latency ends when ``speech_stopped`` is received.
- ``--offline``: ``RealtimeCore`` with the real Silero VAD and the real model, called
  synchronously, on the audio clock (latency = the end of the frame that ended the turn −
  end of speech). Fast; ``--grid`` sweeps the model's threshold and the silence window.

The model's cost per call (features + inference, ms) is measured on all cores and pinned to
one (``taskset -c 0``, in a subprocess), next to the machine's baseline: one full-window
(30 s) Whisper tiny.en decode of a 3 s utterance.

Run: ``python benchmarks/turn_model.py`` (~10 min), ``--offline`` (~3 min),
``--cost-only`` (~1 min).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import numpy as np
from _bench import Contention, git_rev, wait_quiet
from _realtime import (
    ROOT,
    VOICES,
    CpuMonitor,
    EventLog,
    PacedMic,
    engine_url,
    machine,
    speech_bounds,
    stats,
    write_json,
)

LEAD_MS = 300
#: Settle time after each utterance before the next ``session.update``.
GAP_MS = 400
SETTINGS = {
    "server_vad": {"type": "server_vad"},
    "semantic_low": {"type": "semantic_vad", "eagerness": "low"},
    "semantic_medium": {"type": "semantic_vad", "eagerness": "medium"},
    "semantic_high": {"type": "semantic_vad", "eagerness": "high"},
}


# -- the speech ------------------------------------------------------------------------------


def utterances(voices: int, pauses: list[int]) -> list[dict[str, Any]]:
    """Both sets: dicts with the PCM (lead silence included) and where speech ends/resumes."""
    from tests import speechgen

    out = []
    for v, voice in enumerate(VOICES[:voices]):
        for i, (text, prefix) in enumerate(speechgen.PAUSED):
            whole = speechgen.utterance(text, voice)
            pause = pauses[(i + v) % len(pauses)]
            spliced, cut_ms = speechgen.paused(text, prefix, pause, voice)
            for kind, pcm, gap in (("finished", whole, None),
                                   ("paused", spliced, (cut_ms, cut_ms + pause))):
                audio = bytes(LEAD_MS * 48) + pcm
                out.append({"set": kind, "text": text, "voice": voice, "pause_ms": pause,
                            "pcm": audio, "end_ms": speech_bounds(audio)[1],
                            "gap_ms": None if gap is None else (LEAD_MS + gap[0],
                                                                LEAD_MS + gap[1])})
    return out


def judge(u: dict[str, Any], stops: list[tuple[float, float]], max_wait_ms: int | None,
          decided_at: list[float]) -> dict[str, Any]:
    """Score one utterance from its ``(audio_end_ms, latency_ms)`` stops."""
    end = u["end_ms"]
    early = [s for s in stops if s[0] < end - 150]  # ended before the speaker was done
    final = [s for s in stops if s[0] >= end - 150]
    latency = final[0][1] if final else None
    longest = (max_wait_ms is not None and bool(decided_at)
               and decided_at[-1] - end >= max_wait_ms - 100)
    return {"set": u["set"], "text": u["text"], "voice": u["voice"], "pause_ms": u["pause_ms"],
            "premature": len(early), "latency_ms": latency, "longest_wait": bool(longest),
            "stops": stops}


# -- offline: RealtimeCore on the audio clock ------------------------------------------------


def run_offline(u: dict[str, Any], td: dict[str, Any], model: Any,
                tail_ms: int = 9000) -> tuple[list[tuple[float, float]], list[float]]:
    """Feed one utterance (then silence) to a fresh core; model answers at once."""
    from rtnb.engine.core import PredictTurnEnd, RealtimeCore
    from rtnb.engine.speech.vad import SileroVad

    core = RealtimeCore(vad_factory=SileroVad, turn_model=model is not None)
    core.receive(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "audio": {"input": {"turn_detection": {
            **td, "create_response": False}}}}}))
    pcm = u["pcm"] + bytes(tail_ms * 48)
    stops: list[tuple[float, float]] = []
    decided: list[float] = []

    def handle(outputs: list) -> None:
        for out in outputs:
            if isinstance(out, PredictTurnEnd):
                handle(core.turn_predicted(out.key, model.probability(out.audio)))
            elif isinstance(out, dict) and out["type"] == "input_audio_buffer.speech_stopped":
                decided.append(core.input_audio.turn.t_ms)
                stops.append((out["audio_end_ms"], core.input_audio.turn.t_ms - u["end_ms"]))

    step = 20 * 48
    for i in range(0, len(pcm), step):
        handle(core.feed_audio(pcm[i:i + step]))
        if stops and stops[-1][0] >= u["end_ms"] - 150:
            break
    return stops, decided


def offline(items: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    from rtnb.engine.speech.smart_turn import SmartTurn
    from rtnb.engine.turns import TurnConfig

    model = SmartTurn()
    model.warmup()
    rows = []
    for u in items:
        for name in names:
            td = SETTINGS[name]
            stops, decided = run_offline(u, td, model if td["type"] == "semantic_vad" else None)
            row = judge(u, stops, TurnConfig.from_wire(td).max_wait_ms, decided)
            rows.append({"setting": name, **row})
    return rows


def grid(items: list[dict[str, Any]], eagerness: str, windows: list[int],
         thresholds: list[float]) -> None:
    """Premature ends and latency for thresholds x windows, from one model call per pause."""
    from rtnb.engine import turns
    from rtnb.engine.speech.smart_turn import SmartTurn

    model = SmartTurn()
    model.warmup()
    cache: dict[bytes, float] = {}

    class Cached:
        def probability(self, audio: bytes) -> float:
            if audio not in cache:
                cache[audio] = model.probability(audio)
            return cache[audio]

    saved = dict(turns.EAGERNESS)
    longest = saved[eagerness][1]
    print(f"semantic_vad {eagerness} (longest wait {longest} ms)\n")
    print("| window ms | threshold | premature (paused) | premature (finished) | "
          "latency p50 | p95 | longest waits |\n|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for window in windows:
            for threshold in thresholds:
                turns.EAGERNESS[eagerness] = (window, longest, threshold)
                rows = []
                for u in items:
                    stops, decided = run_offline(u, SETTINGS[f"semantic_{eagerness}"],
                                                 Cached())
                    rows.append(judge(u, stops, longest, decided))
                s = summarise(rows)
                print(f"| {window} | {threshold} | {s['paused']['premature']} | "
                      f"{s['finished']['premature']} | {s['finished']['latency']['p50']} | "
                      f"{s['finished']['latency']['p95']} | "
                      f"{s['finished']['longest_wait']} |", flush=True)
    finally:
        turns.EAGERNESS.update(saved)


# -- through the protocol ----------------------------------------------------------------------


async def run_engine(items: list[dict[str, Any]], names: list[str], url: str | None,
                     wait_quiet_s: float, quiet_cpu: float) -> list[dict[str, Any]]:
    from openai import AsyncOpenAI

    from rtnb.engine.turns import TurnConfig

    rows = []
    cpu = CpuMonitor()
    with engine_url(url) as base:
        client = AsyncOpenAI(api_key="local", websocket_base_url=base)
        async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
            log = EventLog(conn)
            mic = PacedMic(conn)
            tasks = [asyncio.create_task(t.run()) for t in (log, mic, cpu)]
            try:
                for n, u in enumerate(items):
                    for name in names:
                        if wait_quiet_s:
                            await cpu.wait_quiet(quiet_cpu / 100, wait_quiet_s)
                        row = await engine_trial(conn, log, mic, u, SETTINGS[name], cpu)
                        cfg = TurnConfig.from_wire(SETTINGS[name])
                        rows.append({"setting": name, **judge(u, row["stops"], cfg.max_wait_ms,
                                                               row["decided"]),
                                     "foreign_cpu": row["foreign_cpu"]})
                    print(f"  {n + 1}/{len(items)} {u['set']:<8} {u['voice']:<7} "
                          + "  ".join(f"{r['setting']}: {r['premature']} early, "
                                      f"{r['latency_ms'] and round(r['latency_ms'])} ms"
                                      for r in rows[-len(names):]), file=sys.stderr)
            finally:
                mic.stop()
                for t in tasks:
                    t.cancel()
    return rows


async def engine_trial(conn: Any, log: EventLog, mic: PacedMic, u: dict[str, Any],
                       td: dict[str, Any], cpu: CpuMonitor) -> dict[str, Any]:
    from rtnb.engine.turns import TurnConfig

    mark = log.mark()
    await conn.session.update(session={"type": "realtime", "audio": {"input": {
        "transcription": None, "turn_detection": {**td, "create_response": False}}}})
    await log.wait("session.updated", mark, 10.0)
    while not mic.idle():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    mark = log.mark()
    start = mic.play(u["pcm"])
    end_audio = start + u["end_ms"]
    cfg = TurnConfig.from_wire(td)
    stops: list[tuple[float, float]] = []
    decided: list[float] = []
    seen = mark
    longest_s = (cfg.max_wait_ms or cfg.silence_duration_ms) / 1000
    deadline = None  # set once the end of speech is out (a busy machine paces late)
    while deadline is None or time.perf_counter() < deadline:
        if deadline is None and mic.sent_ms >= end_audio:
            deadline = time.perf_counter() + longest_s + 3
        wait_s = 0.05 if deadline is None else max(0.05, deadline - time.perf_counter())
        try:
            t, ev = await log.wait("input_audio_buffer.speech_stopped", seen, wait_s)
        except TimeoutError:
            continue
        seen = log.events.index((t, ev)) + 1
        end_ms = ev.audio_end_ms - start
        if end_ms < 0:
            continue  # the previous utterance's turn, decided late
        if end_ms < u["end_ms"] - 150:
            stops.append((end_ms, None))
            continue
        latency = (t - mic.wall_at(end_audio)) * 1000
        stops.append((end_ms, latency))
        decided.append(u["end_ms"] + latency)
        break
    await asyncio.sleep(GAP_MS / 1000)
    share = cpu.share(mic.wall_at(end_audio), time.perf_counter())
    return {"stops": stops, "decided": decided,
            "foreign_cpu": None if share is None else round(100 * share, 1)}


# -- the model's cost ----------------------------------------------------------------------------


def model_cost(calls: int) -> dict[str, Any]:
    """ms per call (features, inference, total) and the full-window Whisper baseline."""
    from faster_whisper import WhisperModel

    from rtnb.audio import load_audio
    from rtnb.engine.speech.asr import default_model_dir
    from rtnb.engine.speech.smart_turn import SmartTurn
    from tests import speechgen

    model = SmartTurn()
    model.warmup()
    x = load_audio(speechgen.utterance(speechgen.PAUSED[1][0], "alloy"), rate=16000)
    feats, infer, total = [], [], []
    with Contention() as busy:
        for _ in range(calls):
            t0 = time.perf_counter()
            f = model.features(x)
            t1 = time.perf_counter()
            model._session.run(None, {"input_features": f[None]})
            t2 = time.perf_counter()
            feats.append(1000 * (t1 - t0))
            infer.append(1000 * (t2 - t1))
            total.append(1000 * (t2 - t0))
    whisper = WhisperModel(str(default_model_dir()), device="cpu", compute_type="int8",
                           cpu_threads=len(os.sched_getaffinity(0)), local_files_only=True)
    three = np.tile(x, 2)[:48000]
    decode = []
    for i in range(4):
        t0 = time.perf_counter()
        segments, _ = whisper.transcribe(three, language="en", beam_size=1, temperature=0.0,
                                         without_timestamps=True,
                                         condition_on_previous_text=False)
        "".join(s.text for s in segments)
        if i:  # the first call warms up
            decode.append(1000 * (time.perf_counter() - t0))
    return {"cores": sorted(os.sched_getaffinity(0)), "calls": calls,
            "features_ms": stats(feats), "inference_ms": stats(infer), "total_ms": stats(total),
            "full_window_decode_ms": stats(decode), "foreign_cpu": busy.pct}


def pinned_cost(calls: int) -> dict[str, Any] | None:
    """:func:`model_cost` in a subprocess pinned to CPU 0 with ``taskset -c 0``."""
    if shutil.which("taskset") is None:
        return None
    cmd = ["taskset", "-c", "0", sys.executable, __file__, "--cost-only", "--json",
           "--calls", str(calls)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def cost_table(costs: dict[str, dict[str, Any]]) -> str:
    lines = ["| cores | features p50 ms | inference p50 ms | per call p50 ms | p95 ms | "
             "full-window Whisper decode p50 ms | others' CPU % |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, c in costs.items():
        lines.append(f"| {label} | {c['features_ms']['p50']} | {c['inference_ms']['p50']} | "
                     f"{c['total_ms']['p50']} | {c['total_ms']['p95']} | "
                     f"{c['full_window_decode_ms']['p50']} | {c['foreign_cpu']} |")
    return "\n".join(lines)


# -- summary -------------------------------------------------------------------------------------


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("finished", "paused"):
        rs = [r for r in rows if r["set"] == kind]
        out[kind] = {"n": len(rs), "premature": sum(r["premature"] > 0 for r in rs),
                     "longest_wait": sum(r["longest_wait"] for r in rs),
                     "latency": stats([r["latency_ms"] for r in rs])}
    return out


def summary_table(rows: list[dict[str, Any]], names: list[str]) -> str:
    lines = ["| setting | finished: premature | latency p50 ms | p95 ms | longest waits | "
             "paused: premature | latency p50 ms | p95 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        s = summarise([r for r in rows if r["setting"] == name])
        f, p = s["finished"], s["paused"]
        lines.append(f"| {name} | {f['premature']}/{f['n']} | {f['latency']['p50']} | "
                     f"{f['latency']['p95']} | {f['longest_wait']} | "
                     f"{p['premature']}/{p['n']} | {p['latency']['p50']} | "
                     f"{p['latency']['p95']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true",
                        help="RealtimeCore on the audio clock instead of the protocol")
    parser.add_argument("--grid", action="store_true",
                        help="offline: sweep semantic_vad medium's threshold and window")
    parser.add_argument("--grid-eagerness", default="medium", choices=["low", "medium", "high"])
    parser.add_argument("--grid-windows", default="300,400,500,600")
    parser.add_argument("--grid-thresholds", default="0.3,0.5,0.7")
    parser.add_argument("--settings", default="server_vad,semantic_medium",
                        help=f"comma-separated, from {', '.join(SETTINGS)}")
    parser.add_argument("--voices", type=int, default=2, help="voices per sentence (1-4)")
    parser.add_argument("--pause-ms", default="1000",
                        help="mid-sentence pause(s) in ms, comma-separated (cycled)")
    parser.add_argument("--calls", type=int, default=30, help="model calls for the cost")
    parser.add_argument("--cost-only", action="store_true")
    parser.add_argument("--no-pinned", action="store_true",
                        help="skip the cost run pinned to one core")
    parser.add_argument("--json", action="store_true", help="--cost-only: one JSON line")
    parser.add_argument("--url", help="measure a running engine (ws://HOST:PORT/v1)")
    parser.add_argument("--wait-quiet", type=float, default=0.0,
                        help="before each trial wait up to S s for others to go quiet")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--out", default="turn_model.json")
    args = parser.parse_args(argv)

    if args.cost_only:
        if args.wait_quiet:
            wait_quiet(args.quiet_cpu, args.wait_quiet)
        cost = model_cost(args.calls)
        if args.json:
            print(json.dumps(cost))
        else:
            print(cost_table({f"{len(cost['cores'])}": cost}))
        return 0

    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}; choose from {', '.join(SETTINGS)}")
    pauses = [int(p) for p in args.pause_ms.split(",")]
    items = utterances(max(1, min(4, args.voices)), pauses)
    print(f"{len(items)} utterances ({args.voices} voices x {len(items) // args.voices // 2} "
          f"sentences x 2 sets), pauses {pauses} ms", file=sys.stderr)
    if args.grid:
        grid(items, args.grid_eagerness, [int(w) for w in args.grid_windows.split(",")],
             [float(t) for t in args.grid_thresholds.split(",")])
        return 0
    if args.wait_quiet:
        wait_quiet(args.quiet_cpu, args.wait_quiet)
    costs = {f"all ({len(os.sched_getaffinity(0))})": model_cost(args.calls)}
    if not args.no_pinned:
        pinned = pinned_cost(args.calls)
        if pinned is not None:
            costs["taskset -c 0"] = pinned
    if args.offline:
        rows = offline(items, names)
    else:
        rows = asyncio.run(run_engine(items, names, args.url, args.wait_quiet, args.quiet_cpu))
    mode = "offline (audio clock)" if args.offline else "through the protocol (wall clock)"
    print(f"\nturn detection, {mode}; end of speech -> speech_stopped\n")
    print(summary_table(rows, names))
    print("\nend-of-turn model (Smart Turn v3.2) cost per call\n")
    print(cost_table(costs))
    path = write_json(args.out, {
        "benchmark": "turn_model", "mode": mode, "settings": {n: SETTINGS[n] for n in names},
        "pauses_ms": pauses, "voices": args.voices, "machine": machine(), "rev": git_rev(),
        "summary": {n: summarise([r for r in rows if r["setting"] == n]) for n in names},
        "cost": costs, "rows": rows})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
