"""Concurrent sessions against one engine: latency, event integrity and memory as N grows.

One engine runs in a child process of its own, as a server runs it (``--thread-engine``:
in this process, ``start_engine()``, sharing the clients' GIL). For each N in ``--sessions`` the script
opens N ``rtnb.Session`` s at once (start times staggered over ``--stagger`` s) and each one
behaves like a user on a microphone: a paced loop appends 40 ms of 24 kHz PCM16 every 40 ms
of wall time (``Session.append_pcm``, absolute schedule) without a break, carrying piper
speech (``tests/speechgen.py``) when the user talks and digital silence otherwise. Per turn:
``--lead-ms`` of silence, the utterance, then silence until the reply's ``response.done``,
until ``session.wait_played()`` returns (the reply has been "heard") and ``--gap-ms`` more.
Server VAD runs with its defaults (500 ms silence window); each session does ``--turns``
turns, or more when N is small, so that every N has at least ``--min-turns`` turns in all.

Per N:
- ``e2e`` p50/p95 over all turns of all sessions, from each session's ``metrics()``: the VAD's
  end of speech (``speech_stopped.audio_end_ms`` mapped to time) -> first audio delta. It
  includes the 500 ms silence window. ``e2e_true`` is the same from the real end of speech
  (the append that carried the utterance's last sample above -40 dBFS) to the turn's first
  audio as ``rtnb.analysis`` finds it.
- Event integrity, checked on every session's log (see :func:`check_events`): nothing lost
  (every ``response.created`` has a ``response.done``; transcript deltas add up to the
  ``.done`` transcript; every turn answered), nothing reordered (event ids strictly
  increasing; per response the canonical order output_item.added -> content_part.added ->
  deltas -> .done -> content_part.done -> output_item.done -> response.done), no ``error``.
- Stalls: how long replies' playback ran dry while their next sentence was still being
  synthesized (``rtnb.analysis`` ``stall``: played in real time from the first chunk),
  p95 over all turns and the number of turns with one. The latency of a reply's start and
  its flow compete for the same CPU: a scheduler can trade one for the other.
- Transcripts: each turn's transcript as the protocol delivered it (the engine's whole path:
  speculative parts joined, decodes batched under load) against the words the user said,
  as utterances heard right and the word error rate (``rtnb.wer``).
- Memory: the engine's RSS (with ``--thread-engine``: this process's, engine + clients),
  sampled every 0.5 s, its growth over the idle engine, and per extra session: the peak's
  growth since the previous N divided by the sessions added.
- Pacing: how late the appends went out (a sign that the client side is starved).
- CPU: the engine's and the clients' CPU use, and other processes' share during the run.
- Engine counters: TTS jobs that started after their deadline, first sentences prepared in
  the silence window and used.
- Engine stages (``--no-trace`` to skip): the wall time of each ASR batch
  (the engine's one ASR thread decodes requests that arrive together in one call; requests
  per turn and per batch are reported) and
  of each TTS sentence, to show which part queues up when the CPUs run out.

The answer: the largest N with e2e p95 < ``--e2e-limit`` ms and no lost or reordered events,
and the memory at that N. Each N is bounded by ``--max-seconds``; the sweep stops once an N
clearly fails. Run: ``python benchmarks/load.py`` (a few minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from typing import Any

import numpy as np
from _bench import git_rev, rss_mb
from _engine_proc import EngineProcess, add_engine_options, counters, load_engine
from _realtime import (
    VOICES,
    CpuMonitor,
    StageTrace,
    machine,
    now,
    speech_bounds,
    stats,
    write_json,
)

from rtnb import analysis
from rtnb import events as ev
from rtnb.wer import normalize, word_error_rate

CHUNK_MS = 40  # rtnb.session.session.APPEND_CHUNK_MS
_DELTA_DONE = {ev.AUDIO_TRANSCRIPT_DELTA: ev.AUDIO_TRANSCRIPT_DONE,
               ev.TEXT_DELTA: ev.TEXT_DONE,
               ev.AUDIO_DELTA: ev.AUDIO_DONE,
               ev.CALL_ARGUMENTS_DELTA:
                   ev.CALL_ARGUMENTS_DONE}
_DONE_FIELD = {ev.AUDIO_TRANSCRIPT_DONE: "transcript",
               ev.TEXT_DONE: "text",
               ev.CALL_ARGUMENTS_DONE: "arguments"}


def _event_number(event_id: str) -> int | None:
    """The engine's ids are ``event_<8 hex tag><counter>``; the counter only grows."""
    tail = event_id.rsplit("_", 1)[-1]
    return int(tail[8:]) if len(tail) > 8 and tail[8:].isdigit() else None


