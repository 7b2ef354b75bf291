"""One ASR worker for the whole engine: a thread that batches every session's requests.

Sessions submit audio from the event loop and get an :class:`asyncio.Future` back. The
thread takes whatever is waiting when it is free and decodes it in one batched call
(``asr.transcribe_batch``), so requests that arrive together from several sessions share
one ``generate``. Each session's requests wait in their own FIFO queue; a batch takes at
most one request from each session, oldest first, so a session's results come back in order
and a busy session cannot starve another. A cancelled future is skipped if its request has
not started yet.

A request may ask for the transcript's token log probabilities (``logprobs=True``); its
future then resolves to a :class:`Heard` instead of the text.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .futures import settle

log = logging.getLogger("rtnb.engine")

#: Most requests decoded in one batch.
MAX_BATCH = 8


@dataclass
class _Request:
    owner: Hashable
    audio: bytes
    prompt: str | None
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    logprobs: bool = False
    queued_at: float = field(default_factory=time.perf_counter)


class Heard(NamedTuple):
    """A transcript with its tokens' ``(text, logprob)`` (None: the ASR cannot give them)."""

    text: str
    logprobs: list[tuple[str, float]] | None


@dataclass
class WorkerStats:
    """Counters since the worker started (read them from any thread)."""

    batches: int = 0
    requests: int = 0
    cancelled: int = 0
    largest_batch: int = 0
    busy_s: float = 0.0


def decode_batch(asr: Any, jobs: list[tuple[bytes, str | None]], logprobs: bool = False
                 ) -> list[str] | list[Heard]:
    """Texts of ``(24 kHz PCM16, prompt)`` jobs: one batched call when the ASR has one.

    ``logprobs``: :class:`Heard` results, with log probabilities when the ASR has
    ``transcribe_batch_logprobs``.
    """
    if logprobs:
        with_lp = getattr(asr, "transcribe_batch_logprobs", None)
        if with_lp is not None:
            return [Heard(text, lp) for text, lp in with_lp(jobs)]
        return [Heard(text, None) for text in decode_batch(asr, jobs)]
    batch = getattr(asr, "transcribe_batch", None)
    if batch is not None:
        return list(batch(jobs))
    return [asr.transcribe(pcm, prompt) if prompt else asr.transcribe(pcm) for pcm, prompt in jobs]


class AsrWorker:
    """Decodes requests from every session of an engine on one thread, in batches.

    ``asr`` returns the ASR part (``transcribe_batch`` or ``transcribe``) to use.
    """

    def __init__(self, asr: Callable[[], Any], max_batch: int = MAX_BATCH) -> None:
        self._asr = asr  # looked up per batch: the engine's part may be swapped (tracing)
        self.max_batch = max_batch
        self.stats = WorkerStats()
        self._queues: dict[Hashable, deque[_Request]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, owner: Hashable, audio: bytes, prompt: str | None = None,
               logprobs: bool = False) -> asyncio.Future:
        """Queue ``audio`` (24 kHz PCM16) for ``owner``; the future resolves to its text
        (a :class:`Heard` with ``logprobs``)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the ASR worker is closed")
            self._queues.setdefault(owner, deque()).append(
                _Request(owner, audio, prompt, future, loop, logprobs))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rtnb-asr", daemon=True)
                self._thread.start()
            self._cond.notify()
        return future

    def pending(self, owner: Hashable | None = None) -> int:
        with self._cond:
            queues = self._queues.values() if owner is None else [self._queues.get(owner, ())]
            return sum(len(q) for q in queues)

    def close(self) -> None:
        """Stop the thread after the current batch; queued requests are cancelled."""
        with self._cond:
            self._closed = True
            left = [r for q in self._queues.values() for r in q]
            self._queues.clear()
            self._cond.notify()
        for r in left:
            settle(r.future, r.loop, cancel=True)

    def _take(self) -> list[_Request]:
        """The next batch: the head of each session's queue, oldest first (lock held)."""
        batch: list[_Request] = []
        for owner in sorted(self._queues, key=lambda o: self._queues[o][0].queued_at):
            queue = self._queues[owner]
            while queue and queue[0].future.cancelled():
                queue.popleft()
                self.stats.cancelled += 1
            if queue and len(batch) < self.max_batch:
                batch.append(queue.popleft())
        for owner in [o for o, q in self._queues.items() if not q]:
            del self._queues[owner]
        return batch

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._queues:
                    self._cond.wait()
                if self._closed:
                    return
                batch = self._take()
            if not batch:
                continue
            t0 = time.perf_counter()
            asr = self._asr()
            results: list[tuple[_Request, Any, BaseException | None]] = []
            for group in (g for g in ([r for r in batch if not r.logprobs],
                                      [r for r in batch if r.logprobs]) if g):
                try:
                    texts: list[Any] = list(decode_batch(
                        asr, [(r.audio, r.prompt) for r in group], group[0].logprobs))
                    error = None
                except Exception as exc:  # reported to every waiting session
                    log.exception("ASR batch failed")
                    texts, error = [None] * len(group), exc
                results += [(r, text, error) for r, text in zip(group, texts, strict=True)]
            self.stats.busy_s += time.perf_counter() - t0
            self.stats.batches += 1
            self.stats.requests += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            for r, text, error in results:
                settle(r.future, r.loop, text, error)

