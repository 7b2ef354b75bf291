"""The engine's TTS workers: sentences of every session, the most urgent first.

A reply is synthesized sentence by sentence. Its first sentence is due at once: the
listener waits for it. A later sentence is due only when the audio sent before it would
have played out (less :data:`AHEAD_S` and its own likely synthesis time,
:data:`SECONDS_PER_CHAR`), so it may wait while another session's first
sentence goes ahead. Jobs run earliest deadline first on :data:`WORKERS` threads. A job
that is not due yet (more than :data:`HOLD_S` before its deadline) runs at once only on
one worker: the others stay free for the next first sentence (a running job is not
interrupted). A cancelled job that has not started is dropped.

With one session nothing waits: its sentences come one at a time and each starts at
once, so a reply is generated as fast as the CPU allows. With many, first sentences no
longer queue behind replies that are already playing (``benchmarks/load.py``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .futures import settle

#: Synthesis threads (each sentence runs on one thread, see ``speech.tts.THREADS``).
WORKERS = 2
#: A later sentence is due this long before the audio sent before it has played out.
AHEAD_S = 1.0
#: A generous guess of one thread's synthesis time per character of a sentence (Piper
#: joe medium takes ~4 ms on the machines of ``benchmarks/README.md``): a long sentence
#: is due earlier, so it is ready before the audio before it runs out, also under load.
SECONDS_PER_CHAR = 0.012
#: A job this close to its deadline is due; one further off runs early only on one worker.
HOLD_S = 0.5
#: A job that starts this long after its deadline counts as late.
LATE_S = 0.05

clock = time.monotonic


@dataclass(order=True)
class _Job:
    deadline: float
    seq: int
    work: Callable[[], Any] = field(compare=False)
    future: asyncio.Future = field(compare=False)
    loop: asyncio.AbstractEventLoop = field(compare=False)


@dataclass
class SchedulerStats:
    """Counters since start (read them from any thread)."""

    jobs: int = 0
    cancelled: int = 0
    #: Jobs that started more than :data:`LATE_S` after their deadline, and by how much
    #: in total (seconds).
    late: int = 0
    late_s: float = 0.0
    busy_s: float = 0.0


class TtsScheduler:
    """Runs synthesis jobs earliest deadline first on ``workers`` threads."""

    def __init__(self, workers: int = WORKERS) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.stats = SchedulerStats()
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._early = 0  # running jobs that started before they were due

    def submit(self, work: Callable[[], Any], deadline: float | None = None
               ) -> asyncio.Future:
        """Queue ``work`` (run on a worker thread); the future resolves to its result.

        ``deadline`` is on :func:`clock`; None means now.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        job = _Job(clock() if deadline is None else deadline, next(self._seq), work, future,
                   loop)
        with self._cond:
            if self._closed:
                raise RuntimeError("the TTS scheduler is closed")
            heapq.heappush(self._heap, job)
            if len(self._threads) < self.workers:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"rtnb-tts-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            self._cond.notify()
        return future

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def close(self) -> None:
        """Stop the workers after their current jobs; queued jobs are cancelled."""
        with self._cond:
            self._closed = True
            left, self._heap = self._heap, []
            self._cond.notify_all()
        for job in left:
            settle(job.future, job.loop, cancel=True)

    def _next(self) -> tuple[_Job, bool] | None:
        """The earliest job once it may start, and whether it starts early (None: closed)."""
        with self._cond:
            while True:
                while not self._closed and not self._heap:
                    self._cond.wait()
                if self._closed:
                    return None
                job = self._heap[0]
                if job.future.cancelled():
                    heapq.heappop(self._heap)
                    self.stats.cancelled += 1
                    continue
                hold = job.deadline - HOLD_S - clock()
                early = hold > 0
                if early and self._early >= max(1, self.workers - 1):
                    self._cond.wait(hold)  # until it is due, a worker frees, or a job comes
                    continue
                self._early += early
                return heapq.heappop(self._heap), early

    def _run(self) -> None:
        while (taken := self._next()) is not None:
            job, early = taken
            start = clock()
            if start > job.deadline + LATE_S:
                self.stats.late += 1
                self.stats.late_s += start - job.deadline
            try:
                result, error = job.work(), None
            except BaseException as exc:  # handed to the waiting coroutine
                result, error = None, exc
            self.stats.busy_s += clock() - start
            self.stats.jobs += 1
            if early:
                with self._cond:
                    self._early -= 1
                    self._cond.notify()
            settle(job.future, job.loop, result, error)

