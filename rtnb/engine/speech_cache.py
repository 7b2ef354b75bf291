"""Synthesized sentences kept for reuse: a templated brain says the same ones again.

The rule brain answers many turns with the same sentences ("I'm a simple offline engine,
so I can't answer that myself.", "Are you still there?"). The engine keeps the audio of
recent sentences, by text, voice and speed, up to :data:`MAX_BYTES` (least recently used
first out), so a sentence said before starts at once and costs no CPU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

#: Audio kept at most (bytes of 24 kHz PCM16: 16 MB is about 5.8 minutes).
MAX_BYTES = 16 * 1024 * 1024

Key = tuple[str, str, float]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class SentenceCache:
    """Least-recently-used audio of sentences, bounded in bytes. Thread-safe."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._items: OrderedDict[Key, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, sentence: str, voice: str, speed: float) -> bytes | None:
        key = (sentence, voice, speed)
        with self._lock:
            pcm = self._items.get(key)
            if pcm is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return pcm

    def put(self, sentence: str, voice: str, speed: float, pcm: bytes) -> None:
        if len(pcm) > self.max_bytes:
            return
        key = (sentence, voice, speed)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = pcm
            self._bytes += len(pcm)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
