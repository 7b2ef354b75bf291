"""One WebRTC call on the engine: aiortc around the same realtime connection.

The caller's Opus microphone track is decoded by aiortc, resampled to 24 kHz
PCM16 with soxr and fed to the core's turn detection, exactly like
``input_audio_buffer.append`` audio. Client events arrive on the ``oai-events``
data channel and server events leave on it, as on the WebSocket, except
``response.output_audio.delta``: that audio goes into the call's
:class:`~rtnb.engine.playout.Playout` instead, which a media track plays to the
caller in real time (resampled to 48 kHz for Opus). Because the server plays the
audio, it knows what was heard: a barge-in, ``response.cancel`` or
``output_audio_buffer.clear`` drops the unplayed audio and truncates the item at
the played position, with the ``output_audio_buffer.started/stopped/cleared``
events OpenAI sends on WebRTC.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import fractions
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from ..audio import RATE, StreamDecoder, to_float, to_pcm16
from ..events import (
    AUDIO_DELTA,
    ERROR,
    ITEM_RETRIEVED,
    ITEM_TRUNCATE,
    ITEM_TRUNCATED,
    OUTPUT_AUDIO_CLEARED,
    OUTPUT_AUDIO_STARTED,
    OUTPUT_AUDIO_STOPPED,
    RESPONSE_CANCEL,
    RESPONSE_CREATED,
    RESPONSE_DONE,
    SESSION_UPDATE,
    SPEECH_STARTED,
)
from .config import format_type
from .core import ClearOutputAudio, Output
from .errors import ProtocolError
from .playout import FRAME_BYTES, BufferEvent, Playout
from .realtime import RealtimeConnection

if TYPE_CHECKING:
    from .parts import Engine

log = logging.getLogger("rtnb.engine")

DATA_CHANNEL = "oai-events"
#: A call whose data channel has not opened by then is dropped.
CONNECT_TIMEOUT_S = 30.0
FRAME_S = 0.020
OPUS_RATE = 48_000
OPUS_FRAME = 960  # samples in 20 ms
#: A microphone frame the core refuses is reported at most this often (it has 50 a second).
MIC_ERROR_EVERY_S = 5.0
#: When the media clock falls this far behind (a starved CPU), it restarts rather than burst.
MAX_LAG_S = 0.2

Sink = Callable[[dict[str, Any]], Awaitable[None]]
#: The server event for each lifecycle event of the output audio buffer.
_BUFFER_EVENTS = {"started": OUTPUT_AUDIO_STARTED, "stopped": OUTPUT_AUDIO_STOPPED,
                  "cleared": OUTPUT_AUDIO_CLEARED}


class WebRtcCall:
    """A peer connection, its media, and the realtime session it carries."""

    def __init__(self, engine: Engine, call_id: str, model: str, *, host: str = "127.0.0.1",
                 on_close: Callable[[], Any] = lambda: None, intent: str | None = None) -> None:
        self.call_id = call_id
        self.playout = Playout()
        self.conn = _CallConnection(self, engine, self._from_core, model, intent)
        self.conn.core.server_playback = True
        self._ice_hosts = ice_hosts_for(host)
        self._on_close = on_close
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: local only
        self._track = _PlayoutTrack(self)
        self._channel: Any = None
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sinks: list[Sink] = []
        self._decoders: dict[str, StreamDecoder] = {}
        self._tasks: set[asyncio.Task] = set()
        self.closed = asyncio.Event()
        self._pc.on("datachannel", self._on_datachannel)
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_state)

    def __repr__(self) -> str:
        return f"<WebRtcCall {self.call_id} {self._pc.connectionState}>"

    @property
    def core(self):
        return self.conn.core

    # -- setup -------------------------------------------------------------------------------

    def configure(self, session: dict[str, Any] | None) -> str | None:
        """Apply the call's initial session config; returns the error message if invalid."""
        if not session:
            return None
        outputs = self.core.receive(json.dumps(
            {"type": SESSION_UPDATE, "session": {**session, "type": self.core.session["type"]}}))
        errors = [o for o in outputs if isinstance(o, dict) and o.get("type") == ERROR]
        return errors[0]["error"]["message"] if errors else None

    async def answer(self, offer_sdp: str) -> str:
        """Take the caller's SDP offer; returns the SDP answer (ICE candidates included)."""
        await self.conn.open()  # session.created is the first event on the data channel
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as exc:
            raise ValueError(f"Invalid SDP offer: {exc}") from None
        if any(t.kind == "audio" for t in self._pc.getTransceivers()):
            self._pc.addTrack(self._track)
        answer = await self._pc.createAnswer()
        with _gather_on(self._ice_hosts):
            await self._pc.setLocalDescription(answer)
        self._spawn(self._expire_unless_connected())
        return self._pc.localDescription.sdp

    def attach(self, sink: Sink) -> Callable[[], None]:
        """Also send this call's events to ``sink`` (a WebSocket joined with ``call_id``)."""
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    async def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self._on_close()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.conn.close()
        self._track.stop()
        await self._pc.close()

    # -- peer connection events --------------------------------------------------------------

    def _on_datachannel(self, channel: Any) -> None:
        if channel.label != DATA_CHANNEL or self._channel is not None or self.closed.is_set():
            return
        self._channel = channel
        inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        channel.on("message", inbox.put_nowait)
        channel.on("close", lambda: self._spawn(self.close()))
        self._spawn(self._deliver())
        self._spawn(self._receive(inbox))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._listen(track))

    def _on_state(self) -> None:
        if self._pc.connectionState in ("failed", "closed"):
            self._spawn(self.close())

    async def _expire_unless_connected(self) -> None:
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        if self._channel is None:
            log.info("call %s: no data channel after %.0fs, closing", self.call_id,
                     CONNECT_TIMEOUT_S)
            await self.close()

    # -- events in and out -------------------------------------------------------------------

    async def _receive(self, inbox: asyncio.Queue) -> None:
        while True:
            await self.conn.handle(await inbox.get())

    async def _deliver(self) -> None:
        """Send queued server events, in order, to the data channel and attached sockets."""
        while True:
            event = await self._outbox.get()
            channel = self._channel
            if channel is not None and channel.readyState == "open":
                try:
                    channel.send(json.dumps(_for_data_channel(event), separators=(",", ":")))
                except Exception as exc:  # e.g. larger than the peer's max-message-size
                    log.warning("call %s: %s not sent: %s", self.call_id, event["type"], exc)
            for sink in list(self._sinks):
                await sink(event)

    def _post(self, event: dict[str, Any]) -> None:
        self._outbox.put_nowait(event)

    def post_buffer_events(self, events: list[BufferEvent]) -> None:
        for ev in events:
            self._post(self.core.event(_BUFFER_EVENTS[ev.kind], response_id=ev.response_id))

    async def _from_core(self, event: dict[str, Any]) -> None:
        """Every server event of the core passes here (the connection's ``send``)."""
        kind = event["type"]
        if kind == AUDIO_DELTA:
            decoder = self._decoders.get(event["response_id"])
            pcm = base64.b64decode(event["delta"])
            self.playout.push(event["response_id"], event["item_id"],
                              decoder.decode(pcm) if decoder is not None else pcm)
            return  # on WebRTC the audio goes out as media
        if kind == RESPONSE_CREATED:
            response = event["response"]
            fmt = format_type(response["audio"]["output"]["format"])
            if fmt != "audio/pcm":
                self._decoders[response["id"]] = StreamDecoder(fmt)
        self._post(event)
        if kind == SPEECH_STARTED and self._interrupts():
            await self._cut(None)  # barge-in: the caller stops hearing the assistant now
        elif kind == RESPONSE_DONE:
            response = event["response"]
            self._decoders.pop(response["id"], None)
            if response["status"] == "cancelled":
                await self._cut(response["id"])
            else:
                self.post_buffer_events(self.playout.finish(response["id"]))
        elif kind == ITEM_TRUNCATED:
            self.post_buffer_events(self.playout.clear(item_id=event["item_id"])[0])

    def _interrupts(self) -> bool:
        td = self.core.turn_detection or {}
        return td.get("interrupt_response", True) is not False

    async def clear_output(self) -> None:
        """``output_audio_buffer.clear``: stop playing, and generating, the current audio."""
        await self._cut(None)
        if self.core.active is not None:
            await self.conn.dispatch(self.core.cancel(self.core.active, "client_cancelled"))

    async def cut_playing(self) -> None:
        """Stop the reply that is playing (its generation is over) where the caller is."""
        await self._cut(None)

    async def _cut(self, response_id: str | None) -> None:
        """Drop unplayed audio and truncate each cut item where the caller stopped hearing it."""
        events, cuts = self.playout.clear(response_id)
        self.post_buffer_events(events)
        for cut in cuts:
            if cut.item_id not in self.core.conversation:
                continue  # out-of-band responses have no conversation item
            outputs = self.core.receive(json.dumps({
                "type": ITEM_TRUNCATE, "item_id": cut.item_id,
                "content_index": 0, "audio_end_ms": int(cut.played_ms)}))
            await self.conn.dispatch([o for o in outputs
                                      if not (isinstance(o, dict) and o["type"] == ERROR)])

    # -- media -------------------------------------------------------------------------------

    async def _listen(self, track: MediaStreamTrack) -> None:
        """The caller's microphone → 24 kHz PCM16 → the core's input buffer."""
        to24k = _Resampler(RATE)
        last_error = -MIC_ERROR_EVERY_S
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            pcm = to24k.convert(_mono(frame), frame.sample_rate)
            if not pcm:
                continue
            try:
                outputs: list[Output] = self.core.feed_audio(pcm)
            except ProtocolError as err:  # e.g. a full buffer in push-to-talk: say so, rarely
                outputs = []
                if time.monotonic() - last_error >= MIC_ERROR_EVERY_S:
                    last_error = time.monotonic()
                    outputs = [self.core.error(err)]
            await self.conn.dispatch(outputs)

    def _spawn(self, coro: Any) -> None:
        if self.closed.is_set():  # e.g. the data channel opened as the call was hung up
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call %s: task failed", self.call_id, exc_info=task.exception())


