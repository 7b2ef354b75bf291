"""The server-side output audio buffer of a WebRTC call, sans-I/O.

Over WebRTC the server plays the assistant's audio to the caller, so it knows
what was heard: responses push 24 kHz PCM16 as fast as TTS makes it, the media
track pulls one 20 ms frame per 20 ms of wall time, and the buffer counts what
each item has played. It reports the ``output_audio_buffer.*`` lifecycle
(started, stopped, cleared) as :class:`BufferEvent` values; the I/O layer turns
them into server events. No clocks here: the caller's pulls are the clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

#: 24 kHz PCM16: bytes per millisecond, and one 20 ms frame.
BYTES_PER_MS = 48
FRAME_BYTES = 20 * BYTES_PER_MS


@dataclass(frozen=True)
class BufferEvent:
    """``output_audio_buffer.<kind>`` for ``response_id``."""

    kind: Literal["started", "stopped", "cleared"]
    response_id: str


@dataclass(frozen=True)
class Cut:
    """Audio of ``item_id`` that was dropped unplayed: truncate it at ``played_ms``."""

    item_id: str
    played_ms: float


@dataclass
class _Segment:
    response_id: str
    item_id: str
    pcm: bytearray
    offset: int = 0  # bytes of ``pcm`` already played


@dataclass
class Playout:
    """Queued assistant audio, played in order, one frame per :meth:`pull`."""

    _queue: deque[_Segment] = field(default_factory=deque)
    #: Bytes played so far, per item (the item's played position).
    _played: dict[str, int] = field(default_factory=dict)
    #: Responses that will push no more audio (done, cancelled or cleared).
    _finished: set[str] = field(default_factory=set)
    #: Items whose unplayed audio was dropped: later audio for them is ignored.
    _cut: set[str] = field(default_factory=set)
    #: The response whose audio is playing (``started`` sent, ``stopped`` not yet).
    playing: str | None = None

    def push(self, response_id: str, item_id: str, pcm: bytes) -> None:
        """Queue audio of an assistant item (appended to its previous chunk)."""
        if not pcm or response_id in self._finished or item_id in self._cut:
            return
        tail = self._queue[-1] if self._queue else None
        if tail is not None and tail.item_id == item_id and tail.response_id == response_id:
            tail.pcm += pcm
        else:
            self._queue.append(_Segment(response_id, item_id, bytearray(pcm)))
            self._played.setdefault(item_id, 0)

    def finish(self, response_id: str) -> list[BufferEvent]:
        """The response ended normally: once its queued audio has played, it stops."""
        self._finished.add(response_id)
        return self._stop_if_drained()

    @property
    def buffered_ms(self) -> float:
        """Queued audio not played yet."""
        return sum(len(s.pcm) - s.offset for s in self._queue) / BYTES_PER_MS

    def played_ms(self, item_id: str) -> float:
        """How much of an item's audio has played."""
        return self._played.get(item_id, 0) / BYTES_PER_MS

    def pull(self, n: int = FRAME_BYTES) -> tuple[bytes, list[BufferEvent]]:
        """The next ``n`` bytes to play (silence-padded) and the lifecycle events they cause."""
        events: list[BufferEvent] = []
        out = bytearray()
        while len(out) < n and self._queue:
            seg = self._queue[0]
            if self.playing != seg.response_id:
                if self.playing is not None:
                    events.append(BufferEvent("stopped", self.playing))
                self.playing = seg.response_id
                events.append(BufferEvent("started", seg.response_id))
            take = seg.pcm[seg.offset:seg.offset + n - len(out)]
            out += take
            seg.offset += len(take)
            self._played[seg.item_id] = self._played.get(seg.item_id, 0) + len(take)
            if seg.offset >= len(seg.pcm):
                self._queue.popleft()
        events.extend(self._stop_if_drained())
        out += bytes(n - len(out))
        return bytes(out), events

    def clear(self, response_id: str | None = None, item_id: str | None = None
              ) -> tuple[list[BufferEvent], list[Cut]]:
        """Drop unplayed audio: all of it, one response's, or one item's.

        Returns a ``cleared`` event for each response that lost audio (none when
        nothing was queued or playing) and, for each item that lost audio, where
        it stopped playing.
        """
        everything = response_id is None and item_id is None
        kept: deque[_Segment] = deque()
        cut: dict[str, str] = {}  # item → its response, in queue order
        for seg in self._queue:
            if (response_id in (None, seg.response_id)) and (item_id in (None, seg.item_id)):
                cut.setdefault(seg.item_id, seg.response_id)
            else:
                kept.append(seg)
        self._queue = kept
        self._cut.update(cut)
        if item_id is not None:
            self._cut.add(item_id)
        responses = list(dict.fromkeys(cut.values()))
        playing = self.playing
        if playing is not None and (everything or playing == response_id or (
                playing in responses and not any(s.response_id == playing for s in kept))):
            if playing not in responses:
                responses.insert(0, playing)
            self.playing = None
        if everything or response_id is not None:
            self._finished.update(responses)
        if response_id is not None:
            self._finished.add(response_id)
        return ([BufferEvent("cleared", r) for r in responses],
                [Cut(item, self.played_ms(item)) for item in cut])

    def _stop_if_drained(self) -> list[BufferEvent]:
        rid = self.playing
        if rid is None or rid not in self._finished:
            return []
        if any(s.response_id == rid for s in self._queue):
            return []
        self.playing = None
        return [BufferEvent("stopped", rid)]
