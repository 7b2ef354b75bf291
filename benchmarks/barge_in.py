"""Barge-in through the Realtime protocol: how fast user speech stops a reply being generated.

Each trial asks for a long reply (a ``function_call`` + ``function_call_output`` whose output
is ``{"nextResponse": ...}``, which the rule brain reads verbatim, then ``response.create``).
After the reply's first audio delta (plus a per-trial delay) a paced microphone starts a real
utterance. Measured from the onset (wall time the first speech sample was appended):
``speech_started`` received (detection delay; a client flushes its playback on that event, so
onset -> flush = detection delay) and ``response.done`` (cancelled / turn_detected) received.

One connection for all trials; every item a trial created is deleted afterwards.
Run: ``python benchmarks/barge_in.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from _realtime import (
    VOICES,
    CpuMonitor,
    EventLog,
    PacedMic,
    engine_url,
    fresh_conversation,
    machine,
    speech_bounds,
    stats,
    table,
    write_json,
)

LONG_REPLY = (
    "Thanks for waiting, I have the full details of your order here. It shipped on Monday "
    "from our warehouse in Denver. The carrier scanned it in Kansas City on Tuesday evening. "
    "It left the sorting center early on Wednesday morning. The tracking page says it should "
    "arrive by Friday afternoon. If nobody is home, the driver will leave a note at the door. "
    "You can then pick it up at the post office on Main Street. They open at nine and close at "
    "five on weekdays. Bring a photo ID and the note with you. Is there anything else I can "
    "help you with today?"
)
METRICS = {
    "detection": "speech onset -> input_audio_buffer.speech_started received "
                 "(= onset -> local playback flush)",
    "cancelled": "speech onset -> response.done (cancelled, turn_detected) received",
    "done_after_started": "speech_started received -> response.done received",
    "onset_check": "speech_started.audio_start_ms + prefix_padding_ms - true onset (audio ms)",
    "reply_lead": "first audio delta of the reply -> speech onset",
}


async def trial(conn: Any, log: EventLog, mic: PacedMic, i: int, pcm: bytes, delay_ms: float,
                prefix_ms: int, cpu: CpuMonitor) -> dict[str, Any]:
    on_ms, _ = speech_bounds(pcm)
    mark = log.mark()
    call_id = f"call_barge_{i}"
    await conn.conversation.item.create(item={
        "type": "function_call", "name": "getNextResponseFromSupervisor", "call_id": call_id,
        "arguments": "{}"})
    await conn.conversation.item.create(item={
        "type": "function_call_output", "call_id": call_id,
        "output": json.dumps({"nextResponse": LONG_REPLY})})
    await conn.response.create()
    _, created = await log.wait("response.created", mark, 10)
    rid = created.response.id
    t_first, _ = await log.wait("response.output_audio.delta", mark, 20,
                                lambda ev: ev.response_id == rid)
    await asyncio.sleep(delay_ms / 1000)
    talk = log.mark()
    onset_ms = mic.play(pcm) + on_ms
    t_started, started = await log.wait("input_audio_buffer.speech_started", talk, 20)
    t_done, done = await log.wait("response.done", mark, 30, lambda ev: ev.response.id == rid)
    t_onset = mic.wall_at(onset_ms + 1 / 24)  # the append that carried the first loud sample
    foreign = cpu.share(t_onset - 0.1, t_done)
    details = done.response.status_details
    ms = 1000.0
    row = {
        "status": done.response.status,
        "reason": getattr(details, "reason", None),
        "delay_ms": delay_ms,
        "foreign_cpu": None if foreign is None else round(100 * foreign, 1),
        "onset_audio_ms": onset_ms,
        "speech_started_audio_start_ms": started.audio_start_ms,
        "t_first_audio": t_first,
        "t_onset": t_onset,
        "t_speech_started": t_started,
        "t_response_done": t_done,
        "detection": (t_started - t_onset) * ms,
        "cancelled": (t_done - t_onset) * ms,
        "done_after_started": (t_done - t_started) * ms,
        "onset_check": started.audio_start_ms + prefix_ms - onset_ms,
        "reply_lead": (t_onset - t_first) * ms,
        "deltas_after_started": sum(1 for t, ev in log.events[mark:]
                                    if ev.type == "response.output_audio.delta"
                                    and ev.response_id == rid and t > t_started),
    }
    # The interruption is a user turn of its own: let its reply finish, then clean up.
    _, commit = await log.wait("input_audio_buffer.committed", talk, 30)
    _, follow = await log.wait("response.created", talk, 10,
                               lambda ev: ev.response.id != rid)
    await log.wait("response.done", talk, 60, lambda ev: ev.response.id == follow.response.id)
    items = [ev.item.id for _, ev in log.find("conversation.item.added", mark)]
    await fresh_conversation(conn, log, list(dict.fromkeys(items)))
    return row


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    from openai import AsyncOpenAI

    from tests import speechgen

    plan = [(speechgen.PHRASES[i % len(speechgen.PHRASES)], VOICES[i % len(VOICES)],
             args.delays[i % len(args.delays)]) for i in range(args.warmup + args.trials)]
    audio = {(t, v): speechgen.utterance(t, v) for t, v, _ in plan}
    client = AsyncOpenAI(api_key=args.api_key, websocket_base_url=url)
    rows = []
    cpu = CpuMonitor()
    monitor = asyncio.create_task(cpu.run())
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        log = EventLog(conn)
        receiver = asyncio.create_task(log.run())
        _, created = await log.wait("session.created")
        mark = log.mark()
        await conn.session.update(session={
            "type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad"}}}})
        _, updated = await log.wait("session.updated", mark)
        prefix_ms = updated.session.audio.input.turn_detection.prefix_padding_ms
        mic = PacedMic(conn)
        sender = asyncio.create_task(mic.run())
        try:
            await asyncio.sleep(0.5)
            for i, (text, voice, delay) in enumerate(plan):
                waited = await cpu.wait_quiet(args.quiet_cpu / 100, args.wait_quiet)
                row = await trial(conn, log, mic, i, audio[(text, voice)], delay, prefix_ms, cpu)
                row.update(trial=i - args.warmup, said=text, voice=voice,
                           waited_quiet_s=round(waited, 1))
                tag = "warmup" if i < args.warmup else f"trial {i - args.warmup + 1:>2}"
                print(f"  {tag}: detection {row['detection']:6.1f} ms  cancelled "
                      f"{row['cancelled']:6.1f} ms  onset_check {row['onset_check']:+6.1f} ms  "
                      f"{row['status']}/{row['reason']}  cpu(other) {row['foreign_cpu']}%  "
                      f"[{voice}] {text!r}", file=sys.stderr)
                if i >= args.warmup:
                    rows.append(row)
                await asyncio.sleep(args.gap_ms / 1000)
        finally:
            mic.stop()
            await sender
            receiver.cancel()
            monitor.cancel()
    ok = [r for r in rows if r["status"] == "cancelled" and r["reason"] == "turn_detected"]
    summary = {name: stats([r[name] for r in ok]) for name in METRICS}
    quiet = [r for r in ok if (r["foreign_cpu"] or 0) < args.quiet_cpu]
    quiet_summary = {name: stats([r[name] for r in quiet]) for name in METRICS}
    return {"rows": rows, "summary": summary, "quiet_summary": quiet_summary,
            "cancelled_trials": len(ok),
            "foreign_cpu": stats([r["foreign_cpu"] for r in rows]),
            "missed_trials": len(rows) - len(ok), "prefix_padding_ms": prefix_ms,
            "pacing": mic.pacing(), "errors": [ev.error.model_dump() for ev in log.errors]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="measured trials (default 20)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--url", help="websocket base URL of a running engine; default: "
                                      "start one in-process")
    parser.add_argument("--api-key", default="local")
    parser.add_argument("--delays", type=float, nargs="+", default=[0, 100, 200, 300],
                        help="ms between the first audio delta and the speech, cycled")
    parser.add_argument("--gap-ms", type=float, default=300)
    parser.add_argument("--quiet-cpu", type=float, default=10.0,
                        help="%% of all CPUs other processes may use for --wait-quiet")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="before each trial wait up to S seconds until other processes "
                             "use less than --quiet-cpu (for shared machines)")
    parser.add_argument("--out", default="barge_in.json")
    args = parser.parse_args(argv)
    with engine_url(args.url) as url:
        result = asyncio.run(run(args, url))
    print(table(result["summary"], f"\nbarge-in over {result['cancelled_trials']} cancelled "
                                   f"trials ({result['missed_trials']} missed)"))
    cpu = result["foreign_cpu"]
    print(f"CPU used by other processes around each onset (% of all CPUs): p50 {cpu['p50']}, "
          f"max {cpu['max']}")
    quiet = result["quiet_summary"]
    if 0 < quiet["detection"]["n"] < result["summary"]["detection"]["n"]:
        print(table(quiet, f"\nquiet trials only (other processes < {args.quiet_cpu:.0f}% "
                           f"CPU): {quiet['detection']['n']} trials"))
    print("onset -> flush: a client flushes playback on speech_started, so it equals detection.")
    payload = {
        "benchmark": "barge_in",
        "definitions": METRICS,
        "setup": {"trials": args.trials, "warmup": args.warmup, "delays_ms": args.delays,
                  "chunk_ms": 20, "engine": args.url or "in-process",
                  "connection": "one for all trials; items deleted after each trial",
                  "onset": "first sample above -40 dBFS", "reply_chars": len(LONG_REPLY),
                  "foreign_cpu": "% of all CPUs used by other processes (or stolen) from "
                                 "onset - 100 ms to response.done",
                  "wait_quiet_s": args.wait_quiet, "quiet_cpu_pct": args.quiet_cpu},
        "machine": machine(),
        **result,
    }
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
