"""Shared pieces of the protocol benchmarks: a paced microphone, an event log, stats, output.

Every benchmark talks to the engine through the official ``openai`` SDK over a real
WebSocket. Audio is appended the way a microphone delivers it: one 20 ms chunk every
20 ms of wall time, scheduled on an absolute clock so the pacing does not drift.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results"
RATE = 24_000
BYTES_PER_MS = 48  # 24 kHz PCM16 mono
CHUNK_MS = 20
VOICES = ("alloy", "echo", "shimmer", "cedar")


def now() -> float:
    """The one wall clock every benchmark uses (monotonic, seconds)."""
    return time.perf_counter()


def speech_bounds(pcm: bytes, dbfs: float = -40.0) -> tuple[float, float]:
    """``(onset_ms, end_ms)`` of the audible speech in ``pcm``: first/last sample above ``dbfs``.

    ``end_ms`` is the boundary just after the last loud sample, so the audio clock position
    of the last speech sample ends there.
    """
    x = np.abs(np.frombuffer(pcm, "<i2").astype(np.int32))
    loud = np.nonzero(x >= 32768 * 10 ** (dbfs / 20))[0]
    if loud.size == 0:
        raise ValueError("no speech above the threshold")
    return loud[0] / (RATE / 1000), (loud[-1] + 1) / (RATE / 1000)


class PacedMic:
    """Streams 20 ms appends in real time: queued audio first, digital silence otherwise.

    The audio clock starts at 0 with the first append (the session's clock too, as long as
    nothing else is appended). ``sent_at[k]`` is the wall time right after chunk ``k`` (audio
    ms ``[20k, 20k + 20)``) was handed to the socket.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.sent_at: list[float] = []
        self.late_ms: list[float] = []
        self._queue = bytearray()
        self._step = CHUNK_MS * BYTES_PER_MS
        self._sent_bytes = 0
        self._stopped = False

    @property
    def cursor_ms(self) -> float:
        """Audio clock position where the next :meth:`play` would start."""
        return (self._sent_bytes + len(self._queue)) / BYTES_PER_MS

    @property
    def sent_ms(self) -> float:
        return self._sent_bytes / BYTES_PER_MS

    def play(self, pcm: bytes) -> float:
        """Queue ``pcm`` after whatever is queued; return its start on the audio clock (ms)."""
        start = self.cursor_ms
        self._queue += pcm
        return start

    def idle(self) -> bool:
        return not self._queue

    def wall_at(self, audio_ms: float) -> float:
        """Wall time at which the audio up to ``audio_ms`` (a boundary) had been appended."""
        k = max(0, int(np.ceil(audio_ms / CHUNK_MS)) - 1)
        return self.sent_at[k]

    async def run(self) -> None:
        t0 = now()
        k = 0
        while not self._stopped:
            chunk = bytes(self._queue[:self._step])
            del self._queue[:self._step]
            chunk += bytes(self._step - len(chunk))
            due = t0 + k * CHUNK_MS / 1000
            self.late_ms.append((now() - due) * 1000)
            await self.conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
            self.sent_at.append(now())
            self._sent_bytes += len(chunk)
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * CHUNK_MS / 1000 - now()))

    def stop(self) -> None:
        self._stopped = True

    def pacing(self) -> dict[str, float]:
        """How late the appends went out against their schedule (ms)."""
        late = np.asarray(self.late_ms[1:] or [0.0])
        return {"chunks": len(self.sent_at), "late_p50_ms": float(np.percentile(late, 50)),
                "late_p95_ms": float(np.percentile(late, 95)), "late_max_ms": float(late.max())}


