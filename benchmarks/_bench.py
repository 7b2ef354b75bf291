"""Small shared pieces for the synchronous / non-protocol benchmarks.

``_realtime.CpuMonitor`` samples ``/proc/stat`` from an asyncio task. The scripts here that
time plain function calls (VAD, import, client overhead) need the same numbers without a
running loop: :class:`Contention` takes two snapshots around a measured span, and
:func:`wait_quiet` blocks (bounded) until other processes leave the CPUs alone.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _realtime import ROOT, CpuMonitor, now

_MON = CpuMonitor()


def foreign_share(a: tuple[float, float, float, float],
                  b: tuple[float, float, float, float]) -> float | None:
    """Share (0..1) of all CPUs used by other processes (or stolen) between two snapshots."""
    span = b[1] - a[1]
    if span <= 0:
        return None
    return max(0.0, min(1.0, ((b[2] - a[2]) - (b[3] - a[3])) / span))


def snapshot() -> tuple[float, float, float, float]:
    return _MON.snapshot()


def sample_share(window: float = 0.5) -> float | None:
    """Other processes' CPU share over the next ``window`` seconds (this process idles)."""
    a = snapshot()
    time.sleep(window)
    return foreign_share(a, snapshot())


def wait_quiet(limit_pct: float, max_wait: float, window: float = 1.0) -> tuple[float, float]:
    """Block until others use < ``limit_pct`` % over ``window`` s, or ``max_wait`` s passed.

    Returns ``(seconds waited, the last share in %)``.
    """
    t0 = now()
    share = sample_share(window)
    while (share is None or 100 * share >= limit_pct) and now() - t0 < max_wait:
        share = sample_share(window)
    return now() - t0, round(100 * (share or 0.0), 1)


class Contention:
    """``with Contention() as c: ...`` then ``c.pct``: others' CPU share over the block (%)."""

    def __init__(self) -> None:
        self.pct: float | None = None

    def __enter__(self) -> Contention:
        self._a = snapshot()
        return self

    def __exit__(self, *exc: Any) -> None:
        share = foreign_share(self._a, snapshot())
        self.pct = None if share is None else round(100 * share, 1)


def rss_mb() -> dict[str, float]:
    """This process's resident set size now and at its peak (``VmRSS``/``VmHWM``), in MB."""
    out = {"rss_mb": 0.0, "peak_rss_mb": 0.0}
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("VmHWM:"):
                out["peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    return out


def git_rev() -> str:
    """Short commit of the working tree (``+dirty`` when it has changes)."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty.strip() else "")


@contextlib.contextmanager
def cpu_timer() -> Iterator[dict[str, float]]:
    """Wall and process-CPU seconds of a block: ``with cpu_timer() as t: ...; t['cpu']``."""
    out: dict[str, float] = {}
    w, c = time.perf_counter(), time.process_time()
    try:
        yield out
    finally:
        out["wall"] = time.perf_counter() - w
        out["cpu"] = time.process_time() - c


def speech_60s(seconds: float = 60.0, seed: int = 7) -> tuple[bytes, list[tuple[float, float]]]:
    """About ``seconds`` of synthetic speech (piper, cached) with pauses of 0.2–2.0 s.

    Returns 24 kHz PCM16 and the ``(start_ms, end_ms)`` of each utterance.
    """
    import numpy as np
    from _realtime import VOICES

    from tests import speechgen

    rng = np.random.default_rng(seed)
    pcm = bytearray()
    spans: list[tuple[float, float]] = []
    i = 0
    target = int(seconds * 48_000)
    while len(pcm) < target:
        text = speechgen.PHRASES[i % len(speechgen.PHRASES)]
        voice = VOICES[(i // len(speechgen.PHRASES) + i) % len(VOICES)]
        pause = float(rng.uniform(0.2, 2.0))
        pcm += bytes(2 * round(24_000 * pause))
        u = speechgen.utterance(text, voice)
        spans.append((len(pcm) / 48, (len(pcm) + len(u)) / 48))
        pcm += u
        i += 1
    return bytes(pcm[:target]), [s for s in spans if s[1] <= target / 48]


def results_path(name: str) -> Path:
    from _realtime import RESULTS

    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / name


def paired_right(ours: list[bool], reference: list[bool]) -> dict[str, Any]:
    """Two recognizers on the same utterances: how many each heard right, how many only
    ``ours`` heard right ("better") and only the reference ("worse"), and McNemar's exact
    p (the two-sided sign test on those discordant pairs)."""
    better = sum(a and not b for a, b in zip(ours, reference, strict=True))
    worse = sum(b and not a for a, b in zip(ours, reference, strict=True))
    n, k = better + worse, min(better, worse)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
    return {"right": sum(ours), "reference_right": sum(reference), "utterances": len(ours),
            "better": better, "worse": worse, "p": round(p, 3)}