def check_events(events: list[dict[str, Any]], finished: bool = True) -> list[str]:
    """Problems in one session's server events, in the order they were received.

    ``finished``: the session ended normally, so every response must be done.
    """
    problems: list[str] = []
    last = -1
    created: set[str] = set()
    done: set[str] = set()
    items: dict[str, str] = {}  # item id -> added / done
    item_resp: dict[str, str] = {}
    parts: dict[tuple[str, int], str] = {}
    closed: set[tuple[str, int, str]] = set()  # (item, content, kind of delta) after its .done
    acc: dict[tuple[str, int, str], str] = {}
    stopped: set[str] = set()
    for i, event in enumerate(events):
        kind = event.get("type", "")
        where = f"#{i} {kind}"
        num = _event_number(str(event.get("event_id", "")))
        if num is None:
            problems.append(f"{where}: unexpected event_id {event.get('event_id')!r}")
        elif num <= last:
            problems.append(f"{where}: event id went back ({num} after {last})")
        else:
            last = num
        if kind == ev.ERROR:
            problems.append(f"{where}: {event.get('error')}")
            continue
        if kind == ev.SPEECH_STOPPED:
            stopped.add(event.get("item_id", ""))
        elif kind == ev.COMMITTED and event.get("item_id") not in stopped:
            problems.append(f"{where}: committed without speech_stopped for {event.get('item_id')}")
        if kind == ev.RESPONSE_CREATED:
            rid = event["response"]["id"]
            if rid in created:
                problems.append(f"{where}: {rid} created twice")
            created.add(rid)
            continue
        if kind == ev.RESPONSE_DONE:
            resp = event["response"]
            rid = resp["id"]
            if rid not in created or rid in done:
                problems.append(f"{where}: {rid} done without created, or twice")
            done.add(rid)
            for out in resp.get("output") or []:
                if items.get(out.get("id")) != "done" and resp.get("status") == "completed":
                    problems.append(f"{where}: output item {out.get('id')} not done before "
                                    f"response.done")
            continue
        rid = event.get("response_id")
        if rid is None:
            continue
        if rid not in created or rid in done:
            problems.append(f"{where}: outside its response {rid} (before created / after done)")
        if kind == ev.OUTPUT_ITEM_ADDED:
            iid = event["item"]["id"]
            if iid in items:
                problems.append(f"{where}: item {iid} added twice")
            items[iid], item_resp[iid] = "added", rid
            continue
        iid = event["item"]["id"] if kind == ev.OUTPUT_ITEM_DONE else event.get("item_id", "")
        if items.get(iid) != "added":
            problems.append(f"{where}: item {iid} is {items.get(iid, 'not added')}")
        if kind == ev.OUTPUT_ITEM_DONE:
            items[iid] = "done"
            if any(parts[p] != "done" for p in parts if p[0] == iid):
                problems.append(f"{where}: item {iid} done with a content part still open")
            continue
        key = (iid, int(event.get("content_index", event.get("output_index", 0)) or 0))
        if kind in (ev.CALL_ARGUMENTS_DELTA, ev.CALL_ARGUMENTS_DONE):
            key = (iid, -1)
        elif kind == ev.CONTENT_PART_ADDED:
            if key in parts:
                problems.append(f"{where}: part {key} added twice")
            parts[key] = "added"
            continue
        elif parts.get(key) != "added":
            problems.append(f"{where}: part {key} is {parts.get(key, 'not added')}")
        if kind == ev.CONTENT_PART_DONE:
            parts[key] = "done"
            continue
        if kind in _DELTA_DONE:
            if (*key, kind) in closed:
                problems.append(f"{where}: delta after its .done")
            if kind != ev.AUDIO_DELTA:
                acc[(*key, kind)] = acc.get((*key, kind), "") + str(event.get("delta", ""))
            continue
        delta = next((d for d, dn in _DELTA_DONE.items() if dn == kind), None)
        if delta is not None:
            closed.add((*key, delta))
            field = _DONE_FIELD.get(kind)
            if field and field in event and event[field] != acc.get((*key, delta), ""):
                problems.append(f"{where}: deltas {acc.get((*key, delta), '')!r} != "
                                f"{field} {event[field]!r} (a delta was lost)")
    if finished:
        problems += [f"response {rid} created but never done" for rid in created - done]
    return problems


