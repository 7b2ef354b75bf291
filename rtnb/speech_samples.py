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


def pause_after(text: str, prefix: str, pause_ms: float = 1000, voice: str = "alloy") -> bytes:
    """``text`` spoken in one go, with ``pause_ms`` of silence spliced in after ``prefix``.

    A person hesitating mid-sentence: ``pause_after("I want to return my snowboard.",
    "I want to return my")``. The whole sentence is synthesised first, so the words
    before the pause keep the intonation of an unfinished sentence.
    """
    if not text.startswith(prefix) or not prefix.strip():
        raise ValueError(f"{prefix!r} must begin {text!r}")
    pcm = speak(text, voice)
    cut = 2 * round(RATE * word_end_ms(pcm, len(prefix.split())) / 1000)
    return pcm[:cut] + silence(pause_ms) + pcm[cut:]


def word_end_ms(pcm: bytes, words: int) -> float:
    """Where word number ``words`` of 24 kHz PCM16 speech ends (ms).

    Between Whisper's timestamps of that word and the next, moved to the quietest 5 ms
    within 60 ms, so a pause spliced in there cuts no sound.
    """
    import numpy as np

    from .audio import load_audio

    segments, _ = _word_model().transcribe(
        load_audio(bytes(pcm), rate=16000), language="en", beam_size=1, temperature=0.0,
        word_timestamps=True, condition_on_previous_text=False)
    found = [w for s in segments for w in (s.words or [])]
    if not 0 < words < len(found):
        raise ValueError(f"Whisper heard {len(found)} words; cannot cut after {words}")
    around = 500.0 * (found[words - 1].end + found[words].start)
    x = np.frombuffer(bytes(pcm), "<i2").astype(np.float32)
    step = RATE // 200  # 5 ms
    lo = max(0, int(RATE * (around - 60) / 1000) // step)
    hi = min(len(x) // step - 1, int(RATE * (around + 60) / 1000) // step)
    energy = [float(np.square(x[i * step:(i + 1) * step]).mean()) for i in range(lo, hi + 1)]
    return (lo + int(np.argmin(energy))) * step * 1000 / RATE


@functools.lru_cache(maxsize=1)
def _word_model() -> Any:
    from faster_whisper import WhisperModel

    from .engine.speech.asr import default_model_dir

    return WhisperModel(str(default_model_dir()), device="cpu", compute_type="int8",
                        cpu_threads=1, local_files_only=True)


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
