"""The input audio buffer, turn detection over it, and the speech's parts, sans-I/O.

:class:`InputAudio` holds the audio appended since the last commit (on the session's
audio clock), runs the VAD and the turn detector (:mod:`rtnb.engine.turns`) over it,
cuts the speech into parts at pauses so that the I/O layer can transcribe early
(:class:`~.effects.Speculate`), and asks semantic_vad's end-of-turn model
(:class:`~.effects.PredictTurnEnd`). What it detects comes out as
:class:`SpeechStarted`, :class:`SpeechStopped` and :class:`IdleTimeout`, with the
audio they carry already taken from the buffer; the core turns them into server events.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ...audio import StreamDecoder
from ..errors import ProtocolError
from ..turns import (
    FRAME_MS,
    PREDICT_AFTER_MS,
    DetectorState,
    TurnConfig,
    TurnEvent,
    arm_idle_timeout,
    settle,
    step,
)
from .effects import Discard, PredictTurnEnd, Span, Speculate

#: Push-to-talk buffers are capped (about 15 minutes of 24 kHz PCM16).
MAX_BUFFER_BYTES = 15 * 60 * 48_000
#: A pause this long (ms of silence) starts a speculative decode of the speech before it and
#: becomes a part boundary if the user goes on (at most half the silence window). Each part
#: costs one decode; at 250 ms about 1 turn in 5 of the speech set has two parts.
PAUSE_MS = 250
#: The end-of-turn model's audio window (Smart Turn v3.2 looks at the last 8 s).
TURN_MODEL_WINDOW_MS = 8000

log = logging.getLogger("rtnb.engine")
_warned_no_turn_model = False


@dataclass(frozen=True)
class SpeechStarted:
    """The VAD heard speech; ``audio_start_ms`` includes the prefix padding."""

    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    """A turn ended: ``pcm`` is its audio, cut into ``parts`` (the last one's is ``key``)."""

    audio_end_ms: int
    pcm: bytes
    key: Span
    parts: tuple[tuple[Span, bytes], ...]


@dataclass(frozen=True)
class IdleTimeout:
    """Nobody spoke for ``idle_timeout_ms`` after the last reply: ``pcm`` is the silence."""

    audio_start_ms: int
    audio_end_ms: int
    pcm: bytes


Detected = SpeechStarted | SpeechStopped | IdleTimeout | Speculate | PredictTurnEnd


class InputAudio:
    """One session's input audio buffer and its turn detection.

    ``vad_factory`` returns an object with ``process(pcm24) -> probabilities`` (one per
    32 ms frame) and ``reset()``; without one, nothing is detected. ``turn_model`` says the
    I/O layer answers :class:`PredictTurnEnd`.
    """

    def __init__(self, vad_factory: Callable[[], Any] | None = None,
                 turn_model: bool = False) -> None:
        self._vad_factory = vad_factory
        self._vad: Any = None
        self._turn_model = turn_model
        self._buffer = bytearray()
        self._buffer_start_ms = 0.0
        self._clock_bytes = 0
        self._decoder = StreamDecoder("audio/pcm")
        self.turn = DetectorState()
        self.config = TurnConfig()
        self._parts: list[Span] = []  # kept parts of the speech in progress
        self._part_start = 0
        self._spec: Span | None = None  # this pause's speculative part
        #: The pause the end-of-turn model was asked about, and its answer (None: pending).
        self._asked: Span | None = None
        self._finished: bool | None = None

    # -- the buffer ------------------------------------------------------------------------

    @property
    def clock_ms(self) -> float:
        """Milliseconds of input audio appended in this session."""
        return self._clock_bytes / 48

    @property
    def buffered_ms(self) -> float:
        return len(self._buffer) / 48

    @property
    def in_speech(self) -> bool:
        """The detector is inside a turn (speaking, or in its silence window)."""
        return self.turn.phase != "idle"

    def set_format(self, fmt: str) -> None:
        """Appends arrive in ``fmt`` from now on."""
        self._decoder = StreamDecoder(fmt)

    def decode(self, raw: bytes) -> bytes:
        """An append's bytes as 24 kHz PCM16."""
        try:
            return self._decoder.decode(raw)
        except ValueError as exc:
            raise ProtocolError("invalid_value", f"Invalid audio: {exc}.", "audio") from None

    def append(self, pcm: bytes) -> None:
        """Add 24 kHz PCM16 to the buffer (refused when the buffer is full)."""
        if len(self._buffer) + len(pcm) > MAX_BUFFER_BYTES:
            raise ProtocolError("invalid_value",
                                "The input audio buffer is full; commit or clear it.", "audio")
        self._buffer += pcm
        self._clock_bytes += len(pcm)

    def slice(self, start_ms: float, end_ms: float | None = None) -> bytes:
        """The buffered audio between two points of the audio clock."""
        a = max(0, int((start_ms - self._buffer_start_ms) * 48))
        a -= a % 2
        if end_ms is None:
            return bytes(self._buffer[a:])
        b = max(a, int((end_ms - self._buffer_start_ms) * 48))
        b -= b % 2
        return bytes(self._buffer[a:b])

    def take_all(self) -> bytes:
        """Everything buffered; the buffer is empty after."""
        pcm = bytes(self._buffer)
        self._drop_until(None)
        return pcm

    def clear(self) -> list[Discard]:
        """Empty the buffer, end any turn in progress, and forget the speech's parts."""
        self._drop_until(None)
        self.reset_turn()
        if self._vad is not None:
            self._vad.reset()
        return self.discard_parts()

    def _drop_until(self, until_ms: float | None) -> None:
        """Keep only the audio after ``until_ms`` (None: keep nothing)."""
        if until_ms is None:
            self._buffer_start_ms = self.clock_ms
            self._buffer.clear()
        else:
            keep = self.slice(until_ms)
            self._buffer_start_ms = self.clock_ms - len(keep) / 48
            self._buffer[:] = keep

    def _trim_idle_buffer(self) -> None:
        keep_ms = self.config.prefix_padding_ms + 2 * FRAME_MS
        excess = len(self._buffer) - int(keep_ms * 48)
        if excess > 0:
            excess -= excess % 2
            del self._buffer[:excess]
            self._buffer_start_ms += excess / 48

    # -- turn detection --------------------------------------------------------------------

    def configure(self, td: dict | None) -> None:
        """Apply a wire ``turn_detection`` object (``None``: push-to-talk, nothing detected)."""
        if td is None:
            self._vad = None
            self.turn = DetectorState()
            return
        self.config = TurnConfig.from_wire(td)
        self._asked = None
        if self.config.finished_threshold is not None and not self._turn_model:
            global _warned_no_turn_model
            if not _warned_no_turn_model:
                _warned_no_turn_model = True
                log.warning("semantic_vad: the end-of-turn model is not installed, so turns "
                            "end on silence windows alone; install it with "
                            "pip install 'rtnb[turn]'")
        # Align VAD frames with the audio clock from here on.
        self.turn = DetectorState(t_ms=int(self.clock_ms))
        if self._vad is None and self._vad_factory is not None:
            self._vad = self._vad_factory()
        elif self._vad is not None:
            self._vad.reset()

    def reset_turn(self) -> None:
        """Forget the turn in progress (the buffer was committed or cleared by hand)."""
        self.turn = DetectorState(t_ms=self.turn.t_ms)

    def arm_idle_timeout(self, delay_ms: int) -> None:
        """Count idle time from ``delay_ms`` after now (when a reply's audio ends)."""
        self.turn = arm_idle_timeout(self.turn, delay_ms)

    def detect(self, pcm: bytes) -> Iterator[Detected]:
        """Run the VAD over ``pcm`` (just appended), frame by frame.

        A generator: the caller handles each result before the next frame runs, so what it
        does in between (commit, cancel a response, arm the idle timeout) is in force for
        the frames after.
        """
        if self._vad is None:
            return
        for p in self._vad.process(pcm):
            self.turn, events = step(self.turn, float(p), self.config, extend=self._extend())
            for ev in events:
                yield from self._on_detector_event(ev)
            yield from self._speculate()
            yield from self._ask_turn_model()
        if self.turn.phase == "idle":
            self._trim_idle_buffer()

    def _on_detector_event(self, ev: TurnEvent) -> Iterator[Detected]:
        if ev.kind == "speech_resumed" and self._spec is not None:
            # The words before the pause stay as they are: keep them as a part.
            self._parts.append(self._spec)
            self._part_start, self._spec = self._spec[1], None
        elif ev.kind == "speech_started":
            self._parts, self._spec = [], None
            # The padded start can reach into audio an earlier item already took.
            self._part_start = max(ev.audio_start_ms, math.ceil(self._buffer_start_ms))
            yield SpeechStarted(ev.audio_start_ms)
        elif ev.kind == "speech_stopped":
            start = self.turn.speech_start_ms
            key = (self._part_start, ev.audio_start_ms + FRAME_MS)
            parts = tuple((k, self.slice(*k)) for k in (*self._parts, key))
            self._parts, self._spec = [], None
            pcm = self.slice(start, ev.audio_ms)
            self._drop_until(ev.audio_ms)  # later audio (same append) belongs to what follows
            yield SpeechStopped(ev.audio_start_ms, pcm, key, parts)
        elif ev.kind == "timeout":
            pcm = self.slice(ev.audio_start_ms)
            self._drop_until(None)
            yield IdleTimeout(ev.audio_start_ms, ev.audio_ms, pcm)

    # -- the speech's parts ----------------------------------------------------------------

    def _speculate(self) -> list[Speculate]:
        """Start decoding the speech so far once a pause lasts long enough."""
        st = self.turn
        pause = min(PAUSE_MS, self.config.silence_duration_ms // 2)
        if st.phase != "trailing" or self._spec is not None or st.t_ms - st.last_voice_ms < pause:
            return []
        self._spec = (self._part_start, st.last_voice_ms + FRAME_MS)
        return [Speculate(self._spec, self.slice(*self._spec), tuple(self._parts))]

    def discard_parts(self) -> list[Discard]:
        """Forget the speech in progress's parts; the I/O layer may drop their decodes."""
        keys = (*self._parts, *([self._spec] if self._spec else []))
        self._parts, self._spec = [], None
        return [Discard(keys)] if keys else []

    # -- semantic_vad's end-of-turn model --------------------------------------------------

    def _uses_turn_model(self) -> bool:
        return self._turn_model and self.config.finished_threshold is not None

    def _pause_key(self) -> Span:
        return (self.turn.speech_start_ms, self.turn.last_voice_ms)

    def _extend(self) -> bool:
        """Keep waiting: the model has not answered for this pause, or says "unfinished"."""
        if not self._uses_turn_model() or self.turn.phase == "idle":
            return False
        if self._asked != self._pause_key() or self._finished is None:
            return True
        return not self._finished

    def _ask_turn_model(self) -> list[PredictTurnEnd]:
        t = self.turn
        if (not self._uses_turn_model() or t.phase != "trailing"
                or t.t_ms - t.last_voice_ms < PREDICT_AFTER_MS
                or self._asked == self._pause_key()):
            return []
        self._asked, self._finished = self._pause_key(), None
        start = max(t.speech_start_ms, t.last_voice_ms - TURN_MODEL_WINDOW_MS)
        return [PredictTurnEnd(self._asked, self.slice(start, t.last_voice_ms))]

    def turn_prediction_wanted(self, key: Span) -> bool:
        """False once the user spoke again (or the turn ended) since ``key`` was asked."""
        return self.turn.phase == "trailing" and key == self._asked == self._pause_key()

    def turn_predicted(self, key: Span, probability: float | None) -> Iterator[Detected]:
        """The end-of-turn model's answer for ``key`` (``None``: it failed); may end the turn.

        A stale answer (the user spoke again) is ignored. A failure counts as finished,
        so the silence window decides. A generator, like :meth:`detect`.
        """
        if not self.turn_prediction_wanted(key) or self._finished is not None:
            return
        threshold = self.config.finished_threshold or 0.0
        self._finished = probability is None or probability >= threshold
        log.debug("end-of-turn probability %s for the pause at %d ms", probability, key[1])
        self.turn, events = settle(self.turn, self.config, extend=self._extend())
        for ev in events:
            yield from self._on_detector_event(ev)
        if self.turn.phase == "idle":
            self._trim_idle_buffer()