class _CallConnection(RealtimeConnection):
    """The realtime connection, plus the one effect only a WebRTC call has."""

    def __init__(self, call: WebRtcCall, *args: Any) -> None:
        super().__init__(*args)
        self._call = call

    async def handle(self, message: str | bytes) -> None:
        """A ``response.cancel`` after the reply was generated, while it still plays, cuts
        what is unplayed: on a call, the reply lasts as long as the caller hears it."""
        if (self.core.active is None and self._call.playout.playing is not None
                and RESPONSE_CANCEL.encode() in (message if isinstance(message, bytes)
                                                 else message.encode())):
            with contextlib.suppress(ValueError):
                event = json.loads(message)
                if isinstance(event, dict) and event.get("type") == RESPONSE_CANCEL:
                    await self._call.cut_playing()
                    return
        await super().handle(message)

    async def dispatch(self, outputs: list[Output]) -> None:
        batch: list[Output] = []
        for out in outputs:
            if isinstance(out, ClearOutputAudio):
                await super().dispatch(batch)
                batch = []
                await self._call.clear_output()
            else:
                batch.append(out)
        await super().dispatch(batch)


class _PlayoutTrack(MediaStreamTrack):
    """The assistant's voice: one 20 ms frame of the playout per 20 ms of wall time."""

    kind = "audio"

    def __init__(self, call: WebRtcCall) -> None:
        super().__init__()
        self._call = call
        self._to48k = _Resampler(OPUS_RATE)
        self._start: float | None = None
        self._frames = 0
        self._pts = 0
        self._pending = bytearray()  # 48 kHz PCM16 not sent yet

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._frames * FRAME_S
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > MAX_LAG_S:
            self._start = now - self._frames * FRAME_S
        self._frames += 1
        pcm, events = self._call.playout.pull(FRAME_BYTES)
        self._call.post_buffer_events(events)
        self._pending += self._to48k.convert(to_float(pcm), RATE)
        want = OPUS_FRAME * 2
        if len(self._pending) < want:  # the resampler's start-up delay: pad once
            self._pending[:0] = bytes(want - len(self._pending))
        samples = np.frombuffer(bytes(self._pending[:want]), dtype="<i2")
        del self._pending[:want]
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OPUS_RATE
        frame.time_base = fractions.Fraction(1, OPUS_RATE)
        frame.pts = self._pts
        self._pts += samples.size
        return frame


