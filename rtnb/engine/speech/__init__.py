"""Offline speech models for the local engine: Silero VAD, whisper ASR, piper TTS and the
Smart Turn end-of-turn model (optional).

Names are imported lazily so that importing this package loads no model or runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .asr import WhisperAsr
    from .smart_turn import SmartTurn
    from .tts import VOICES, PiperTts
    from .vad import FRAME_BYTES, FRAME_MS, SileroVad, trace

__all__ = ["FRAME_BYTES", "FRAME_MS", "VOICES", "PiperTts", "SileroVad", "SmartTurn",
           "WhisperAsr", "trace"]

_WHERE = {
    "FRAME_BYTES": "vad",
    "FRAME_MS": "vad",
    "SileroVad": "vad",
    "trace": "vad",
    "WhisperAsr": "asr",
    "PiperTts": "tts",
    "SmartTurn": "smart_turn",
    "VOICES": "tts",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
