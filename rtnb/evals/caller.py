"""Simulated callers: what a suite's turn sounds like, and how it is said to the session.

Audio mode speaks each line with the offline TTS (:func:`rtnb.speak`) in the turn's voice
and speed, adds background noise at ``noise_db`` SNR (seeded, so a run is repeatable),
and streams it paced in real time to the session's server VAD. Text mode types it.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..session import Session
    from .suite import Turn

#: Silence before and after each spoken line: the tail lets server VAD end the turn
#: (its 500 ms silence window plus a margin).
LEAD_MS, TAIL_MS = 200, 1000


def with_noise(pcm: bytes, snr_db: float, seed: int) -> bytes:
    """``pcm`` (PCM16) plus white noise at ``snr_db`` below the speech's RMS level."""
    import numpy as np

    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    voiced = x[np.abs(x) > 0]
    level = float(np.sqrt(np.mean(voiced ** 2))) if voiced.size else 0.0
    noise_rms = level / (10 ** (snr_db / 20))
    noise = np.random.default_rng(seed).normal(0.0, noise_rms, x.size)
    return np.clip(np.round(x + noise), -32768, 32767).astype("<i2").tobytes()


def utterance(turn: Turn, voice: str, seed_text: str = "") -> bytes:
    """The turn's line as 24 kHz PCM16: spoken, padded with silence, noise added."""
    from ..speech_samples import speak

    pcm = speak(turn.say, voice, speed=turn.speed, lead_ms=LEAD_MS, tail_ms=TAIL_MS)
    if turn.noise_db is not None:
        pcm = with_noise(pcm, turn.noise_db, zlib.crc32(f"{seed_text}|{turn.say}".encode()))
    return pcm


async def say_turn(session: Session, mode: str, turn: Turn, pcm: bytes | None = None) -> None:
    """Say one line: typed in text mode; in audio mode ``pcm`` (see :func:`utterance`)
    streamed paced like a microphone."""
    if mode == "text":
        await session.say(turn.say)
    else:
        assert pcm is not None, "audio mode needs the line's audio"
        await session.send_audio(pcm, paced=True)


async def first_audio_after(session: Session, start: int, timeout: float) -> None:
    """Wait for the first reply audio logged at or after entry ``start``."""
    from .. import events as ev

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = start
    while True:
        entries = session.log.entries
        if any(e.type == ev.AUDIO_DELTA for e in entries[seen:]):
            return
        seen = len(entries)
        if loop.time() > deadline:
            raise TimeoutError(f"no reply audio within {timeout:g}s")
        await asyncio.sleep(0.01)
