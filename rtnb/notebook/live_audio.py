"""Two-way live audio in the browser, as an anywidget.

The browser streams the mic as 20 ms PCM16 frames at 24 kHz and plays the
assistant's audio back to back, reporting how far it got. With current
JupyterLab, widget messages arrive on another thread, so frames are handed to
the session's event loop with ``call_soon_threadsafe``, never touching its
queues directly.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..session.playback import ClockPlayer


class LiveAudio(anywidget.AnyWidget):
    """Mic capture and speaker playback. Also a player for :class:`rtnb.Session`."""

    _esm = Path(__file__).with_name("live_audio.js")
    _css = Path(__file__).with_name("live_audio.css")
    capturing = traitlets.Bool(False).tag(sync=True)
    playback = traitlets.Bool(True).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._sink: Callable[[bytes], None] | None = None
        self._position: tuple[str | None, float, float] = (None, 0.0, 0.0)  # item, ms, at
        self._flushed = threading.Event()
        self._queued_s = 0.0
        self._queue_end = 0.0
        self.level = 0.0
        self.frames = 0
        self.up_delays: deque[float] = deque(maxlen=500)
        self.down_delays: deque[float] = deque(maxlen=500)
        self.errors: list[str] = []
        self._clock = ClockPlayer(time.monotonic)
        self.on_msg(self._on_msg)

    # -- from the browser (any thread) -------------------------------------------------------

    def connect(self, sink: Callable[[bytes], None]) -> None:
        """Send each captured frame to ``sink`` (called from the widget's thread)."""
        self._sink = sink

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type")
        if kind == "audio" and buffers:
            self.frames += 1
            self.level = float(content.get("level") or 0.0)
            if content.get("t"):
                self.up_delays.append(time.time() * 1000 - float(content["t"]))
            if self._sink is not None:
                self._sink(bytes(buffers[0]))
        elif kind in ("played", "flushed"):
            with self._lock:
                self._position = (content.get("item_id"), float(content.get("ms") or 0.0),
                                  time.monotonic())
            if kind == "flushed":
                self._flushed.set()
        elif kind == "delay":
            self.down_delays.append(float(content.get("ms") or 0.0))
        elif kind == "failed":
            self.errors.append(str(content.get("message")))

    # -- the player protocol (session loop) --------------------------------------------------

    def feed(self, item_id: str, pcm: bytes) -> None:
        now = time.monotonic()
        self._queue_end = max(self._queue_end, now) + len(pcm) / 48000
        self._clock.feed(item_id, pcm)
        self.send({"type": "play", "item_id": item_id, "t": time.time() * 1000}, [pcm])

    def position(self) -> tuple[str, float] | None:
        with self._lock:
            item, ms, at = self._position
        if at == 0.0:  # no browser has reported yet (headless): assume real-time playback
            return self._clock.position()
        if item is None or time.monotonic() > self._queue_end:
            return None
        return item, ms + (time.monotonic() - at) * 1000  # extrapolate since the report

    def flush(self) -> tuple[str, float] | None:
        where = self.position()
        self._queue_end = 0.0
        self._clock.flush()
        self.send({"type": "flush"})
        return where

    def remaining(self) -> float:
        return max(0.0, self._queue_end - time.monotonic())

    def delays(self) -> dict[str, float | None]:
        """Median browser → kernel and kernel → browser message delay (ms)."""
        up, down = list(self.up_delays), list(self.down_delays)
        return {"browser_to_kernel_ms": statistics.median(up) if up else None,
                "kernel_to_browser_ms": statistics.median(down) if down else None}


def bridge(widget: LiveAudio, loop: asyncio.AbstractEventLoop,
           append: Callable[[bytes], Any], maxsize: int = 500) -> asyncio.Task:
    """Forward mic frames from the widget thread into ``append`` on ``loop``.

    Returns the forwarding task. Frames beyond ``maxsize`` (10 s) are dropped
    rather than growing memory if the session stalls.
    """
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize)

    def put(frame: bytes) -> None:
        if not queue.full():
            queue.put_nowait(frame)

    widget.connect(lambda frame: loop.call_soon_threadsafe(put, frame))

    async def pump() -> None:
        while True:
            frame = await queue.get()
            try:
                await append(frame)
            except Exception:  # not connected: drop the frame, keep the mic alive
                pass

    return loop.create_task(pump())