class EventLog:
    """Receives every server event with the wall time its bytes arrived."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.events: list[tuple[float, Any]] = []
        self.errors: list[Any] = []
        self._changed = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                raw = await self.conn.recv_bytes()
            except Exception:  # the socket closed: stop quietly
                self._changed.set()
                return
            t = now()
            ev = self.conn.parse_event(raw)
            self.events.append((t, ev))
            if ev.type == "error":
                self.errors.append(ev)
                print(f"  server error: {ev.error.code}: {ev.error.message}", file=sys.stderr)
            self._changed.set()

    def mark(self) -> int:
        return len(self.events)

    async def wait(self, kind: str, since: int = 0, timeout: float = 30.0,
                   where: Callable[[Any], bool] | None = None) -> tuple[float, Any]:
        """First event of type ``kind`` (matching ``where``) at index >= ``since``."""
        deadline = now() + timeout
        i = since
        while True:
            while i < len(self.events):
                t, ev = self.events[i]
                i += 1
                if ev.type == kind and (where is None or where(ev)):
                    return t, ev
            left = deadline - now()
            if left <= 0:
                raise TimeoutError(f"no {kind} within {timeout:.0f}s")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def find(self, kind: str, since: int = 0) -> list[tuple[float, Any]]:
        return [(t, ev) for t, ev in self.events[since:] if ev.type == kind]


async def fresh_conversation(conn: Any, log: EventLog, item_ids: list[str]) -> None:
    """Delete ``item_ids`` so the next turn starts from an empty conversation."""
    mark = log.mark()
    for item_id in item_ids:
        await conn.conversation.item.delete(item_id=item_id)
    for item_id in item_ids:
        await log.wait("conversation.item.deleted", mark, 10.0,
                       lambda ev, i=item_id: ev.item_id == i)


@contextlib.contextmanager
def engine_url(url: str | None, timings: Callable[[Any], None] | None = None) -> Iterator[str]:
    """Yield a websocket base URL: ``url`` as given, or an in-process engine's.

    ``timings`` may wrap the in-process engine's parts before it starts (stage tracing).
    """
    if url:
        yield url
        return
    from rtnb.engine.background import start_engine
    from rtnb.engine.server import Engine

    t = now()
    engine = Engine.load(progress=lambda msg: print(f"  engine: {msg}", file=sys.stderr))
    if timings is not None:
        timings(engine)
    with start_engine(engine=engine) as running:
        print(f"  engine ready at {running.url} ({now() - t:.1f}s)", file=sys.stderr)
        yield running.url


class CpuMonitor:
    """How busy *other* processes keep the machine: a benchmark on a shared box must know.

    :meth:`run` samples ``/proc/stat`` every ``period`` s; :meth:`share` is the fraction of all
    CPUs' time in a span used outside this process (with ``--url`` that includes the engine)
    or stolen by the hypervisor.
    """

    def __init__(self, period: float = 0.1) -> None:
        self._hz = os.sysconf("SC_CLK_TCK")
        self.period = period
        self.samples: list[tuple[float, float, float, float]] = []

    def snapshot(self) -> tuple[float, float, float, float]:
        """(wall time, all CPUs' time, their busy + stolen time, this process's CPU time)."""
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:9]]
        except OSError:
            ticks = [0] * 8
        own = os.times()
        total = sum(ticks)
        return now(), total / self._hz, (total - ticks[3] - ticks[4]) / self._hz, \
            own.user + own.system

    async def run(self) -> None:
        while True:
            self.samples.append(self.snapshot())
            await asyncio.sleep(self.period)

    def share(self, t0: float, t1: float) -> float | None:
        """Share (0..1) of the CPUs used by other processes from ``t0`` to ``t1``."""
        before = [s for s in self.samples if s[0] <= t0]
        after = [s for s in self.samples if s[0] >= t1] or [self.snapshot()]
        if not before:
            return None
        a, b = before[-1], after[0]
        span = b[1] - a[1]
        if span <= 0:
            return None
        return max(0.0, ((b[2] - a[2]) - (b[3] - a[3])) / span)

    async def wait_quiet(self, limit: float, max_wait: float, window: float = 1.0) -> float:
        """Wait (up to ``max_wait`` s) until others used < ``limit`` over ``window`` s."""
        t0 = now()
        while now() - t0 < max_wait:
            share = self.share(now() - window, now())
            if share is not None and share < limit:
                break
            await asyncio.sleep(self.period)
        return now() - t0


def stats(values: list[float]) -> dict[str, float | int | None]:
    """p50/p95/max/mean (ms) with numpy's linear-interpolated percentiles."""
    a = np.asarray([v for v in values if v is not None], dtype=float)
    if a.size == 0:
        return {"n": 0, "p50": None, "p95": None, "max": None, "min": None, "mean": None}
    return {"n": int(a.size), "p50": round(float(np.percentile(a, 50)), 1),
            "p95": round(float(np.percentile(a, 95)), 1), "max": round(float(a.max()), 1),
            "min": round(float(a.min()), 1), "mean": round(float(a.mean()), 1)}


