"""The engine in a child process of its own, as a server runs it, for the load benchmarks.

Clients and engine then have a GIL each (in one process, 16 clients' Python work and the
engine's share one). The child loads the engine, installs :class:`StageTrace` and answers
the parent's questions over a pipe: its stage spans (``time.perf_counter`` is the same
clock in both processes on Linux), its workers' counters, its RSS and CPU time.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from dataclasses import asdict
from typing import Any


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def configure(engine: Any, prepare: bool = True, tts_cache: bool = True) -> None:
    """Turn the engine's prepared first sentences and sentence cache on or off."""
    from rtnb.engine.speech_cache import SentenceCache

    engine.prepare_speech = prepare
    if not tts_cache:
        engine.tts_cache = SentenceCache(max_bytes=0)


def add_engine_options(parser: Any, scope: str = "") -> None:
    """``--no-prepare`` and ``--no-tts-cache`` (``scope`` prefixes their help)."""
    parser.add_argument("--no-prepare", action="store_true",
                        help=f"{scope}the engine does not prepare replies' first sentences in "
                             "the silence window (the engine before it did)")
    parser.add_argument("--no-tts-cache", action="store_true",
                        help=f"{scope}the engine synthesizes every sentence, even one it said "
                             "before (the rule brain's replies repeat: the cache hides TTS cost)")


def load_engine(trace: bool, prepare: bool = True, tts_cache: bool = True
                ) -> tuple[Any, Any]:
    """A loaded engine, :func:`configure` d, with a :class:`StageTrace` installed if
    ``trace``: ``(engine, tracer or None)``."""
    from _realtime import StageTrace

    from rtnb.engine.server import Engine

    engine = Engine.load(progress=lambda msg: print(f"  engine: {msg}", file=sys.stderr))
    configure(engine, prepare, tts_cache)
    tracer = StageTrace() if trace else None
    if tracer is not None:
        tracer.install(engine)
    return engine, tracer


def counters(engine: Any) -> dict[str, Any]:
    """The engine's TTS scheduler, ASR worker, prepared-speech and sentence-cache counters."""
    return {"tts": asdict(engine.tts_scheduler.stats), "asr": asdict(engine.asr_worker.stats),
            "prepared": asdict(engine.stats), "tts_cache": asdict(engine.tts_cache.stats)}


def _child(conn: Any, trace: bool, options: dict[str, Any]) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from rtnb.engine.background import start_engine

    before = _rss_mb(os.getpid())
    engine, tracer = load_engine(trace, **options)
    with start_engine(engine=engine) as running:
        conn.send({"url": running.url, "rss_before_mb": before})
        while True:
            kind, *args = conn.recv()
            if kind == "stop":
                break
            if kind == "between":
                spans = tracer.between(*args) if tracer is not None else []
                # ASR details are the batch's jobs: only their number crosses the pipe.
                conn.send([(a, b, [None] * len(d) if isinstance(d, list) else None)
                           for a, b, d in spans])
            elif kind == "stats":
                conn.send(counters(engine))


class EngineProcess:
    """A started engine child process: ``url``, ``pid``, :meth:`between`, :meth:`stats`."""

    def __init__(self, trace: bool = True, **options: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child, trace, options), daemon=True)
        self._proc.start()
        hello = self._conn.recv()
        self.url: str = hello["url"]
        self.rss_before_mb: float = hello["rss_before_mb"]
        self.traced = trace

    @property
    def pid(self) -> int:
        return int(self._proc.pid or 0)

    def between(self, kind: str, t0: float, t1: float) -> list[tuple[float, float, Any]]:
        """The child's :meth:`StageTrace.between` (empty without a trace)."""
        self._conn.send(("between", kind, t0, t1))
        return self._conn.recv()

    def stats(self) -> dict[str, Any]:
        """:func:`counters` of the child's engine."""
        self._conn.send(("stats",))
        return self._conn.recv()

    def rss_mb(self) -> float:
        return _rss_mb(self.pid)

    def cpu_s(self) -> float:
        return _cpu_s(self.pid)

    def stop(self) -> None:
        if self._proc.is_alive():
            self._conn.send(("stop",))
            self._proc.join(15)
        if self._proc.is_alive():
            self._proc.kill()

    def __enter__(self) -> EngineProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
