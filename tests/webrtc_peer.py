"""A WebRTC caller for tests and benchmarks: aiortc, as a browser would call the engine.

It sends a microphone track (24 kHz PCM16 played in real time, silence between
utterances), opens the ``oai-events`` data channel, records what the engine plays
(resampled to 24 kHz) and keeps every server event with its arrival time. The
call itself is made with the official SDK: ``client.realtime.calls.create``.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from rtnb import audio

FRAME = 480  # 20 ms at 24 kHz


class MicTrack(MediaStreamTrack):
    """Plays queued 24 kHz PCM16 in real time; silence when there is nothing to say."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._start: float | None = None
        self._n = 0
        #: Wall time (perf_counter) at which the last queued sample was sent.
        self.spoken_until: float | None = None
        self.loud_until: float | None = None

    def say(self, pcm: bytes) -> None:
        self._pending += pcm

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.perf_counter()
        due = self._start + self._n * 0.02
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk = bytes(self._pending[:FRAME * 2])
        del self._pending[:FRAME * 2]
        if chunk:
            self.spoken_until = time.perf_counter()
            if np.abs(np.frombuffer(chunk, "<i2")).max(initial=0) > 328:  # above -40 dBFS
                self.loud_until = self.spoken_until
        chunk += bytes(FRAME * 2 - len(chunk))
        frame = AudioFrame.from_ndarray(np.frombuffer(chunk, "<i2").reshape(1, -1),
                                        format="s16", layout="mono")
        frame.sample_rate = 24000
        frame.time_base = fractions.Fraction(1, 24000)
        frame.pts = self._n * FRAME
        self._n += 1
        return frame


class Caller:
    """One call to the engine over WebRTC."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = MicTrack()
        self.pc.addTrack(self.mic)
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.heard = bytearray()  # engine audio, 24 kHz PCM16
        #: (perf_counter, rms) of each received 20 ms of engine audio.
        self.levels: list[tuple[float, float]] = []
        self.opened = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.channel.on("open", self.opened.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)
        self.call_id: str | None = None

    def _on_message(self, message: str) -> None:
        event = json.loads(message)
        self.events.append(event)
        self.arrivals.append(time.perf_counter())
        self._queue.put_nowait(event)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._record(track)))

    async def _record(self, track: MediaStreamTrack) -> None:
        import soxr

        stream = soxr.ResampleStream(48000, 24000, 1, dtype="float32")
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            x = frame.to_ndarray().reshape(-1, len(frame.layout.channels)).mean(axis=1)
            x = x.astype(np.float32) / 32768.0
            y = stream.resample_chunk(x) if frame.sample_rate == 48000 else x
            self.heard += audio.to_pcm16(y)
            self.levels.append((time.perf_counter(), float(np.sqrt(np.mean(x ** 2)))))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.wait_for(self.opened.wait(), 20)

    async def call(self, client: Any, session: dict[str, Any] | None = None) -> Any:
        """Place the call through ``client.realtime.calls.create``; returns the raw response."""
        kwargs = {"session": session} if session is not None else {}
        raw = await client.realtime.calls.with_raw_response.create(sdp=await self.offer(),
                                                                   **kwargs)
        self.call_id = raw.headers["location"].rsplit("/", 1)[-1]
        await self.accept(raw.text)
        return raw

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    async def until(self, kind: str, timeout: float = 30.0,
                    where: Any = None) -> list[dict[str, Any]]:
        """Events up to and including the next ``kind`` (matching ``where``)."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} within {timeout}s; got "
                                   f"{[e['type'] for e in seen]}")
            event = await asyncio.wait_for(self._queue.get(), left)
            seen.append(event)
            if event["type"] == kind and (where is None or where(event)):
                return seen

    def loud_since(self, t0: float, rms: float = 0.01) -> float | None:
        """Arrival time of the first received audio louder than ``rms`` after ``t0``."""
        for t, level in self.levels:
            if t >= t0 and level > rms:
                return t
        return None

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.mic.stop()
        await self.pc.close()
