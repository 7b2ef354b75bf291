"""The default parts of the engine: Silero VAD, Whisper tiny.en, Piper, the rule brain,
and Smart Turn v3.2 for semantic_vad when it is installed (``rtnb[turn]``).

Models are loaded once per process and shared by every engine and session.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from typing import Any


@functools.lru_cache(maxsize=1)
def default_asr() -> Any:
    from .speech.asr import WhisperAsr

    with warnings.catch_warnings():
        # faster-whisper imports huggingface_hub, which imports tqdm.auto; in a kernel
        # without ipywidgets that warns "IProgress not found", about progress bars rtnb
        # never shows (the model is a local directory). The panel says what is missing.
        warnings.filterwarnings("ignore", message="IProgress not found")
        asr = WhisperAsr()
    asr.warmup()
    return asr


@functools.lru_cache(maxsize=1)
def default_tts() -> Any:
    from .speech.tts import PiperTts

    tts = PiperTts()
    tts.warmup()
    return tts


@functools.lru_cache(maxsize=1)
def default_turn_model() -> Any:
    """Smart Turn v3.2, or ``None`` when pipecat-ai (which ships it) is not installed."""
    from .speech import smart_turn

    if not smart_turn.available():
        return None
    model = smart_turn.SmartTurn()
    model.warmup()
    return model


def vad_factory() -> Any:
    from .speech.vad import SileroVad

    return SileroVad()


def build_engine(cls: Any, *, brain: Any = None, token: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Any:
    """The engine with the shared models; a brain with an endpoint is checked first.

    An unreachable brain endpoint is reported through ``progress`` (else as a
    ``RuntimeWarning``) before the models load; the engine still starts.
    """
    from .auth import Auth
    from .brain import check_endpoint, make_brain

    if brain is None or isinstance(brain, str):
        brain = make_brain(brain)
    problem = check_endpoint(brain)
    if problem is not None:
        warn = progress or (lambda msg: warnings.warn(msg, RuntimeWarning, stacklevel=4))
        warn(f"warning: {problem}; every response will fail until it answers")
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    say("loading VAD (Silero v6)")
    vad_factory().process(b"\x00" * 3072)
    say("loading ASR (Whisper tiny.en)")
    asr = default_asr()
    say("loading TTS (Piper, joe medium)")
    tts = default_tts()
    say("loading the end-of-turn model (Smart Turn v3.2)")
    turn_model = default_turn_model()
    if turn_model is None:
        say("end-of-turn model not installed: semantic_vad uses silence windows alone")
    say(f"models ready in {time.perf_counter() - t0:.1f}s")
    return cls(brain=brain, asr=asr, tts=tts, vad_factory=vad_factory, turn_model=turn_model,
               auth=Auth(token))
