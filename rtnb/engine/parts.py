"""The default parts of the engine: Silero VAD, Whisper tiny.en, Piper, the rule brain.

Models are loaded once per process and shared by every engine and session.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any


@functools.lru_cache(maxsize=1)
def default_asr() -> Any:
    from .speech.asr import WhisperAsr

    asr = WhisperAsr()
    asr.warmup()
    return asr


@functools.lru_cache(maxsize=1)
def default_tts() -> Any:
    from .speech.tts import PiperTts

    tts = PiperTts()
    tts.warmup()
    return tts


def vad_factory() -> Any:
    from .speech.vad import SileroVad

    return SileroVad()


def build_engine(cls: Any, *, brain: Any = None, token: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Any:
    from .auth import Auth
    from .brain import make_brain

    say = progress or (lambda _msg: None)
    if brain is None or isinstance(brain, str):
        brain = make_brain(brain)
    t0 = time.perf_counter()
    say("loading VAD (Silero v6)")
    vad_factory().process(b"\x00" * 3072)
    say("loading ASR (Whisper tiny.en)")
    asr = default_asr()
    say("loading TTS (Piper, joe medium)")
    tts = default_tts()
    say(f"models ready in {time.perf_counter() - t0:.1f}s")
    return cls(brain=brain, asr=asr, tts=tts, vad_factory=vad_factory, auth=Auth(token))