def table(rows: dict[str, dict], title: str) -> str:
    """A Markdown table of ``{metric: stats}``."""
    lines = [f"{title}", "", "| metric | n | p50 ms | p95 ms | max ms | min ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, s in rows.items():
        cells = ["-" if s[k] is None else f"{s[k]:.1f}" for k in ("p50", "p95", "max", "min")]
        lines.append(f"| {name} | {s['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                     "")
    return {"cpu": model or platform.processor(), "nproc": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "platform": platform.platform()}


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


class StageTrace:
    """Wall-clock spans of the in-process engine's ASR, brain and TTS calls (for diagnosis).

    Wraps the parts of a loaded :class:`~rtnb.engine.server.Engine` without changing them.
    Each span is ``(kind, start, end, detail)`` on the benchmark's clock.
    """

    def __init__(self) -> None:
        self.spans: list[tuple[str, float, float, Any]] = []

    def install(self, engine: Any) -> None:
        from rtnb.engine.asr_worker import decode_batch

        trace = self

        class Asr:
            """Each span is one batch; its detail is the ``(pcm, prompt)`` jobs."""

            def __init__(self, inner: Any) -> None:
                self._inner = inner
                self.name = getattr(inner, "name", "asr")

            def transcribe_batch(self, jobs: list[tuple[bytes, str | None]]) -> list[str]:
                t = now()
                texts = decode_batch(self._inner, jobs)
                trace.spans.append(("asr", t, now(), list(jobs)))
                return texts

        class Tts:
            def __init__(self, inner: Any) -> None:
                self._inner = inner
                self.name = getattr(inner, "name", "tts")
                self.sample_rate = getattr(inner, "sample_rate", 24000)
                if hasattr(inner, "plan") and hasattr(inner, "synthesize_sentence"):
                    self.plan = inner.plan  # the engine schedules sentence by sentence
                    self.synthesize_sentence = self._sentence

            def _sentence(self, sentence: str, *args: Any, **kw: Any) -> bytes:
                t = now()
                pcm = self._inner.synthesize_sentence(sentence, *args, **kw)
                trace.spans.append(("tts", t, now(), sentence))
                return pcm

            def synthesize(self, text: str, **kw: Any) -> Iterator[tuple[str, bytes]]:
                t = now()
                for sentence, pcm in self._inner.synthesize(text, **kw):
                    trace.spans.append(("tts", t, now(), sentence))
                    yield sentence, pcm
                    t = now()

        class Brain:
            def __init__(self, inner: Any) -> None:
                self._inner = inner
                self.name = getattr(inner, "name", "brain")
                self.predictable = getattr(inner, "predictable", False)

            async def respond(self, request: Any) -> Any:
                t = now()
                reply = await self._inner.respond(request)
                trace.spans.append(("brain", t, now(), reply.text))
                return reply

        engine.asr = Asr(engine.asr)
        engine.tts = Tts(engine.tts)
        engine.brain = Brain(engine.brain)

    def between(self, kind: str, t0: float, t1: float) -> list[tuple[float, float, Any]]:
        """Spans of ``kind`` that started in ``[t0, t1]``."""
        return [(a, b, d) for k, a, b, d in self.spans if k == kind and t0 <= a <= t1]