class Mic:
    """Appends 40 ms chunks through ``session.append_pcm`` on an absolute schedule."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._queue = bytearray()
        self._sent = 0
        self.late_ms: list[float] = []
        self.sent_at: list[float] = []  # session clock after each append
        self.stopped = False

    @property
    def cursor_ms(self) -> float:
        return (self._sent + len(self._queue)) / 48

    def play(self, pcm: bytes) -> float:
        start = self.cursor_ms
        self._queue += pcm
        return start

    def idle(self) -> bool:
        return not self._queue

    def session_time_at(self, audio_ms: float) -> float | None:
        k = max(0, int(np.ceil(audio_ms / CHUNK_MS)) - 1)
        return self.sent_at[k] if k < len(self.sent_at) else None

    async def run(self) -> None:
        step = CHUNK_MS * 48
        t0 = now()
        k = 0
        while not self.stopped:
            chunk = bytes(self._queue[:step])
            del self._queue[:step]
            chunk += bytes(step - len(chunk))
            self.late_ms.append((now() - (t0 + k * CHUNK_MS / 1000)) * 1000)
            await self.session.append_pcm(chunk)
            self.sent_at.append(self.session.now())
            self._sent += step
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * CHUNK_MS / 1000 - now()))


async def client(idx: int, n: int, engine: Any, audio: dict[tuple[str, str], bytes],
                 args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    import rtnb
    from tests import speechgen

    await asyncio.sleep(idx * args.stagger / max(n, 1))
    agent = rtnb.Agent(name="assistant", instructions="Be brief.")
    session = rtnb.Session(agent, backend=engine)
    dones = asyncio.Event()
    session.on_event(lambda e: dones.set() if e.type == ev.RESPONSE_DONE else None)
    out: dict[str, Any] = {"client": idx, "turns_sent": 0, "turns_answered": 0,
                           "timeouts": 0, "utterances": []}
    mic: Mic | None = None
    sender: asyncio.Task | None = None
    try:
        await asyncio.wait_for(session.connect(), 30)
        mic = Mic(session)
        sender = asyncio.create_task(mic.run())
        for t in range(args.turns):
            if now() > deadline:
                break
            key = (speechgen.PHRASES[(idx * 5 + t) % len(speechgen.PHRASES)],
                   VOICES[(idx + t) % len(VOICES)])
            pcm = audio[key]
            _, end_ms = speech_bounds(pcm)
            start = mic.play(bytes(round(args.lead_ms) * 48) + pcm)
            out["utterances"].append({"said": key[0], "voice": key[1],
                                      "speech_end_ms": start + round(args.lead_ms) + end_ms})
            out["turns_sent"] += 1
            seen = sum(1 for e in session.log if e.type == ev.RESPONSE_DONE)
            try:
                while sum(1 for e in session.log if e.type == ev.RESPONSE_DONE) <= seen:
                    left = deadline + args.grace - now()
                    if left <= 0:
                        raise asyncio.TimeoutError
                    dones.clear()
                    await asyncio.wait_for(dones.wait(), left)
            except asyncio.TimeoutError:
                out["timeouts"] += 1
                break
            out["turns_answered"] += 1
            await session.wait_played(timeout=max(1.0, deadline + args.grace - now()))
            await asyncio.sleep(args.gap_ms / 1000)
    except Exception as exc:  # a session that cannot connect or dies counts as failed
        out["exception"] = f"{type(exc).__name__}: {exc}"
    finally:
        if mic is not None:
            mic.stopped = True
        if sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender, 2)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.close(), 5)
    server = [e.event for e in session.log if e.direction == "server"]
    finished = out["timeouts"] == 0 and "exception" not in out
    out["problems"] = check_events(server, finished)
    if "exception" in out:
        out["problems"].append(f"session failed: {out['exception']}")
    if out["timeouts"]:
        out["problems"].append(f"{out['timeouts']} turn(s) not answered in time")
    turns = session.metrics()
    out["e2e"] = [t.e2e for t in turns if t.e2e is not None]
    out["ttfb"] = [t.ttfb for t in turns if t.ttfb is not None]
    out["stall"] = [t.stall or 0.0 for t in turns if t.e2e is not None]
    out["turns_logged"] = len(turns)
    true = []
    if mic is not None:
        timelines = analysis.timelines(session.log.entries)
        for turn, utt in zip(timelines, out["utterances"], strict=False):
            utt["heard"] = turn.user_text
            t_end = mic.session_time_at(utt["speech_end_ms"])
            first = turn.marks.get("first_audio")
            if t_end is not None and first is not None:
                true.append(round((first - t_end) * 1000, 1))
        late = np.asarray(mic.late_ms[1:] or [0.0])
        out["late_p95_ms"] = float(np.percentile(late, 95))
        out["late_max_ms"] = float(late.max())
    out["e2e_true"] = true
    out["server_events"] = len(server)
    return out


class ThreadHost:
    """The engine in this process (``--thread-engine``), as :class:`EngineProcess` answers."""

    def __init__(self, running: Any, trace: StageTrace | None) -> None:
        self.running = running
        self.url = running.url
        self.trace = trace

    def between(self, kind: str, t0: float, t1: float) -> list[tuple[float, float, Any]]:
        return self.trace.between(kind, t0, t1) if self.trace is not None else []

    def stats(self) -> dict[str, Any]:
        return counters(self.running.server.engine)

    def rss_mb(self) -> float:
        return rss_mb()["rss_mb"]

    def cpu_s(self) -> float | None:
        return None  # shared with the clients: the process's CPU is reported as a whole


def _counters_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {part: {k: round(v - before[part].get(k, 0), 3)
                   for k, v in after[part].items() if isinstance(v, (int, float))}
            for part in after}


async def one_n(n: int, host: Any, audio: dict[tuple[str, str], bytes],
                args: argparse.Namespace, cpu: CpuMonitor, traced: bool = False
                ) -> dict[str, Any]:
    rss_before = host.rss_mb()
    peak = [rss_before]

    async def watch() -> None:
        while True:
            peak.append(host.rss_mb())
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    counters0 = host.stats()
    engine_cpu0 = host.cpu_s()
    snap0 = cpu.snapshot()
    t0 = now()
    deadline = t0 + args.max_seconds
    try:
        clients = await asyncio.wait_for(
            asyncio.gather(*(client(i, n, host.url, audio, args, deadline)
                             for i in range(n))),
            args.max_seconds + args.grace + 30)
    finally:
        watcher.cancel()
    t1 = now()
    snap1 = cpu.snapshot()
    engine_cpu1 = host.cpu_s()
    counters = _counters_delta(counters0, host.stats())
    e2e = [v for c in clients for v in c["e2e"]]
    true = [v for c in clients for v in c["e2e_true"]]
    problems = [f"client {c['client']}: {p}" for c in clients for p in c["problems"]]
    sent = sum(c["turns_sent"] for c in clients)
    answered = sum(c["turns_answered"] for c in clients)
    span = snap1[1] - snap0[1]
    own = (snap1[3] - snap0[3]) / (t1 - t0)
    engine_cores = None if engine_cpu0 is None else (engine_cpu1 - engine_cpu0) / (t1 - t0)
    foreign = cpu.share(t0, t1)
    if foreign is not None and engine_cores is not None:  # the engine is not "other"
        foreign = max(0.0, foreign - engine_cores / (os.cpu_count() or 1))
    scored = [(word_error_rate(u["said"], u["heard"]), len(normalize(u["said"])))
              for c in clients for u in c["utterances"] if "heard" in u]
    words = sum(w for _, w in scored)
    errors = sum(round(wer * w) for wer, w in scored)
    res = {
        "n": n, "seconds": round(t1 - t0, 1), "turns_sent": sent, "turns_answered": answered,
        "transcripts": {"turns": len(scored), "heard_right": sum(wer == 0 for wer, _ in scored),
                        "word_errors": errors, "words": words,
                        "wer": round(100 * errors / words, 2) if words else None},
        "turns_logged": sum(c["turns_logged"] for c in clients),
        "e2e": stats(e2e), "e2e_true": stats(true),
        "ttfb": stats([v for c in clients for v in c["ttfb"]]),
        "stall": stats([v for c in clients for v in c["stall"]]),
        "turns_stalled": sum(v > 0 for c in clients for v in c["stall"]),
        "problems": len(problems), "problem_samples": problems[:20],
        "server_events": sum(c["server_events"] for c in clients),
        "rss_before_mb": rss_before, "rss_peak_mb": max(peak),
        "rss_growth_mb": round(max(peak) - rss_before, 1),
        "late_p95_ms": round(max((c.get("late_p95_ms", 0.0) for c in clients), default=0.0), 1),
        "late_max_ms": round(max((c.get("late_max_ms", 0.0) for c in clients), default=0.0), 1),
        "own_cpu_cores": round(own + (engine_cores or 0.0), 2),
        "client_cpu_cores": round(own, 2),
        "engine_cpu_cores": None if engine_cores is None else round(engine_cores, 2),
        "engine_counters": counters,
        "foreign_cpu": None if foreign is None else round(100 * foreign, 1),
        "cpu_busy_pct": round(100 * (snap1[2] - snap0[2]) / span, 1) if span > 0 else None,
    }
    if traced:  # the engine's own ASR batches / TTS calls in this N's window
        asr = host.between("asr", t0, t1)
        tts = host.between("tts", t0, t1)
        res["stage_asr_call"] = stats([(b - a) * 1000 for a, b, _ in asr])
        res["stage_tts_sentence"] = stats([(b - a) * 1000 for a, b, _ in tts])
        requests = sum(len(jobs) for _, _, jobs in asr)
        res["asr_calls_per_turn"] = round(requests / max(sent, 1), 2)
        res["asr_batch_mean"] = round(requests / max(len(asr), 1), 2)
        res["asr_batch_max"] = max((len(jobs) for _, _, jobs in asr), default=0)
    res["ok"] = (res["e2e"]["p95"] is not None and res["e2e"]["p95"] < args.e2e_limit
                 and not problems and answered == sent and sent >= n)
    return res


async def run(args: argparse.Namespace, host: Any) -> dict[str, Any]:
    from tests import speechgen

    audio = {(p, v): speechgen.utterance(p, v) for p in speechgen.PHRASES for v in VOICES}
    cpu = CpuMonitor()
    monitor = asyncio.create_task(cpu.run())
    rows: list[dict[str, Any]] = []
    try:
        await one_n(1, host, audio, argparse.Namespace(**{**vars(args), "turns": 1}), cpu)
        fails = 0
        for n in args.sessions:
            waited = await cpu.wait_quiet(args.quiet_cpu / 100, args.wait_quiet)
            turns = max(args.turns, -(-args.min_turns // n))
            res = await one_n(n, host, audio, argparse.Namespace(**{**vars(args),
                                                                    "turns": turns}), cpu,
                              traced=not args.no_trace)
            res["turns_per_session"] = turns
            res["waited_quiet_s"] = round(waited, 1)
            rows.append(res)
            e, tr = res["e2e"], res["e2e_true"]
            if "stage_asr_call" in res:
                print(f"        engine: ASR batch p50 {res['stage_asr_call']['p50']} p95 "
                      f"{res['stage_asr_call']['p95']} ms ({res['asr_calls_per_turn']} requests "
                      f"per turn, {res['asr_batch_mean']} per batch, at most "
                      f"{res['asr_batch_max']}), TTS sentence p50 "
                      f"{res['stage_tts_sentence']['p50']} p95 "
                      f"{res['stage_tts_sentence']['p95']} ms", file=sys.stderr)
            print(f"  N={n:>2}: e2e p50 {e['p50']} p95 {e['p95']} ms (true end p95 {tr['p95']})"
                  f"  turns {res['turns_answered']}/{res['turns_sent']}  problems "
                  f"{res['problems']}  stalls {res['turns_stalled']} (p95 "
                  f"{res['stall']['p95']} ms)  heard right {res['transcripts']['heard_right']}/"
                  f"{res['transcripts']['turns']} (WER {res['transcripts']['wer']}%)  "
                  f"RSS {res['rss_peak_mb']} MB  late p95 "
                  f"{res['late_p95_ms']} ms  CPU engine {res['engine_cpu_cores']} clients "
                  f"{res['client_cpu_cores']} cores  other {res['foreign_cpu']}%  "
                  f"{'OK' if res['ok'] else 'FAIL'}", file=sys.stderr)
            print(f"        engine counters: {res['engine_counters']}", file=sys.stderr)
            for p in res["problem_samples"][:3]:
                print(f"      {p}", file=sys.stderr)
            fails = 0 if res["ok"] else fails + 1
            clear = (e["p95"] is None or e["p95"] > 2 * args.e2e_limit
                     or res["turns_answered"] < 0.9 * res["turns_sent"])
            if not args.every_n and (fails >= 2 or (fails and clear)):
                print("  stopping: this N clearly fails", file=sys.stderr)
                break
    finally:
        monitor.cancel()
    return {"rows": rows}


def cpu_demand(rows: list[dict[str, Any]], n: int, stagger: float) -> dict[str, Any] | None:
    """A lower bound on the cores ``n`` sessions ask for: the cheapest CPU per turn of any N
    measured (engine and clients; fixed costs spread thinner as N grows) times the turn rate
    of the least loaded N (where nothing queues yet, so a session's pace is its own: lead-in,
    utterance, silence window, reply played, gap). When it comes near the machine's cores,
    queueing, not the pipeline, sets the latency.
    """
    measured = [r for r in rows if r.get("engine_cpu_cores") is not None
                and r["turns_answered"]]
    if not measured:
        return None

    def per_turn(r: dict[str, Any], key: str) -> float:
        return r[key] * r["seconds"] / r["turns_answered"]

    engine = min(per_turn(r, "engine_cpu_cores") for r in measured)
    clients = min(per_turn(r, "client_cpu_cores") for r in measured)
    calm = min(measured, key=lambda r: r["n"])
    cycle = calm["n"] * max(calm["seconds"] - stagger, 1.0) / calm["turns_answered"]
    return {"engine_cpu_s_per_turn": round(engine, 2), "client_cpu_s_per_turn": round(clients, 2),
            "session_s_per_turn": round(cycle, 1), "pace_from_n": calm["n"], "n": n,
            "cores": round(n * (engine + clients) / cycle, 2), "machine_cores": os.cpu_count()}


@contextlib.contextmanager
def engine_host(thread: bool, trace: bool, **options: Any):
    """The engine in a child process (default) or in this process; yields ``(host, RSS
    before loading)``. ``options`` go to :func:`configure`."""
    if not thread:
        with EngineProcess(trace=trace, **options) as proc:
            yield proc, proc.rss_before_mb
        return
    from rtnb.engine.background import start_engine

    before = rss_mb()["rss_mb"]
    engine, tracer = load_engine(trace, **options)
    with start_engine(engine=engine) as running:
        yield ThreadHost(running, tracer), before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 2, 4, 8, 12, 16, 24], help="N values (comma-separated)")
    parser.add_argument("--turns", type=int, default=3,
                        help="turns per session (default 3; more for small N, see --min-turns)")
    parser.add_argument("--min-turns", type=int, default=12,
                        help="at least this many turns in total per N (default 12)")
    add_engine_options(parser)
    parser.add_argument("--thread-engine", action="store_true",
                        help="run the engine in this process (sharing the clients' GIL)")
    parser.add_argument("--no-trace", action="store_true",
                        help="do not time the engine's ASR / TTS calls")
    parser.add_argument("--lead-ms", type=float, default=600)
    parser.add_argument("--gap-ms", type=float, default=300)
    parser.add_argument("--stagger", type=float, default=3.0,
                        help="spread the N sessions' starts over this many seconds")
    parser.add_argument("--max-seconds", type=float, default=120.0,
                        help="no new turn starts after this long (per N)")
    parser.add_argument("--grace", type=float, default=20.0,
                        help="how long a started turn may still take after --max-seconds")
    parser.add_argument("--e2e-limit", type=float, default=1000.0, help="pass: e2e p95 below")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="before each N wait up to S s until other processes use less "
                             "than --quiet-cpu %% of the CPUs")
    parser.add_argument("--every-n", action="store_true",
                        help="run every N even after one clearly failed (noisy machines)")
    parser.add_argument("--out", default="load.json")
    args = parser.parse_args(argv)
    with engine_host(args.thread_engine, not args.no_trace, prepare=not args.no_prepare,
                     tts_cache=not args.no_tts_cache) as (host, rss_start):
        idle = host.rss_mb()
        print(f"  engine ready: RSS {idle} MB ({rss_start} MB before loading)", file=sys.stderr)
        result = asyncio.run(run(args, host))
    rows = result["rows"]
    previous = (0, idle)
    for r in rows:  # memory per extra session: the peak's growth since the previous N
        r["rss_per_session_mb"] = round((r["rss_peak_mb"] - previous[1])
                                        / max(1, r["n"] - previous[0]), 1)
        previous = (r["n"], r["rss_peak_mb"])
    ok = [r for r in rows if r["ok"]]
    best = max(ok, key=lambda r: r["n"]) if ok else None
    demand = cpu_demand(rows, max(args.sessions), args.stagger)
    print(f"\nload: {args.turns} turns per session, 500 ms silence window, pass = e2e p95 < "
          f"{args.e2e_limit:.0f} ms with no lost/reordered events\n")
    print("| N | turns | e2e p50 ms | e2e p95 ms | e2e p95 (true end) ms | lost/reordered | "
          "RSS peak MB | MB per extra session | ASR batch p95 ms | ASR requests/turn | "
          "ASR batch mean | TTS sentence p95 ms | append late p95 ms | "
          "engine+client CPU (cores) | engine CPU (cores) | first sentences prepared/used · "
          "sentence cache hits/lookups | turns stalled (stall p95 ms) | "
          "transcripts right (WER %) | "
          "other CPU % | pass |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
          "---:|---:|---:|---|")
    for r in rows:
        asr = r.get("stage_asr_call", {}).get("p95", "-")
        tts = r.get("stage_tts_sentence", {}).get("p95", "-")
        made = r["engine_counters"].get("prepared", {})
        hits = r["engine_counters"].get("tts_cache", {})
        prepared = (f"{made.get('prepared', 0):.0f}/{made.get('prepared_used', 0):.0f} · "
                    f"{hits.get('hits', 0):.0f}/{hits.get('hits', 0) + hits.get('misses', 0):.0f}")
        print(f"| {r['n']} | {r['turns_answered']}/{r['turns_sent']} | {r['e2e']['p50']} | "
              f"{r['e2e']['p95']} | {r['e2e_true']['p95']} | {r['problems']} | "
              f"{r['rss_peak_mb']} | {r['rss_per_session_mb']} | {asr} | "
              f"{r.get('asr_calls_per_turn', '-')} | {r.get('asr_batch_mean', '-')} | "
              f"{tts} | {r['late_p95_ms']} | "
              f"{r['own_cpu_cores']} | {r['engine_cpu_cores']} | {prepared} | "
              f"{r['turns_stalled']} ({r['stall']['p95']}) | "
              f"{r['transcripts']['heard_right']}/{r['transcripts']['turns']} "
              f"({r['transcripts']['wer']}) | "
              f"{r['foreign_cpu']} | {'yes' if r['ok'] else 'no'} |")
    if best:
        print(f"\nlargest passing N: {best['n']} (e2e p95 {best['e2e']['p95']} ms); RSS peak "
              f"{best['rss_peak_mb']} MB, engine idle {idle} MB")
    else:
        print("\nno N passed")
    if demand:
        print(f"CPU demand: a turn costs at least {demand['engine_cpu_s_per_turn']} s of engine "
              f"CPU and {demand['client_cpu_s_per_turn']} s of the clients'; unloaded "
              f"(N={demand['pace_from_n']}) a session starts a turn every "
              f"{demand['session_s_per_turn']} s; so N={demand['n']} sessions ask at least "
              f"{demand['cores']} cores of this machine's {demand['machine_cores']}")
    payload = {"benchmark": "load", "rev": git_rev(), "machine": machine(),
               "setup": {k: v for k, v in vars(args).items()},
               "definitions": {
                   "e2e": "Session.metrics() e2e: speech_stopped.audio_end_ms mapped to time -> "
                          "first audio delta (includes the 500 ms silence window)",
                   "e2e_true": "append carrying the last sample above -40 dBFS -> first audio",
                   "problems": "lost or reordered events, errors, unanswered turns "
                               "(see check_events)"},
               "rss_idle_engine_mb": idle, "rss_before_engine_mb": rss_start,
               "largest_passing_n": best["n"] if best else None, "cpu_demand": demand,
               **result}
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