class _Resampler:
    """A soxr stream to ``rate`` (rebuilt if the input rate changes); float in, PCM16 out."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._src = 0
        self._stream: Any = None

    def convert(self, x: np.ndarray, src_rate: int) -> bytes:
        if src_rate == self.rate:
            return to_pcm16(x)
        if src_rate != self._src:
            import soxr

            self._src = src_rate
            self._stream = soxr.ResampleStream(src_rate, self.rate, 1, dtype="float32",
                                               quality="HQ")
        return to_pcm16(self._stream.resample_chunk(x.astype(np.float32)))


def _mono(frame: AudioFrame) -> np.ndarray:
    """A decoded frame as mono float32 in [-1, 1]."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    x = data.astype(np.float32)
    if frame.format.name.startswith("s16"):
        x /= 32768.0
    return x.mean(axis=0) if channels > 1 else x[0]


def _for_data_channel(event: dict[str, Any]) -> dict[str, Any]:
    """Item audio stays off the data channel (it is media there, and messages are small)."""
    if event["type"] != ITEM_RETRIEVED:
        return event
    item = dict(event["item"])
    item["content"] = [{k: v for k, v in part.items() if k != "audio"}
                       for part in item.get("content") or []]
    return {**event, "item": item}


# -- where ICE listens -----------------------------------------------------------------------

_ICE_HOSTS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "rtnb_ice_hosts", default=None)


def ice_hosts_for(host: str) -> list[str] | None:
    """The addresses a call's media may use: the engine's own bind address.

    ``None`` (every interface) only when the engine itself listens on all of them.
    """
    if host == "localhost":
        return ["127.0.0.1"]
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return None if address.is_unspecified else [str(address)]


@contextlib.contextmanager
def _gather_on(hosts: list[str] | None) -> Iterator[None]:
    """Gather ICE host candidates on ``hosts`` only, for this task's gathering.

    aioice gathers on every interface *except* loopback and takes no address
    list, so its ``get_host_addresses`` is wrapped once: inside this context it
    returns ``hosts``; everywhere else (other tasks, other threads) it is unchanged.
    """
    import aioice.ice

    current = aioice.ice.get_host_addresses
    if not getattr(current, "rtnb_wrapped", False):
        def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
            chosen = _ICE_HOSTS.get()
            return list(chosen) if chosen is not None else current(use_ipv4, use_ipv6)

        host_addresses.rtnb_wrapped = True  # type: ignore[attr-defined]
        aioice.ice.get_host_addresses = host_addresses
    token = _ICE_HOSTS.set(hosts)
    try:
        yield
    finally:
        _ICE_HOSTS.reset(token)
