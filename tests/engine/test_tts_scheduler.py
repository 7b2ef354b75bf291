"""The TTS scheduler: earliest deadline first, cancellation, errors, several workers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rtnb.engine.tts_scheduler import HOLD_S, TtsScheduler, clock


def blocker() -> tuple[threading.Event, threading.Event]:
    started, release = threading.Event(), threading.Event()
    return started, release


async def test_queued_jobs_run_earliest_deadline_first():
    sched = TtsScheduler(workers=1)
    started, release = blocker()
    order: list[str] = []

    def hold() -> str:
        started.set()
        release.wait(5)
        return "held"

    first = sched.submit(hold)
    await asyncio.to_thread(started.wait, 5)
    now = clock()
    # While the worker is busy: a later sentence (due in 0.2 s), another reply's first
    # sentence (due now), and a sentence due in 0.1 s, submitted in that order.
    later = sched.submit(lambda: order.append("later") or "later", now + 0.2)
    urgent = sched.submit(lambda: order.append("urgent") or "urgent", now)
    middle = sched.submit(lambda: order.append("middle") or "middle", now + 0.1)
    assert sched.pending() == 3
    release.set()
    assert await asyncio.gather(first, later, urgent, middle) == [
        "held", "later", "urgent", "middle"]
    assert order == ["urgent", "middle", "later"]
    assert sched.stats.jobs == 4
    sched.close()


async def test_jobs_not_due_yet_take_one_worker_and_leave_the_other_free():
    sched = TtsScheduler(workers=2)
    started, release = blocker()
    ran: list[tuple[str, float]] = []
    t0 = clock()
    far = t0 + 0.7 + HOLD_S  # due in 1.2 s: not due for another 0.7 s

    def early() -> None:
        started.set()
        release.wait(5)
        ran.append(("early", clock()))

    first_early = sched.submit(early, far)  # runs at once: no other job is early
    await asyncio.to_thread(started.wait, 5)
    held = sched.submit(lambda: ran.append(("held", clock())), far)
    await asyncio.sleep(0.2)
    assert ran == []  # the second worker is free, yet "held" waits: it is not due
    urgent = sched.submit(lambda: ran.append(("urgent", clock())))
    await urgent  # a first sentence gets the free worker at once
    release.set()
    await asyncio.gather(first_early, held)
    # "held" starts only once the early worker is free again (or once it is due).
    assert [name for name, _ in ran] == ["urgent", "early", "held"]
    sched.close()


async def test_one_sessions_sentences_never_wait_for_their_deadline():
    sched = TtsScheduler(workers=2)
    t0 = clock()
    got = [await sched.submit(lambda i=i: i, t0 + 10 + i) for i in range(3)]
    assert got == [0, 1, 2] and clock() - t0 < 5  # one at a time: each starts early
    sched.close()


async def test_a_cancelled_job_is_skipped_and_errors_reach_the_caller():
    sched = TtsScheduler(workers=1)
    started, release = blocker()
    ran: list[str] = []
    busy = sched.submit(lambda: (started.set(), release.wait(5)))
    await asyncio.to_thread(started.wait, 5)
    dropped = sched.submit(lambda: ran.append("dropped"))
    dropped.cancel()

    def boom() -> None:
        raise ValueError("bad voice")

    failing = sched.submit(boom)
    release.set()
    await busy
    with pytest.raises(ValueError, match="bad voice"):
        await failing
    assert ran == [] and sched.stats.cancelled == 1
    sched.close()


async def test_two_workers_run_two_jobs_at_once():
    sched = TtsScheduler(workers=2)
    both = threading.Barrier(2, timeout=5)
    # Each job waits for the other: this only finishes if both run at the same time.
    a = sched.submit(lambda: both.wait() is not None)
    b = sched.submit(lambda: both.wait() is not None)
    assert await asyncio.gather(a, b) == [True, True]
    sched.close()


async def test_close_cancels_what_waits_and_refuses_new_jobs():
    sched = TtsScheduler(workers=1)
    started, release = blocker()
    busy = sched.submit(lambda: (started.set(), release.wait(5)))
    await asyncio.to_thread(started.wait, 5)
    waiting = sched.submit(lambda: None)
    sched.close()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await busy  # the running job finishes
    with pytest.raises(RuntimeError, match="closed"):
        sched.submit(lambda: None)


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="workers"):
        TtsScheduler(workers=0)
