"""Synthetic test speech made with the offline piper voice, cached on disk, plus a WER helper."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rtnb.engine.speech.tts import PiperTts

PHRASES = [
    "Hello, can you hear me?",
    "What's the weather in Paris today?",
    "My phone number is 555 123 4567.",
    "I want to return my snowboard.",
    "Please transfer me to billing.",
    "Can I book a table for two at seven tonight?",
    "Cancel my order, please.",
    "What time does the store close?",
    "I'd like to speak to a real person.",
    "Yes, that's correct.",
    "No thanks, that's all for today.",
    "How much is a train ticket to Boston?",
]

#: Numbers and very short utterances: where short Whisper windows go wrong first.
NUMBER_PHRASES = [
    "My order number is 58213.",
    "Call me back at 202 555 0173.",
    "I need 3 tickets for the 7 15 show.",
    "My zip code is 94110.",
    "Room 1204, please.",
    "It was 19 degrees on the 21st.",
]
SHORT_PHRASES = ["Yes.", "No.", "Thanks.", "Stop.", "Sure, go ahead.", "Two."]
#: Sentences with the words spoken before a mid-sentence pause (see :func:`paused`): the
#: prefix alone is unfinished ("I want to return my ...").
PAUSED = [
    ("I want to return my snowboard.", "I want to return my"),
    ("Can I book a table for two at seven tonight?", "Can I book a table for"),
    ("How much is a train ticket to Boston?", "How much is a train ticket to"),
    ("Please transfer me to billing.", "Please transfer me to"),
    ("What's the weather in Paris today?", "What's the weather in"),
    ("I'd like to speak to a real person.", "I'd like to speak to"),
    ("My phone number is 555 123 4567.", "My phone number is"),
    ("What time does the store close?", "What time does the"),
    ("No thanks, that's all for today.", "No thanks, that's all for"),
    ("I need to change the delivery address for my order.", "I need to change the"),
    ("Could you tell me how much the premium plan costs?", "Could you tell me how much the"),
    ("Cancel my order, please.", "Cancel my"),
]

CACHE_DIR = Path(os.environ.get("RTNB_SPEECH_CACHE") or Path(tempfile.gettempdir()) / "rtnb-speech")
_VERSION = "piper-joe-medium/3"  # bump to invalidate cached audio
_tts: PiperTts | None = None
_lock = threading.Lock()


def engine() -> PiperTts:
    global _tts
    with _lock:
        if _tts is None:
            from rtnb.engine.speech.tts import PiperTts

            _tts = PiperTts()
        return _tts


def utterance(text: str, voice: str = "alloy", speed: float = 1.0) -> bytes:
    """24 kHz PCM16 of ``text`` spoken by ``voice``, synthesized once and cached on disk."""
    key = hashlib.sha256(f"{_VERSION}|{voice}|{speed}|{text}".encode()).hexdigest()[:24]
    path = CACHE_DIR / f"{key}.pcm"
    if path.is_file():
        return path.read_bytes()
    pcm = b"".join(chunk for _, chunk in engine().synthesize(text, voice=voice, speed=speed))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(pcm)
    os.replace(tmp, path)
    return pcm


def with_silence(pcm: bytes, lead_ms: float, tail_ms: float) -> bytes:
    """Pad 24 kHz PCM16 with digital silence before and after."""
    return bytes(2 * round(24 * lead_ms)) + pcm + bytes(2 * round(24 * tail_ms))


def trim(pcm: bytes, level: float = 0.01) -> bytes:
    """Cut the synthesizer's own leading and trailing silence."""
    import numpy as np

    from rtnb.audio import to_float

    x = np.abs(to_float(pcm))
    idx = np.flatnonzero(x > level)
    return pcm[2 * idx[0]:2 * (idx[-1] + 1)]


def two_utterances() -> tuple[bytes, float]:
    """Two utterances with a 400 ms pause between them, and the first one's length (ms)."""
    a = trim(utterance("I want to return my snowboard."))
    b = trim(utterance("What time does the store close?"))
    return with_silence(a, 600, 400) + with_silence(b, 0, 1500), len(a) / 48


def paused(text: str, prefix: str, pause_ms: float, voice: str = "alloy") -> tuple[bytes, float]:
    """``text`` spoken in one go, with ``pause_ms`` of silence spliced in after ``prefix``.

    Like :func:`rtnb.speech_samples.pause_after` (the sentence is synthesised whole; the cut
    is at Whisper's word boundary, moved to the quietest 5 ms nearby), with the voice and
    the cut cached on disk. Returns 24 kHz PCM16 and where the pause starts (ms).
    """
    import json

    if not text.startswith(prefix):
        raise ValueError(f"{prefix!r} does not start {text!r}")
    pcm = utterance(text, voice)
    key = hashlib.sha256(f"{_VERSION}|cut|{voice}|{text}|{prefix}".encode()).hexdigest()[:24]
    path = CACHE_DIR / f"{key}.json"
    if path.is_file():
        cut_ms = json.loads(path.read_text())["cut_ms"]
    else:
        from rtnb.speech_samples import word_end_ms

        cut_ms = word_end_ms(pcm, len(prefix.split()))
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"cut_ms": cut_ms}))
        os.replace(tmp, path)
    cut = 2 * round(24 * cut_ms)
    return pcm[:cut] + bytes(2 * round(24 * pause_ms)) + pcm[cut:], cut_ms
