"""End-to-end latency over WebRTC and over WebSocket, as the client measures it.

One in-process engine, one run, the same utterances for both transports, turns alternating
between them (WebSocket first in even pairs, WebRTC first in odd ones). The microphone is
paced in real time on both: 20 ms appends on the WebSocket (the official ``openai`` SDK);
a 20 ms Opus media track on WebRTC (an aiortc caller, ``tests/webrtc_peer.py``, whose call
is placed with ``client.realtime.calls.create``). Server VAD with its defaults ends each turn.

Per turn the client measures ``e2e``: from the end of the user's speech (the wall time the
last sample above -40 dBFS left the client) to the moment the first audible assistant sound
(the first 20 ms louder than -40 dBFS RMS) plays. On WebRTC that is the arrival of the
first such frame (after Opus, RTP over loopback UDP and aiortc's jitter buffer). On the
WebSocket playback starts with the first ``response.output_audio.delta``, so it is that
arrival plus the quiet lead of the reply's audio before its first loud 20 ms (TTS output
starts softly; both transports carry the same reply). WebSocket rows also give
``first_delta``; WebRTC rows split ``e2e`` into ``server_start`` (until the data channel's
``output_audio_buffer.started``) and ``media`` (from there to the first audible frame).

    python benchmarks/webrtc_vs_websocket.py                  # 2 cores
    taskset -c 0 python benchmarks/webrtc_vs_websocket.py     # engine and clients on 1 core

Options: ``--turns N`` (per transport, default 12), ``--warmup N`` (per transport, default 1),
``--silence-ms``, ``--lead-ms``, ``--wait-quiet S``, ``--quiet-cpu PCT``, ``--out NAME.json``.
The machine's baseline (CPU model, cores, a pure-Python loop and a Whisper transcription) is
printed first and stored with the result.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from typing import Any

import numpy as np
from _realtime import (
    VOICES,
    CpuMonitor,
    EventLog,
    PacedMic,
    fresh_conversation,
    machine,
    now,
    speech_bounds,
    stats,
    table,
    write_json,
)

METRICS = {
    "e2e": "end of speech → the first audible 20 ms of the reply plays at the client (ms)",
    "first_delta": "WebSocket: end of speech → first response.output_audio.delta arrives",
    "server_start": "WebRTC: end of speech → output_audio_buffer.started on the data channel",
    "media": "WebRTC: output_audio_buffer.started → first audible frame received",
}


def baseline() -> dict[str, Any]:
    """How fast this machine is right now: a fixed pure-Python loop and a Whisper call."""
    from rtnb.engine.parts import default_asr
    from tests import speechgen

    def loop() -> float:
        t = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i % 7
        return (time.perf_counter() - t) * 1000

    asr = default_asr()
    pcm = speechgen.utterance("What's the weather in Paris today?")

    def whisper() -> float:
        t = time.perf_counter()
        asr.transcribe(pcm)
        return (time.perf_counter() - t) * 1000

    return {**machine(), "affinity": sorted(os.sched_getaffinity(0)),
            "python_loop_2M_ms": round(statistics.median(loop() for _ in range(3)), 1),
            "whisper_tiny_2s_ms": round(statistics.median(whisper() for _ in range(3)), 1)}


async def websocket_turn(conn: Any, log: EventLog, mic: PacedMic, pcm: bytes,
                         lead_ms: float, cpu: CpuMonitor) -> dict[str, Any]:
    mark = log.mark()
    start = mic.play(bytes(int(lead_ms * 48)) + pcm)
    _, end_ms = speech_bounds(pcm)
    t_audio, delta = await log.wait("response.output_audio.delta", mark, 60)
    eos = mic.wall_at(start + lead_ms + end_ms)
    await log.wait("response.done", mark, 60)
    reply = b"".join(base64.b64decode(ev.delta) for _, ev in
                     log.find("response.output_audio.delta", mark))
    user = log.find("conversation.item.done", mark)[0][1].item.id
    await fresh_conversation(conn, log, [user, delta.item_id])
    lead = quiet_lead_ms(reply)
    return {"e2e": (t_audio - eos) * 1000 + lead, "first_delta": (t_audio - eos) * 1000,
            "quiet_lead": lead, "foreign_cpu": _pct(cpu.share(eos - 0.6, t_audio))}


def quiet_lead_ms(pcm: bytes, rms: float = 0.01) -> float:
    """Milliseconds of 24 kHz PCM16 before the first 20 ms frame louder than ``rms``."""
    x = np.frombuffer(pcm[: len(pcm) - len(pcm) % 960], "<i2").astype(np.float32) / 32768
    frames = np.sqrt((x.reshape(-1, 480) ** 2).mean(axis=1)) if x.size else np.zeros(0)
    loud = np.nonzero(frames > rms)[0]
    return float(loud[0] * 20) if loud.size else float(frames.size * 20)


async def webrtc_turn(caller: Any, pcm: bytes, lead_ms: float,
                      cpu: CpuMonitor) -> dict[str, Any]:
    mark = len(caller.events)
    caller.mic.say(bytes(int(lead_ms * 48)) + pcm)
    while caller.mic.busy:
        await asyncio.sleep(0.01)
    eos = caller.mic.loud_until
    t_started, started = await _event(caller, "output_audio_buffer.started", mark)
    t_audio = None
    deadline = now() + 30
    while t_audio is None and now() < deadline:
        t_audio = caller.loud_since(eos)
        await asyncio.sleep(0.01)
    if t_audio is None:
        raise TimeoutError("no audible reply within 30 s")
    rid = started["response_id"]
    await _event(caller, "output_audio_buffer.stopped", mark, lambda e: e["response_id"] == rid)
    items = [e["item"]["id"] for e in caller.events[mark:]
             if e["type"] == "conversation.item.done"]
    at = len(caller.events)
    for item_id in items:
        caller.send({"type": "conversation.item.delete", "item_id": item_id})
    for item_id in items:
        await _event(caller, "conversation.item.deleted", at, lambda e, i=item_id:
                     e["item_id"] == i)
    return {"e2e": (t_audio - eos) * 1000, "server_start": (t_started - eos) * 1000,
            "media": (t_audio - t_started) * 1000,
            "foreign_cpu": _pct(cpu.share(eos - 0.6, t_audio))}


async def _event(caller: Any, kind: str, since: int, where: Any = None,
                 timeout: float = 60) -> tuple[float, dict[str, Any]]:
    deadline = now() + timeout
    i = since
    while now() < deadline:
        while i < len(caller.events):
            event = caller.events[i]
            if event["type"] == kind and (where is None or where(event)):
                return caller.arrivals[i], event
            i += 1
        await asyncio.sleep(0.005)
    seen = [e["type"] for e in caller.events[since:]]
    raise TimeoutError(f"no {kind} within {timeout:.0f}s; since the turn began: {seen}")


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)


async def run(args: argparse.Namespace, running: Any) -> dict[str, Any]:
    from openai import AsyncOpenAI

    from tests import speechgen
    from tests.webrtc_peer import Caller

    n = args.warmup + args.turns
    turns = [(speechgen.PHRASES[i % len(speechgen.PHRASES)],
              VOICES[(i + i // len(speechgen.PHRASES)) % len(VOICES)]) for i in range(n)]
    audio = {key: speechgen.utterance(*key) for key in set(turns)}
    session = {"type": "realtime", "audio": {"input": {
        "transcription": {"model": "gpt-live-transcribe"},
        "turn_detection": {"type": "server_vad", "silence_duration_ms": args.silence_ms}}}}
    cpu = CpuMonitor()
    monitor = asyncio.create_task(cpu.run())
    client = AsyncOpenAI(api_key="local", base_url=running.http_url,
                         websocket_base_url=running.url)
    caller = Caller()
    await caller.call(client, session=session)
    rows: list[dict[str, Any]] = []
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        log = EventLog(conn)
        receiver = asyncio.create_task(log.run())
        await log.wait("session.created")
        mark = log.mark()
        await conn.session.update(session=session)
        await log.wait("session.updated", mark)
        mic = PacedMic(conn)
        sender = asyncio.create_task(mic.run())
        try:
            for i, key in enumerate(turns):
                order = ("websocket", "webrtc") if i % 2 == 0 else ("webrtc", "websocket")
                for transport in order:
                    await asyncio.sleep(args.gap_ms / 1000)
                    waited = await cpu.wait_quiet(args.quiet_cpu / 100, args.wait_quiet)
                    if transport == "websocket":
                        row = await websocket_turn(conn, log, mic, audio[key], args.lead_ms, cpu)
                    else:
                        row = await webrtc_turn(caller, audio[key], args.lead_ms, cpu)
                    row.update(transport=transport, turn=i - args.warmup, said=key[0],
                               voice=key[1], waited_quiet_s=round(waited, 1))
                    tag = "warmup" if i < args.warmup else f"turn {i - args.warmup + 1:>2}"
                    print(f"  {tag} {transport:9}: e2e {row['e2e']:6.1f} ms  "
                          f"cpu(other) {row['foreign_cpu']}%  [{key[1]}] {key[0]!r}",
                          file=sys.stderr)
                    if i >= args.warmup:
                        rows.append(row)
        finally:
            mic.stop()
            await sender
            receiver.cancel()
            monitor.cancel()
            await caller.close()
    summary = {t: {m: stats([r.get(m) for r in rows if r["transport"] == t])
                   for m in METRICS} for t in ("websocket", "webrtc")}
    quiet = [r for r in rows if (r["foreign_cpu"] or 0) < args.quiet_cpu]
    quiet_summary = {t: stats([r["e2e"] for r in quiet if r["transport"] == t])
                     for t in ("websocket", "webrtc")}
    return {"rows": rows, "summary": summary, "quiet_e2e": quiet_summary,
            "foreign_cpu": stats([r["foreign_cpu"] for r in rows]),
            "pacing_websocket": mic.pacing()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=12, help="measured turns per transport")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured turns per transport")
    parser.add_argument("--silence-ms", type=int, default=500, help="server_vad silence window")
    parser.add_argument("--lead-ms", type=float, default=300, help="silence before each utterance")
    parser.add_argument("--gap-ms", type=float, default=300, help="pause between turns")
    parser.add_argument("--quiet-cpu", type=float, default=10.0,
                        help="also summarise turns where other processes used less than this "
                             "%% of the CPUs")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="before each turn wait up to S seconds for other processes to "
                             "use less than --quiet-cpu")
    parser.add_argument("--out", default="webrtc_vs_websocket.json")
    args = parser.parse_args(argv)

    from rtnb.engine.background import start_engine

    base = baseline()
    print(f"machine: {base['cpu']}, {base['nproc']} core(s) {base['affinity']}; baseline: "
          f"2M-iteration Python loop {base['python_loop_2M_ms']} ms, Whisper tiny.en on a 2 s "
          f"utterance {base['whisper_tiny_2s_ms']} ms")
    with start_engine(port=0) as running:
        result = asyncio.run(run(args, running))
    summary = result["summary"]
    print(table({f"{t} {m}": summary[t][m] for t in ("websocket", "webrtc")
                 for m in METRICS if summary[t][m]["n"]},
                f"\nclient-measured latency, {args.turns} turns per transport "
                f"(silence window {args.silence_ms} ms)"))
    ws, rtc = summary["websocket"]["e2e"], summary["webrtc"]["e2e"]
    if ws["p50"] and rtc["p50"]:
        print(f"\nWebRTC − WebSocket e2e: p50 {rtc['p50'] - ws['p50']:+.1f} ms, "
              f"p95 {rtc['p95'] - ws['p95']:+.1f} ms (ratio of p50 {rtc['p50'] / ws['p50']:.2f})")
    cpu = result["foreign_cpu"]
    print(f"CPU used by other processes around each turn's end: p50 {cpu['p50']}%, "
          f"max {cpu['max']}%")
    payload = {
        "benchmark": "webrtc_vs_websocket", "definitions": METRICS,
        "setup": {"turns_per_transport": args.turns, "warmup": args.warmup,
                  "silence_ms": args.silence_ms, "lead_ms": args.lead_ms, "chunk_ms": 20,
                  "engine": "in-process", "order": "alternating, same utterance per pair",
                  "end_of_speech": "last sample above -40 dBFS leaves the client",
                  "first_audio": {"websocket": "first response.output_audio.delta arrives",
                                  "webrtc": "first received 20 ms frame above -40 dBFS RMS"},
                  "wait_quiet_s": args.wait_quiet, "quiet_cpu_pct": args.quiet_cpu},
        "machine": base, **result,
    }
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
