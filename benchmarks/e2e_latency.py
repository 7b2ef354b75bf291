"""Voice-to-voice latency through the Realtime protocol, with real speech paced in real time.

One WebSocket connection (official ``openai`` SDK) serves every turn, and the conversation
keeps its history like a real one (``--history fresh`` deletes each turn's items with
``conversation.item.delete`` instead, so each turn starts from an empty conversation). A
paced microphone appends a 20 ms chunk every 20 ms the whole time: lead silence, the
utterance, then silence until the reply's first audio delta and its ``response.done``.
Server VAD runs with its defaults (500 ms silence window).

Per turn (wall clock, ms): overhead = first audio - end of speech - silence window, and the
breakdown end_of_turn, asr, brain_tts, ttfb. In-process, after the turns, each turn's ASR is
replayed on the idle engine and its process CPU measured side by side with (a) one
full-window decode of the turn's speech and (b) the engine before issue 9 on the same audio
and VAD frames (its speculative full-window decode at every pause, ~1.8 per turn; see
``_asr_replay.py``).
Run: ``python benchmarks/e2e_latency.py`` (``taskset -c 0`` in front for one core).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from _asr_replay import VadRecorder, replay
from _asr_replay import report as replay_report
from _engine_proc import add_engine_options, configure, counters
from _realtime import (
    VOICES,
    CpuMonitor,
    EventLog,
    PacedMic,
    StageTrace,
    engine_url,
    fresh_conversation,
    machine,
    speech_bounds,
    stats,
    table,
    write_json,
)

from rtnb.engine.turns import TurnConfig

METRICS = {
    "overhead": "first audio delta - end of speech - silence window",
    "overhead_vad": "first audio delta - speech_stopped.audio_end_ms mapped to wall time - "
                    "silence window (the end of speech as the VAD sees it)",
    "end_of_turn": "speech_stopped received - end of speech - silence window (VAD lag)",
    "asr": "transcription.completed - committed",
    "brain_tts": "first audio delta - max(response.created, transcription.completed)",
    "ttfb": "first audio delta - response.created",
    "vad_end_offset": "speech_stopped.audio_end_ms - end of speech, on the audio clock",
    "vad_end_offset_wall": "speech_stopped.audio_end_ms mapped to wall time - end of speech "
                           "(20 ms append granularity)",
}
STAGES = {
    "stage_asr_spec": "in-process: the last ASR batch started before speech_stopped (the "
                      "speculative decode of the last part)",
    "stage_asr_after_stop": "in-process: end of the last ASR batch - speech_stopped received",
    "stage_brain": "in-process: brain.respond duration",
    "stage_tts_first": "in-process: synthesis of the first sentence",
    "stage_tts_to_client": "in-process: first sentence synthesized -> first delta received",
}


async def one_turn(conn: Any, log: EventLog, mic: PacedMic, pcm: bytes, lead_ms: float,
                   silence_ms: int, trace: StageTrace | None, cpu: CpuMonitor,
                   fresh: bool = False) -> dict[str, Any]:
    on_ms, end_ms = speech_bounds(pcm)
    mark = log.mark()
    start = mic.play(bytes(round(lead_ms) * 48) + pcm)
    speech_end_ms = start + round(lead_ms) + end_ms
    t_stop, stop = await log.wait("input_audio_buffer.speech_stopped", mark, 30)
    t_commit, commit = await log.wait("input_audio_buffer.committed", mark, 10)
    t_created, created = await log.wait("response.created", mark, 10)
    rid = created.response.id
    t_tx, _ = await log.wait("conversation.item.input_audio_transcription.completed", mark, 20,
                             lambda ev: ev.item_id == commit.item_id)
    t_audio, _ = await log.wait("response.output_audio.delta", mark, 20,
                                lambda ev: ev.response_id == rid)
    t_done, done = await log.wait("response.done", mark, 60,
                                  lambda ev: ev.response.id == rid)
    t_end = mic.wall_at(speech_end_ms)
    # Other processes' CPU share while it matters: speculative ASR to first audio.
    foreign = cpu.share(t_end - (silence_ms + 100) / 1000, t_audio)
    t_vad_end = mic.wall_at(stop.audio_end_ms)
    ms = 1000.0
    row = {
        "speech_onset_audio_ms": start + round(lead_ms) + on_ms,
        "speech_end_audio_ms": speech_end_ms,
        "speech_stopped_audio_end_ms": stop.audio_end_ms,
        "transcript": None,
        "reply_status": done.response.status,
        "foreign_cpu": None if foreign is None else round(100 * foreign, 1),
        "t_end_of_speech": t_end,
        "t_end_of_speech_from_vad": t_vad_end,
        "t_speech_stopped": t_stop,
        "t_committed": t_commit,
        "t_transcription_completed": t_tx,
        "t_response_created": t_created,
        "t_first_audio": t_audio,
        "t_response_done": t_done,
        "overhead": (t_audio - t_end) * ms - silence_ms,
        "overhead_vad": (t_audio - t_vad_end) * ms - silence_ms,
        "end_of_turn": (t_stop - t_end) * ms - silence_ms,
        "asr": (t_tx - t_commit) * ms,
        "brain_tts": (t_audio - max(t_created, t_tx)) * ms,
        "ttfb": (t_audio - t_created) * ms,
        "vad_end_offset": stop.audio_end_ms - speech_end_ms,
        "vad_end_offset_wall": (t_vad_end - t_end) * ms,
    }
    for _, ev in log.find("conversation.item.input_audio_transcription.completed", mark):
        row["transcript"] = ev.transcript
    if trace is not None:
        t_onset = mic.wall_at(row["speech_onset_audio_ms"])
        asr = trace.between("asr", t_onset, t_audio)
        spec = [s for s in asr if s[0] < t_stop]
        # The engine acts before the client hears of it: look from the end of speech on.
        tts = trace.between("tts", t_end, t_audio)
        brain = trace.between("brain", t_end, t_audio)
        row["stage_asr_spec"] = (spec[-1][1] - spec[-1][0]) * ms if spec else None
        row["stage_asr_after_stop"] = (max(s[1] for s in asr) - t_stop) * ms if asr else None
        row["asr_calls"] = sum(len(s[2]) for s in asr)
        row["asr_jobs"] = [s[2] for s in asr]  # replayed after the run, then dropped
        row["stage_brain"] = (brain[0][1] - brain[0][0]) * ms if brain else None
        row["stage_tts_first"] = (tts[0][1] - tts[0][0]) * ms if tts else None
        row["stage_tts_to_client"] = (t_audio - tts[0][1]) * ms if tts else None
        row["first_sentence"] = tts[0][2] if tts else None
    if fresh:
        items = [commit.item_id, *(o.id for o in done.response.output or [])]
        await fresh_conversation(conn, log, items)
    return row


async def run(args: argparse.Namespace, url: str, trace: StageTrace | None) -> dict[str, Any]:
    from openai import AsyncOpenAI

    from tests import speechgen

    turns = [(speechgen.PHRASES[i % len(speechgen.PHRASES)],
              VOICES[(i + i // len(speechgen.PHRASES)) % len(VOICES)])
             for i in range(args.warmup + args.turns)]
    audio = {key: speechgen.utterance(*key) for key in set(turns)}
    client = AsyncOpenAI(api_key=args.api_key, websocket_base_url=url)
    rows: list[dict[str, Any]] = []
    cpu = CpuMonitor()
    monitor = asyncio.create_task(cpu.run())
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        log = EventLog(conn)
        receiver = asyncio.create_task(log.run())
        await log.wait("session.created")
        mark = log.mark()
        await conn.session.update(session={
            "type": "realtime",
            "audio": {"input": {
                "transcription": {"model": "gpt-live-transcribe"},
                "turn_detection": {"type": "server_vad",
                                   "silence_duration_ms": args.silence_ms}}}})
        await log.wait("session.updated", mark)
        mic = PacedMic(conn)
        sender = asyncio.create_task(mic.run())
        try:
            for i, (text, voice) in enumerate(turns):
                await asyncio.sleep(args.gap_ms / 1000)
                waited = await cpu.wait_quiet(args.quiet_cpu / 100, args.wait_quiet)
                row = await one_turn(conn, log, mic, audio[(text, voice)], args.lead_ms,
                                     args.silence_ms, trace, cpu, args.history == "fresh")
                row.update(turn=i - args.warmup, said=text, voice=voice,
                           waited_quiet_s=round(waited, 1))
                tag = "warmup" if i < args.warmup else f"turn {i - args.warmup + 1:>2}"
                print(f"  {tag}: overhead {row['overhead']:6.1f} ms  end_of_turn "
                      f"{row['end_of_turn']:5.1f}  asr {row['asr']:5.1f}  brain_tts "
                      f"{row['brain_tts']:6.1f}  ttfb {row['ttfb']:6.1f}  "
                      f"cpu(other) {row['foreign_cpu']}%  "
                      f"[{voice}] {text!r} -> {row['transcript']!r}", file=sys.stderr)
                if i >= args.warmup:
                    rows.append(row)
        finally:
            mic.stop()
            await sender
            receiver.cancel()
            monitor.cancel()
    names = list(METRICS) + (list(STAGES) if trace is not None else [])
    summary = {name: stats([r.get(name) for r in rows]) for name in names}
    quiet = [r for r in rows if (r["foreign_cpu"] or 0) < args.quiet_cpu]
    quiet_summary = {name: stats([r.get(name) for r in quiet]) for name in names}
    return {"rows": rows, "summary": summary, "quiet_summary": quiet_summary,
            "foreign_cpu": stats([r["foreign_cpu"] for r in rows]), "pacing": mic.pacing(),
            "errors": [ev.error.model_dump() for ev in log.errors]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30, help="measured turns (default 30)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured first turns")
    parser.add_argument("--url", help="websocket base URL of a running engine (ws://HOST:PORT/v1)"
                        "; default: start one in-process")
    parser.add_argument("--api-key", default="local")
    parser.add_argument("--silence-ms", type=int, default=500, help="server_vad silence window")
    parser.add_argument("--lead-ms", type=float, default=300, help="silence before each utterance")
    parser.add_argument("--gap-ms", type=float, default=300,
                        help="extra silence after a reply ends before the next turn")
    parser.add_argument("--no-trace", action="store_true",
                        help="do not time the in-process engine's ASR/brain/TTS calls")
    parser.add_argument("--quiet-cpu", type=float, default=10.0,
                        help="turns where other processes used less than this %% of the CPUs "
                             "also get a summary of their own")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="before each turn wait up to S seconds until other processes "
                             "use less than --quiet-cpu (for shared machines)")
    parser.add_argument("--history", choices=("keep", "fresh"), default="keep",
                        help="keep: the conversation keeps every turn (default); fresh: delete "
                             "each turn's items so every turn starts from an empty conversation")
    add_engine_options(parser, "in-process engine: ")
    parser.add_argument("--no-replay", action="store_true",
                        help="skip the side-by-side ASR CPU replay after the turns")
    parser.add_argument("--out", default="e2e_latency.json")
    args = parser.parse_args(argv)
    trace = None if (args.url or args.no_trace) else StageTrace()
    engines: list[Any] = []
    vads = VadRecorder()

    def install(engine: Any) -> None:
        configure(engine, prepare=not args.no_prepare, tts_cache=not args.no_tts_cache)
        if trace is not None:  # --no-trace: the engine options still apply
            trace.install(engine)
            vads.install(engine)
            engines.append(engine)

    with engine_url(args.url, install) as url:
        result = asyncio.run(run(args, url, trace))
        asr_cpu: dict[str, Any] = {"turns": []}
        if engines and not args.no_replay:
            print("  replaying each turn's ASR work: this engine, one full-window decode, "
                  "the engine before issue 9 ...", file=sys.stderr)
            cfg = TurnConfig.from_wire({"type": "server_vad",
                                        "silence_duration_ms": args.silence_ms})
            from rtnb.engine.speech.asr import WhisperAsr

            issue_asr = WhisperAsr(cpu_threads=min(4, len(os.sched_getaffinity(0))),
                                   blas_threads=None)
            asr_cpu = replay(engines[0].asr._inner, result["rows"], vads, cfg, issue_asr)
        for row in result["rows"]:
            row.pop("asr_jobs", None)
        result["asr_cpu"] = asr_cpu
        if engines:
            result["engine_counters"] = counters(engines[0])
    summary = result["summary"]
    print(table({k: summary[k] for k in METRICS},
                f"\ne2e latency over {summary['overhead']['n']} turns "
                f"(silence window {args.silence_ms} ms)"))
    if trace is not None:
        print(table({k: summary[k] for k in STAGES}, "\nin-process stage timings"))
    quiet = result["quiet_summary"]
    cpu = result["foreign_cpu"]
    print(f"\nCPU used by other processes around each turn's end (% of all CPUs): p50 "
          f"{cpu['p50']}, "
          f"max {cpu['max']}")
    if 0 < quiet["overhead"]["n"] < summary["overhead"]["n"]:
        print(table({k: quiet[k] for k in (*METRICS, *(STAGES if trace else ()))},
                    f"\nquiet turns only (other processes < {args.quiet_cpu:.0f}% CPU): "
                    f"{quiet['overhead']['n']} turns"))
    if result["asr_cpu"]["turns"]:
        print("\n" + replay_report(result["asr_cpu"]))
    if "engine_counters" in result:
        made = result["engine_counters"]["prepared"]
        cache = result["engine_counters"]["tts_cache"]
        print(f"\nfirst sentences prepared in the silence window: {made['prepared']}, used by "
              f"the response: {made['prepared_used']}; sentence cache hits {cache['hits']}, "
              f"misses {cache['misses']} (warm-up turns included)")
    pacing = result["pacing"]
    print(f"\npacing: {pacing['chunks']} appends, lateness p50 {pacing['late_p50_ms']:.2f} ms, "
          f"p95 {pacing['late_p95_ms']:.2f} ms, max {pacing['late_max_ms']:.2f} ms")
    payload = {
        "benchmark": "e2e_latency",
        "definitions": {**METRICS, **(STAGES if trace else {})},
        "setup": {"turns": args.turns, "warmup": args.warmup, "silence_ms": args.silence_ms,
                  "lead_ms": args.lead_ms, "chunk_ms": 20, "engine": args.url or "in-process",
                  "connection": "one for all turns; " + (
                      "items deleted after each turn" if args.history == "fresh"
                      else "the conversation keeps its history"),
                  "history": args.history,
                  "end_of_speech": "last sample above -40 dBFS",
                  "foreign_cpu": "% of all CPUs used by other processes (or stolen) from "
                                 "end of speech - silence - 100 ms to first audio",
                  "wait_quiet_s": args.wait_quiet, "quiet_cpu_pct": args.quiet_cpu,
                  "prepare_speech": not args.no_prepare, "tts_cache": not args.no_tts_cache},
        "machine": machine(),
        **result,
    }
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
