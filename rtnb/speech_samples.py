"""Synthetic user speech for notebooks and examples: type what a person would say.

The local engine's own offline voice (Piper) speaks the text, so no microphone, network
or API key is needed. Everything is 24 kHz mono PCM16, the Realtime API's audio format,
ready for :meth:`rtnb.Session.send_audio`::

    from rtnb.speech_samples import speak, silence, play

    pcm = speak("What's the weather in Paris?", tail_ms=800)   # speech + 0.8 s of silence
    await session.send_audio(pcm)
    play(pcm)                                                   # listen in the notebook

The ten OpenAI voice names (``alloy``, ``echo``, ``shimmer``, ...) are variations of one
neural voice. Results are cached in memory, so asking twice costs nothing.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

RATE = 24000
"""Samples per second of everything here (the Realtime API's PCM rate)."""

SAMPLE_WAV = Path(__file__).resolve().parent / "samples" / "question.wav"
"""A spoken question to try audio input with: "What's the weather in Tokyo?".

16 kHz mono PCM16 (so it also shows resampling), 0.3 s of silence before and 1 s after
(enough for server VAD to end the turn). Made with ``speak(..., voice="echo",
lead_ms=300, tail_ms=1000)`` resampled to 16 kHz.
"""


def voices() -> list[str]:
    """The voice names :func:`speak` accepts."""
    from .engine.speech.tts import VOICES

    return list(VOICES)


@functools.lru_cache(maxsize=256)
def _synthesize(text: str, voice: str, speed: float) -> bytes:
    from .engine.parts import default_tts

    return b"".join(pcm for _sentence, pcm in default_tts().synthesize(text, voice=voice,
                                                                         speed=speed))


def speak(text: str, voice: str = "alloy", *, speed: float = 1.0, lead_ms: float = 0,
          tail_ms: float = 0) -> bytes:
    """``text`` spoken by ``voice`` as 24 kHz PCM16 bytes.

    ``lead_ms``/``tail_ms`` add silence before and after. With server VAD a turn ends
    only after ``silence_duration_ms`` (500 ms by default) of quiet, so give a spoken
    turn a tail of about 800 ms (or keep streaming silence yourself).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("speak() needs some text")
    if not 0.25 <= speed <= 4.0:
        raise ValueError("speed must be between 0.25 and 4.0")
    pcm = _synthesize(text.strip(), voice, float(speed))
    return silence(lead_ms) + pcm + silence(tail_ms)


def silence(ms: float) -> bytes:
    """``ms`` milliseconds of digital silence (24 kHz PCM16)."""
    if ms < 0:
        raise ValueError("silence needs a duration >= 0 ms")
    return bytes(2 * round(RATE * ms / 1000))


def join(*parts: bytes | float | int) -> bytes:
    """Concatenate PCM16 pieces; a number stands for that many ms of silence.

    ``join(speak("Hi."), 1200, speak("Are you there?"), 800)``
    """
    out = bytearray()
    for part in parts:
        out += silence(part) if isinstance(part, (int, float)) else bytes(part)
    return bytes(out)


def duration_ms(pcm: bytes) -> float:
    """How long 24 kHz PCM16 audio lasts, in milliseconds."""
    return len(pcm) / (2 * RATE) * 1000


def play(pcm: bytes | bytearray | Any, rate: int = RATE, *, autoplay: bool = False) -> Any:
    """An inline audio player (``IPython.display.Audio``) for PCM16 bytes or a float array."""
    import numpy as np
    from IPython.display import Audio

    if isinstance(pcm, (bytes, bytearray, memoryview)):
        data = np.frombuffer(bytes(pcm), dtype=np.int16)
    else:
        data = np.asarray(pcm)
    if data.size == 0:
        data = np.zeros(1, dtype=np.int16)
    return Audio(data, rate=rate, autoplay=autoplay)
