"""``rtnb.Transcriber``: a transcription session (audio in, transcripts out, no answers).

It opens the Realtime API's transcription session (``?intent=transcription``) on any
backend a :class:`rtnb.Session` takes, sends audio, and collects each turn's transcript as
turn detection commits it (or as :meth:`Transcriber.commit` does, with
``turn_detection=None``)::

    async with rtnb.Transcriber(logprobs=True) as t:   # the local engine, or OpenAI
        await t.send_audio("meeting.wav")
        print((await t.next()).text)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass
from typing import Any

from . import events as ev
from .models import LOCAL_TRANSCRIPTION, openai_model
from .session.backend import resolve_backend
from .session.config import turn_detection_config
from .session.errors import SessionError

#: Audio goes out in appends of this many milliseconds.
CHUNK_MS = 40
LOGPROBS = "item.input_audio_transcription.logprobs"


@dataclass(frozen=True)
class Transcript:
    """One committed turn's text; ``logprobs`` (``{token, logprob, bytes}`` entries) when
    asked for and the server gives them."""

    item_id: str
    text: str
    logprobs: list[dict[str, Any]] | None = None


class Transcriber:
    """A transcription session on ``backend`` (as :class:`rtnb.Session` takes it).

    ``model`` is the transcription model (default: the local engine's Whisper, or
    :mod:`rtnb.models`' on OpenAI); ``turn_detection`` is ``"server_vad"``,
    ``"semantic_vad"``, a wire dict, or None to commit turns by hand; ``logprobs`` asks
    for the transcripts' token log probabilities.
    """

    def __init__(self, backend: Any = None, *, model: str | None = None,
                 language: str | None = None, turn_detection: str | dict | None = "server_vad",
                 logprobs: bool = False, api_key: str | None = None) -> None:
        self.backend = resolve_backend(backend)
        if api_key is not None:
            self.backend._key = api_key
        self.model = model or (openai_model("transcription") if self.backend.kind == "openai"
                               else LOCAL_TRANSCRIPTION)
        self.language = language
        self.turn_detection = turn_detection
        self.logprobs = logprobs
        #: Every transcript so far, in the order they completed.
        self.transcripts: list[Transcript] = []
        self._conn: Any = None
        self._queue: asyncio.Queue[Transcript | SessionError] = asyncio.Queue()
        self._reader: asyncio.Task | None = None

    def __repr__(self) -> str:
        state = "open" if self._conn is not None else "closed"
        return f"Transcriber({self.backend!r}, {self.model}, {state})"

    def session_config(self) -> dict[str, Any]:
        """The ``session`` object of the transcription session's ``session.update``."""
        transcription: dict[str, Any] = {"model": self.model}
        if self.language:
            transcription["language"] = self.language
        config: dict[str, Any] = {"type": "transcription", "audio": {"input": {
            "transcription": transcription,
            "turn_detection": turn_detection_config(self.turn_detection)}}}
        if self.logprobs:
            config["include"] = [LOGPROBS]
        return config

    # -- lifecycle ---------------------------------------------------------------------------

    async def connect(self) -> Transcriber:
        """Open the session and configure it; raises :class:`rtnb.SessionError` if refused."""
        from openai import AsyncOpenAI

        if self._conn is not None:
            return self
        b = self.backend
        if b.kind == "openai":
            client = AsyncOpenAI(api_key=b._key)
        else:
            client = AsyncOpenAI(api_key=b._key or "local", websocket_base_url=b.ws_url)
        self._conn = await client.realtime.connect(
            extra_query={"intent": "transcription"}).enter()
        await self._conn.session.update(session=self.session_config())
        while True:
            event = await self._conn.recv()
            if event.type == ev.ERROR:
                await self.close()
                raise SessionError(f"the server refused the transcription session: "
                                   f"{event.error.message}")
            if event.type == ev.SESSION_UPDATED:
                break
        self._reader = asyncio.create_task(self._read())
        return self

    def __await__(self) -> Any:
        return self.connect().__await__()

    async def __aenter__(self) -> Transcriber:
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    # -- audio in, transcripts out -----------------------------------------------------------

    async def send_audio(self, audio: Any, rate: int | None = None, *,
                         paced: bool = False) -> float:
        """Send audio (numpy array, 24 kHz PCM16 bytes, or a WAV path at any rate);
        ``paced`` sends it in real time like a microphone. Returns the milliseconds sent."""
        from . import audio as wire

        conn = self._open()
        pcm = wire.to_pcm16(wire.load_audio((audio, rate) if rate is not None else audio))
        step = CHUNK_MS * 48
        start = asyncio.get_running_loop().time()
        for i in range(0, len(pcm), step):
            chunk = pcm[i:i + step]
            await conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
            if paced:
                due = start + (i + len(chunk)) / 48000
                await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
        return len(pcm) / 48

    async def commit(self) -> None:
        """End a turn by hand (with ``turn_detection=None``)."""
        await self._open().input_audio_buffer.commit()

    async def next(self, timeout: float | None = 60.0) -> Transcript:
        """The next transcript; raises :class:`rtnb.SessionError` on a server error."""
        got = await asyncio.wait_for(self._queue.get(), timeout)
        if isinstance(got, SessionError):
            raise got
        return got

    def _open(self) -> Any:
        if self._conn is None:
            raise SessionError("the transcriber is not connected: await it (or use async with)")
        return self._conn

    async def _read(self) -> None:
        try:
            async for event in self._conn:
                if event.type == ev.TRANSCRIPTION_COMPLETED:
                    logprobs = ([lp.model_dump() for lp in event.logprobs]
                                if event.logprobs is not None else None)
                    got = Transcript(event.item_id, event.transcript, logprobs)
                    self.transcripts.append(got)
                    self._queue.put_nowait(got)
                elif event.type == ev.TRANSCRIPTION_FAILED:
                    self._queue.put_nowait(SessionError(
                        f"transcription of {event.item_id} failed: {event.error.message}"))
                elif event.type == ev.ERROR:
                    self._queue.put_nowait(SessionError(event.error.message))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection was lost
            self._queue.put_nowait(SessionError(f"the transcription session ended: {exc}"))
