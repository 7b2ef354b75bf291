"""What the session panel costs the kernel while the mic streams, and what it sends the browser.

A scripted conversation runs through a real ``rtnb.Session`` (its transport replaced by a
no-op, its clock simulated) with a ``SessionPanel`` attached: the mic appends a 20 ms frame 50
times a second the whole time, and every ``--turn-s`` seconds there is a spoken turn (speech
started/stopped, commit, transcription, a response streaming 4 s of audio in 200 ms deltas
with its transcript, done). The panel refreshes every ``REFRESH_S`` of simulated time, as its
timer would, with its event log tab open (the costly case) or hidden.

Reported per simulated second of conversation:

- **kernel CPU** (``time.process_time``) of the session with the panel minus the same session
  without one (passes interleaved, median over ``--reps``), in ms and as % of one core;
- **bytes to the browser**: every widget comm message (state updates and custom messages)
  except the speaker's audio, which is the same with any panel.

``--compare REV`` also loads ``rtnb/notebook/panel.py`` as it was at git revision REV (for
example the commit before the panel rework) and measures it the same way, side by side.

    python benchmarks/panel_updates.py [--seconds 120] [--reps 5] [--compare REV] [--wait-quiet 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _bench import git_rev, wait_quiet  # noqa: E402
from _realtime import machine, write_json  # noqa: E402

import rtnb  # noqa: E402

FRAME = b"\0" * 960  # 20 ms of 24 kHz PCM16
DELTA = b"\0" * 9600  # 200 ms


class NullTransport:
    async def connect(self) -> None:
        pass

    async def send(self, event: dict[str, Any]) -> None:
        pass

    async def recv(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    async def close(self) -> None:
        pass


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


class CommBytes:
    """Counts the bytes of every comm message, except those of ``skip`` comms."""

    def __init__(self) -> None:
        import comm

        self.total = 0
        self.skip: set[int] = set()
        counter = self

        def publish_msg(comm_self, msg_type, data=None, metadata=None, buffers=None, **keys):
            if id(comm_self) not in counter.skip:
                counter.total += len(json.dumps(data, default=str)) + sum(
                    len(bytes(b)) for b in buffers or ())

        comm.DummyComm.publish_msg = publish_msg


def load_panel(rev: str | None) -> Any:
    """The panel module now, or as it was at ``rev`` (its imports resolve to today's package)."""
    if rev is None:
        from rtnb.notebook import panel

        return panel
    source = subprocess.run(["git", "show", f"{rev}:rtnb/notebook/panel.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "panel_at_rev.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("rtnb.notebook.panel_at_rev", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def run(panel_module: Any, seconds: float, turn_s: float, log_open: bool,
              counter: CommBytes) -> tuple[float, int]:
    """CPU seconds and browser bytes of one pass (``panel_module`` None: no panel)."""
    clock = Clock()
    session = rtnb.Session(rtnb.Agent("Assistant", "Be brief."), backend="ws://127.0.0.1:9/v1",
                           transport=NullTransport(), clock=clock)
    panel = None
    if panel_module is not None:
        panel = panel_module.SessionPanel(session)
        counter.skip.add(id(panel.audio.comm))
        if log_open:
            panel.views.selected_index = 1
    await session.connect()
    refresh = getattr(panel_module, "REFRESH_S", 0.15)
    audio = base64.b64encode(DELTA).decode()
    bytes0, cpu0 = counter.total, time.process_time()
    next_refresh, turn = 0.0, 0
    for n in range(int(seconds * 50)):
        clock.t = n * 0.02
        await session.append_pcm(FRAME)
        if clock.t >= (turn + 1) * turn_s - 0.02:  # a spoken turn ends: the reply streams
            turn += 1
            for event in _turn(turn, audio):
                await session._on_server(event)
        if panel is not None and clock.t >= next_refresh:
            panel._render()
            next_refresh += refresh
    cpu = time.process_time() - cpu0
    sent = counter.total - bytes0
    if panel is not None:
        timer = getattr(panel, "_timer", None)
        if timer is not None:
            timer.cancel()
        panel._pump.cancel()
    await session.close()
    return cpu, sent


def _turn(n: int, audio: str) -> list[dict[str, Any]]:
    user, rid, item = f"item_u{n}", f"resp_{n}", f"item_a{n}"
    events = [
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": user},
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 500, "item_id": user},
        {"type": "input_audio_buffer.committed", "item_id": user},
        {"type": "conversation.item.added", "item": {
            "id": user, "type": "message", "role": "user",
            "content": [{"type": "input_audio", "transcript": None}]}},
        {"type": "conversation.item.input_audio_transcription.completed", "item_id": user,
         "content_index": 0, "transcript": "What's the weather in Paris?"},
        {"type": "response.created", "response": {"id": rid, "status": "in_progress"}},
        {"type": "response.output_item.added", "response_id": rid, "item": {
            "id": item, "type": "message", "role": "assistant", "content": []}},
    ]
    for i in range(20):  # 4 s of audio with its transcript
        events.append({"type": "response.output_audio_transcript.delta", "response_id": rid,
                       "item_id": item, "delta": f"word{i} "})
        events.append({"type": "response.output_audio.delta", "response_id": rid,
                       "item_id": item, "delta": audio})
    events += [{"type": "response.output_item.done", "response_id": rid,
                "item": {"id": item, "type": "message", "status": "completed"}},
               {"type": "response.done", "response": {"id": rid, "status": "completed",
                                                      "output": []}}]
    return [{"event_id": f"evt_{n}_{i}", **e} for i, e in enumerate(events)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="simulated conversation per pass")
    parser.add_argument("--turn-s", type=float, default=8.0, help="a spoken turn every S s")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--compare", metavar="REV", help="also measure the panel at git REV")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    args = parser.parse_args()
    counter = CommBytes()
    panels = {"current": load_panel(None)}
    if args.compare:
        panels[args.compare] = load_panel(args.compare)
    cases = [(name, log_open) for name in panels for log_open in (True, False)]
    cpu: dict[Any, list[float]] = {case: [] for case in [*cases, "bare"]}
    sent: dict[Any, int] = {}
    for _ in range(args.reps):
        if args.wait_quiet:
            wait_quiet(args.quiet_cpu, args.wait_quiet)
        cpu["bare"].append((await run(None, args.seconds, args.turn_s, False, counter))[0])
        for name, log_open in cases:
            spent, nbytes = await run(panels[name], args.seconds, args.turn_s, log_open,
                                      counter)
            cpu[(name, log_open)].append(spent)
            sent[(name, log_open)] = nbytes
    bare = statistics.median(cpu["bare"])
    print(f"session without a panel: {1000 * bare / args.seconds:.2f} ms CPU per second "
          f"of conversation (median of {args.reps})")
    print(f"{'panel':12} {'log tab':8} {'panel CPU ms/s':>15} {'% of a core':>12} "
          f"{'to browser kB/s':>16}")
    rows = []
    for name, log_open in cases:
        extra = (statistics.median(cpu[(name, log_open)]) - bare) / args.seconds
        rate = sent[(name, log_open)] / args.seconds / 1000
        tab = "open" if log_open else "hidden"
        print(f"{name:12} {tab:8} {1000 * extra:15.2f} {100 * extra:12.2f} {rate:16.1f}")
        rows.append({"panel": name, "log_tab": tab, "panel_cpu_ms_per_s": round(1000 * extra, 3),
                     "browser_kb_per_s": round(rate, 2)})
    write_json("panel_updates.json", {
        "what": __doc__.splitlines()[0], "rev": git_rev(), "machine": machine(),
        "args": vars(args), "bare_cpu_ms_per_s": round(1000 * bare / args.seconds, 3),
        "rows": rows})


if __name__ == "__main__":
    asyncio.run(main())
