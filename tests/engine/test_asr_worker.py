"""The engine's one ASR worker: batching, per-session order, fairness, cancellation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rtnb.engine.asr_worker import AsrWorker, decode_batch


class FakeAsr:
    """Echoes each job's audio as text; records batches; can hold the first batch."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[bytes, str | None]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def transcribe_batch(self, jobs):
        self.started.set()
        self.gate.wait(5)
        self.batches.append(list(jobs))
        return [pcm.decode() + (f"|{prompt}" if prompt else "") for pcm, prompt in jobs]


async def hold_first_batch(worker: AsrWorker, asr: FakeAsr) -> asyncio.Future:
    """Occupy the thread so that what is submitted next queues up together."""
    asr.gate.clear()
    first = worker.submit("warm", b"warm")
    await asyncio.to_thread(asr.started.wait, 5)
    return first


def test_requests_from_several_sessions_share_one_batch_in_order():
    async def main():
        asr = FakeAsr()
        worker = AsrWorker(lambda: asr)
        first = await hold_first_batch(worker, asr)
        futures = {s: [worker.submit(s, f"{s}{i}".encode()) for i in range(3)]
                   for s in ("a", "b", "c")}
        asr.gate.set()
        await first
        results = {s: [await f for f in fs] for s, fs in futures.items()}
        worker.close()
        return asr.batches, results

    batches, results = asyncio.run(main())
    assert results == {s: [f"{s}{i}" for i in range(3)] for s in "abc"}
    later = [[pcm.decode() for pcm, _ in b] for b in batches[1:]]
    # One request per session per batch, each session's in order, all sessions together.
    assert later == [["a0", "b0", "c0"], ["a1", "b1", "c1"], ["a2", "b2", "c2"]]


def test_a_busy_session_does_not_starve_another():
    async def main():
        asr = FakeAsr()
        worker = AsrWorker(lambda: asr, max_batch=2)
        first = await hold_first_batch(worker, asr)
        busy = [worker.submit("busy", f"x{i}".encode()) for i in range(6)]
        quiet = worker.submit("quiet", b"q")
        asr.gate.set()
        await asyncio.gather(first, quiet, *busy)
        worker.close()
        return asr.batches

    batches = asyncio.run(main())
    position = next(i for i, b in enumerate(batches) if (b"q", None) in b)
    assert position == 1  # the very next batch, not after the six others


def test_cancelled_requests_are_skipped_and_prompts_pass_through():
    async def main():
        asr = FakeAsr()
        worker = AsrWorker(lambda: asr)
        first = await hold_first_batch(worker, asr)
        stale = worker.submit("s", b"stale")
        kept = worker.submit("s", b"kept", "before")
        stale.cancel()
        asr.gate.set()
        await first
        text = await kept
        worker.close()
        return asr.batches, text, worker.stats

    batches, text, stats = asyncio.run(main())
    assert text == "kept|before"
    assert all(pcm != b"stale" for b in batches for pcm, _ in b)
    assert stats.cancelled == 1


def test_a_failing_batch_reaches_every_waiting_session():
    class Broken:
        def transcribe_batch(self, jobs):
            raise RuntimeError("model fell over")

    async def main():
        worker = AsrWorker(Broken)
        futures = [worker.submit(s, b"x") for s in "ab"]
        out = await asyncio.gather(*futures, return_exceptions=True)
        worker.close()
        return out

    out = asyncio.run(main())
    assert all(isinstance(e, RuntimeError) for e in out)


def test_parts_without_a_batch_method_are_called_one_by_one():
    class Single:
        def transcribe(self, pcm):
            return pcm.decode().upper()

    assert decode_batch(Single(), [(b"a", None), (b"b", None)]) == ["A", "B"]


def test_closed_worker_refuses_and_cancels_queued():
    async def main():
        asr = FakeAsr()
        worker = AsrWorker(lambda: asr)
        first = await hold_first_batch(worker, asr)
        queued = worker.submit("s", b"q")
        worker.close()
        asr.gate.set()
        await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError):
            worker.submit("s", b"late")
        await asyncio.gather(first, return_exceptions=True)
        return queued

    assert asyncio.run(main()).cancelled()
