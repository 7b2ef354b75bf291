"""The engine's protocol core, sans-I/O.

:class:`RealtimeCore` takes client events (JSON text) and returns server events
(dicts, each with an ``event_id``) plus :class:`Effect` requests for the slow
work the I/O layer runs: transcription and response generation. The I/O layer
reports results back through the ``output_*`` and :meth:`transcribed` methods.
No sockets, no threads, no clocks besides the audio clock.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
import logging
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .. import audio as wire_audio
from . import config as cfgmod
from . import responses as rsm
from . import turns
from .brain.base import BrainRequest
from .conversation import Conversation, Entry
from .errors import ProtocolError, from_validation

MAX_APPEND_BYTES = 15 * 1024 * 1024
MIN_COMMIT_MS = 100
#: Push-to-talk buffers are capped (about 15 minutes of 24 kHz PCM16).
MAX_BUFFER_BYTES = 15 * 60 * 48_000
#: Deepest JSON nesting a client event may have (tool schemas need far less; deeper
#: values would exhaust the stack while they are validated, copied and serialised).
MAX_JSON_DEPTH = 64
#: A pause this long (ms of silence) starts a speculative decode of the speech before it and
#: becomes a part boundary if the user goes on (at most half the silence window). Each part
#: costs one decode; at 250 ms about 1 turn in 5 of the speech set has two parts.
PAUSE_MS = 250

log = logging.getLogger("rtnb.engine")
#: The end-of-turn model's audio window (Smart Turn v3.2 looks at the last 8 s).
TURN_MODEL_WINDOW_MS = 8000
_warned_no_turn_model = False


# -- effects -------------------------------------------------------------------------------


class Effect:
    """Work for the I/O layer."""


@dataclass(frozen=True)
class StartResponse(Effect):
    response_id: str


@dataclass(frozen=True)
class CancelResponse(Effect):
    response_id: str


Span = tuple[int, int]


@dataclass(frozen=True)
class Transcribe(Effect):
    """Transcribe a committed user item.

    ``parts`` are ``(key, pcm)`` pieces of the speech, cut at the pauses where the core
    speculated: their texts, joined in order, are the transcript. A part whose key matches
    an earlier :class:`Speculate` reuses that decode; any other is decoded now. The parts
    cover the speech without a gap from its start to the VAD's last voiced frame (only the
    silence window of ``audio`` follows). No parts: decode ``audio`` whole. ``key`` is the
    last part's.
    """

    item_id: str
    audio: bytes
    key: Span | None
    emit: bool
    parts: tuple[tuple[Span, bytes], ...] = ()


@dataclass(frozen=True)
class Speculate(Effect):
    """Decode a part of the speech early: the user has paused for :data:`PAUSE_MS`.

    ``key`` is the part's span on the audio clock (ms) and ``context`` the keys of the
    item's earlier parts (their text makes a good prompt). Nothing is thrown away: if the
    user goes on talking, this part stays and the next one starts where it ends; if not,
    it is the item's last part.
    """

    key: Span
    audio: bytes
    context: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Discard(Effect):
    """Speculative parts no item will use (the buffer was cleared or committed by hand)."""

    keys: tuple[Span, ...]


@dataclass(frozen=True)
class ClearOutputAudio(Effect):
    """``output_audio_buffer.clear`` on a transport whose server plays the audio (WebRTC)."""


@dataclass(frozen=True)
class PredictTurnEnd(Effect):
    """semantic_vad: ask the end-of-turn model whether the words so far sound finished.

    ``audio`` is the user's speech up to the last voiced frame (at most the model's 8 s).
    Report the answer with :meth:`RealtimeCore.turn_predicted` and ``key``.
    """

    key: tuple[int, int]
    audio: bytes


Output = dict[str, Any] | Effect


# -- responses -----------------------------------------------------------------------------


@dataclass
class Response:
    id: str
    params: dict[str, Any]
    in_band: bool
    state: rsm.ResponseState = field(default_factory=rsm.ResponseState)
    output: list[dict[str, Any]] = field(default_factory=list)
    input_items: list[dict[str, Any]] = field(default_factory=list)
    text_chars: int = 0
    audio_ms: float = 0.0
    encoder: Any = None
    #: Current open message: item id, content index, audio offset (ms) of the next chunk.
    message: str | None = None
    audio_cursor_ms: float = 0.0

    @property
    def active(self) -> bool:
        return self.state.phase == "in_progress"

    @property
    def audio_out(self) -> bool:
        return "audio" in self.params["output_modalities"]


def _client_event_models() -> dict[str, Any]:
    from openai.types.realtime import (
        conversation_item_create_event as cic,
    )
    from openai.types.realtime import (
        conversation_item_delete_event as cid,
    )
    from openai.types.realtime import (
        conversation_item_retrieve_event as cir,
    )
    from openai.types.realtime import (
        conversation_item_truncate_event as cit,
    )
    from openai.types.realtime import (
        input_audio_buffer_append_event as iba,
    )
    from openai.types.realtime import (
        input_audio_buffer_clear_event as ibcl,
    )
    from openai.types.realtime import (
        input_audio_buffer_commit_event as ibc,
    )
    from openai.types.realtime import (
        output_audio_buffer_clear_event as obc,
    )
    from openai.types.realtime import (
        response_cancel_event as rc,
    )
    from openai.types.realtime import (
        response_create_event as rcr,
    )
    from openai.types.realtime import (
        session_update_event as su,
    )

    return {
        "session.update": su.SessionUpdateEvent,
        "input_audio_buffer.append": iba.InputAudioBufferAppendEvent,
        "input_audio_buffer.commit": ibc.InputAudioBufferCommitEvent,
        "input_audio_buffer.clear": ibcl.InputAudioBufferClearEvent,
        "output_audio_buffer.clear": obc.OutputAudioBufferClearEvent,
        "conversation.item.create": cic.ConversationItemCreateEvent,
        "conversation.item.retrieve": cir.ConversationItemRetrieveEvent,
        "conversation.item.delete": cid.ConversationItemDeleteEvent,
        "conversation.item.truncate": cit.ConversationItemTruncateEvent,
        "response.create": rcr.ResponseCreateEvent,
        "response.cancel": rc.ResponseCancelEvent,
    }


_MODELS: dict[str, Any] | None = None


def client_event_models() -> dict[str, Any]:
    """The openai SDK's pydantic model for each client event type (loaded once)."""
    global _MODELS
    if _MODELS is None:
        _MODELS = _client_event_models()
    return _MODELS


_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_problem(obj: Any, limit: int) -> tuple[str, str] | None:
    """Why a parsed event is unusable: nested over ``limit`` levels, or not valid Unicode."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return ("invalid_json", "Invalid JSON: a string holds a lone surrogate, "
                                        "which is not valid Unicode.")
            continue
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return ("invalid_value", f"The event is nested more than {limit} levels deep.")
        stack.extend((child, depth + 1) for child in children)
    return None


# -- the core ------------------------------------------------------------------------------


class RealtimeCore:
    """One realtime session's protocol state.

    ``vad_factory`` returns an object with ``process(pcm24: bytes) -> probabilities``
    (one per 32 ms frame) and ``reset()``. ``model`` is the name reported to clients.
    ``turn_model`` says the I/O layer runs :class:`PredictTurnEnd` (semantic_vad's
    end-of-turn model); without it semantic_vad uses its silence windows alone.
    """

    #: True when the server plays the output audio (a WebRTC call): then
    #: ``output_audio_buffer.clear`` is accepted and becomes :class:`ClearOutputAudio`.
    server_playback = False

    def __init__(self, *, model: str = "rtnb-local",
                 vad_factory: Callable[[], Any] | None = None,
                 turn_model: bool = False) -> None:
        tag = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._tag = tag
        self.session = cfgmod.default_session(f"sess_{tag}{secrets.token_hex(6)}", model)
        self.conversation = Conversation()
        self.responses: dict[str, Response] = {}
        self.active: str | None = None  # the in-band response in progress
        self._vad_factory = vad_factory
        self._vad = None
        self._buffer = bytearray()
        self._buffer_start_ms = 0.0
        self._clock_bytes = 0
        self._turn = turns.TurnState()
        self._turn_cfg = turns.TurnConfig()
        self._speech_item: str | None = None
        self._parts: list[Span] = []  # kept parts of the speech in progress
        self._part_start = 0
        self._spec: Span | None = None  # this pause's speculative part
        self._decoder = wire_audio.StreamDecoder("audio/pcm")
        self._turn_model = turn_model
        #: The pause the end-of-turn model was asked about, and its answer (None: pending).
        self._asked: tuple[int, int] | None = None
        self._finished: bool | None = None
        self._configure_turns()

    # -- ids and events ----------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._tag}{next(self._counter):08d}"

    def event(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "event_id": self.new_id("event"), **fields}

    def error(self, err: ProtocolError, client_event_id: str | None = None) -> dict[str, Any]:
        return self.event("error", error=err.payload(client_event_id))

    def start(self) -> list[Output]:
        """The events sent right after the upgrade."""
        return [self.event("session.created", session=self.session)]

    @property
    def audio_clock_ms(self) -> float:
        """Milliseconds of input audio appended in this session."""
        return self._clock_bytes / 48

    # -- dispatch ----------------------------------------------------------------------------

    def receive(self, raw: str | bytes) -> list[Output]:
        """Handle one client message; always returns, errors become ``error`` events."""
        client_id = None
        try:
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ProtocolError("invalid_json", f"Invalid JSON: {exc}.") from None
            except RecursionError:
                raise ProtocolError("invalid_json", "Invalid JSON: nested too deeply.") from None
            if not isinstance(obj, dict):
                raise ProtocolError("invalid_event", "A client event must be a JSON object.")
            if isinstance(obj.get("event_id"), str):
                client_id = obj["event_id"]
            problem = _json_problem(obj, MAX_JSON_DEPTH)
            if problem is not None:
                raise ProtocolError(*problem)
            kind = obj.get("type")
            if kind is None:
                raise ProtocolError("missing_required_parameter",
                                    "Missing required parameter: 'type'.", "type")
            if not isinstance(kind, str):
                raise ProtocolError("invalid_type", "'type' must be a string.", "type")
            handler = _HANDLERS.get(kind)
            if handler is None:
                raise ProtocolError("unknown_event_type",
                                    f"Unknown event type '{kind[:80]}'.", "type")
            if kind == "input_audio_buffer.append":
                return self._append(obj)  # hot path: checked by hand
            try:
                event = client_event_models()[kind].model_validate(obj)
            except ValidationError as exc:
                raise from_validation(exc) from None
            return handler(self, event.model_dump(mode="json", exclude_unset=True))
        except ProtocolError as err:
            return [self.error(err, client_id)]
        except Exception:  # a bug must cost one error event, never the connection
            log.exception("client event failed")
            return [self.error(ProtocolError(
                "server_error", "The server had an error while processing the event."),
                client_id)]

    # -- session -----------------------------------------------------------------------------

    def _session_update(self, ev: dict) -> list[Output]:
        update = ev["session"]
        old_input = cfgmod.format_type(self.session["audio"]["input"]["format"])
        old_td = self.session["audio"]["input"]["turn_detection"]
        self.session = cfgmod.merge_session(self.session, update)
        new_input = cfgmod.format_type(self.session["audio"]["input"]["format"])
        if new_input != old_input:
            self._decoder = wire_audio.StreamDecoder(new_input)
        out: list[Output] = []
        if self.session["audio"]["input"]["turn_detection"] != old_td:
            out += self._discard_parts()
            self._configure_turns()
        return [*out, self.event("session.updated", session=self.session)]

    @property
    def turn_detection(self) -> dict | None:
        return self.session["audio"]["input"]["turn_detection"]

    def _configure_turns(self) -> None:
        td = self.turn_detection
        if td is None:
            self._vad = None
            self._turn = turns.TurnState()
            return
        self._turn_cfg = turns.TurnConfig.from_wire(td)
        self._asked = None
        if self._turn_cfg.finished_threshold is not None and not self._turn_model:
            global _warned_no_turn_model
            if not _warned_no_turn_model:
                _warned_no_turn_model = True
                log.warning("semantic_vad: the end-of-turn model is not installed, so turns "
                            "end on silence windows alone; install it with "
                            "pip install 'rtnb[turn]'")
        # Align VAD frames with the audio clock from here on.
        self._turn = turns.TurnState(t_ms=int(self.audio_clock_ms))
        if self._vad is None and self._vad_factory is not None:
            self._vad = self._vad_factory()
        elif self._vad is not None:
            self._vad.reset()

    # -- input audio -------------------------------------------------------------------------

    def _append(self, obj: dict) -> list[Output]:
        if obj.get("event_id") is not None and not isinstance(obj["event_id"], str):
            raise ProtocolError("invalid_type", "'event_id' must be a string.", "event_id")
        data = obj.get("audio")
        if data is None:
            raise ProtocolError("missing_required_parameter",
                                "Missing required parameter: 'audio'.", "audio")
        if not isinstance(data, str):
            raise ProtocolError("invalid_type", "'audio' must be a base64 string.", "audio")
        if len(data) > MAX_APPEND_BYTES * 4 // 3 + 4:
            raise ProtocolError("invalid_value", "An append carries at most 15 MiB of audio.",
                                "audio")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_value", "'audio' is not valid base64.", "audio") from None
        try:
            pcm = self._decoder.decode(raw)
        except ValueError as exc:
            raise ProtocolError("invalid_value", f"Invalid audio: {exc}.", "audio") from None
        return self.feed_audio(pcm)

    def feed_audio(self, pcm: bytes) -> list[Output]:
        """Append 24 kHz PCM16 to the input buffer and run turn detection."""
        if len(self._buffer) + len(pcm) > MAX_BUFFER_BYTES:
            raise ProtocolError("invalid_value",
                                "The input audio buffer is full; commit or clear it.", "audio")
        self._buffer += pcm
        self._clock_bytes += len(pcm)
        if self._vad is None or self.turn_detection is None:
            return []
        out: list[Output] = []
        for p in self._vad.process(pcm):
            self._turn, evs = turns.step(self._turn, float(p), self._turn_cfg,
                                         extend=self._extend())
            for ev in evs:
                out.extend(self._on_turn_event(ev))
            out.extend(self._speculate())
            out.extend(self._ask_turn_model())
        if self._turn.phase == "idle":
            self._trim_idle_buffer()
        return out

    # -- semantic_vad's end-of-turn model ----------------------------------------------------

    def _uses_turn_model(self) -> bool:
        return self._turn_model and self._turn_cfg.finished_threshold is not None

    def _pause_key(self) -> tuple[int, int]:
        return (self._turn.speech_start_ms, self._turn.last_voice_ms)

    def _extend(self) -> bool:
        """Keep waiting: the model has not answered for this pause, or says "unfinished"."""
        if not self._uses_turn_model() or self._turn.phase == "idle":
            return False
        if self._asked != self._pause_key() or self._finished is None:
            return True
        return not self._finished

    def _ask_turn_model(self) -> list[Output]:
        t = self._turn
        if (not self._uses_turn_model() or t.phase != "trailing"
                or t.t_ms - t.last_voice_ms < turns.PREDICT_AFTER_MS
                or self._asked == self._pause_key()):
            return []
        self._asked, self._finished = self._pause_key(), None
        start = max(t.speech_start_ms, t.last_voice_ms - TURN_MODEL_WINDOW_MS)
        return [PredictTurnEnd(self._asked, self._slice(start, t.last_voice_ms))]

    def turn_prediction_wanted(self, key: tuple[int, int]) -> bool:
        """False once the user spoke again (or the turn ended) since ``key`` was asked."""
        return self._turn.phase == "trailing" and key == self._asked == self._pause_key()

    def turn_predicted(self, key: tuple[int, int], probability: float | None) -> list[Output]:
        """Report the end-of-turn model's probability for ``key`` (``None``: it failed).

        A stale answer (the user spoke again) is ignored. A failure counts as finished,
        so the silence window decides. May end the turn at once.
        """
        if not self.turn_prediction_wanted(key) or self._finished is not None:
            return []
        threshold = self._turn_cfg.finished_threshold or 0.0
        self._finished = probability is None or probability >= threshold
        log.debug("end-of-turn probability %s for the pause at %d ms", probability, key[1])
        self._turn, evs = turns.settle(self._turn, self._turn_cfg, extend=self._extend())
        out: list[Output] = []
        for ev in evs:
            out.extend(self._on_turn_event(ev))
        if self._turn.phase == "idle":
            self._trim_idle_buffer()
        return out

    def _trim_idle_buffer(self) -> None:
        keep_ms = self._turn_cfg.prefix_padding_ms + 2 * turns.FRAME_MS
        excess = len(self._buffer) - int(keep_ms * 48)
        if excess > 0:
            excess -= excess % 2
            del self._buffer[:excess]
            self._buffer_start_ms += excess / 48

    def _slice(self, start_ms: float, end_ms: float | None = None) -> bytes:
        a = max(0, int((start_ms - self._buffer_start_ms) * 48))
        a -= a % 2
        if end_ms is None:
            return bytes(self._buffer[a:])
        b = max(a, int((end_ms - self._buffer_start_ms) * 48))
        b -= b % 2
        return bytes(self._buffer[a:b])

    def _speculate(self) -> list[Output]:
        """Start decoding the speech so far once a pause lasts long enough."""
        st = self._turn
        pause = min(PAUSE_MS, self._turn_cfg.silence_duration_ms // 2)
        if st.phase != "trailing" or self._spec is not None or st.t_ms - st.last_voice_ms < pause:
            return []
        self._spec = (self._part_start, st.last_voice_ms + turns.FRAME_MS)
        return [Speculate(self._spec, self._slice(*self._spec), tuple(self._parts))]

    def _discard_parts(self) -> list[Output]:
        """Forget the speech in progress's parts; the I/O layer may drop their decodes."""
        keys = (*self._parts, *([self._spec] if self._spec else []))
        self._parts, self._spec = [], None
        return [Discard(keys)] if keys else []

    def _on_turn_event(self, ev: turns.TurnEvent) -> list[Output]:
        td = self.turn_detection or {}
        if ev.kind == "speech_resumed" and self._spec is not None:
            # The words before the pause stay as they are: keep them as a part.
            self._parts.append(self._spec)
            self._part_start, self._spec = self._spec[1], None
            return []
        if ev.kind == "speech_started":
            self._parts, self._spec = [], None
            # The padded start can reach into audio an earlier item already took.
            self._part_start = max(ev.audio_start_ms, math.ceil(self._buffer_start_ms))
            self._speech_item = self.new_id("item")
            out: list[Output] = [self.event("input_audio_buffer.speech_started",
                                            audio_start_ms=ev.audio_start_ms,
                                            item_id=self._speech_item)]
            if td.get("interrupt_response", True) and self.active:
                out.extend(self.cancel(self.active, "turn_detected"))
            return out
        if ev.kind == "speech_stopped":
            item_id = self._speech_item or self.new_id("item")
            out = [self.event("input_audio_buffer.speech_stopped",
                              audio_end_ms=ev.audio_start_ms, item_id=item_id)]
            start = self._turn.speech_start_ms
            key = (self._part_start, ev.audio_start_ms + turns.FRAME_MS)
            parts = tuple((k, self._slice(*k)) for k in (*self._parts, key))
            self._parts, self._spec = [], None
            # Audio after this frame (same append) belongs to what comes next.
            out.extend(self._commit(item_id, self._slice(start, ev.audio_ms), key, parts=parts,
                                    until_ms=ev.audio_ms))
            if td.get("create_response", True):
                out.extend(self._create_response({}))
            return out
        if ev.kind == "timeout":
            item_id = self.new_id("item")
            out = [self.event("input_audio_buffer.timeout_triggered",
                              audio_start_ms=ev.audio_start_ms, audio_end_ms=ev.audio_ms,
                              item_id=item_id)]
            out.extend(self._commit(item_id, self._slice(ev.audio_start_ms), None, timeout=True))
            out.extend(self._create_response({}))
            return out
        return []

    def _commit_event(self, ev: dict) -> list[Output]:
        buffered = len(self._buffer) / 48
        if buffered < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered:.2f}ms of audio.")
        item_id = self._speech_item if self._turn.phase != "idle" and self._speech_item \
            else self.new_id("item")
        out = self._discard_parts()
        out += self._commit(item_id, bytes(self._buffer), None)
        self._turn = turns.TurnState(t_ms=self._turn.t_ms)
        return out

    def _commit(self, item_id: str, pcm: bytes, key: Span | None, timeout: bool = False,
                parts: tuple[tuple[Span, bytes], ...] = (),
                until_ms: float | None = None) -> list[Output]:
        """Add a user item of ``pcm``; the buffer keeps only what follows ``until_ms``."""
        if until_ms is None:
            self._buffer_start_ms = self.audio_clock_ms
            self._buffer.clear()
        else:
            keep = self._slice(until_ms)
            self._buffer_start_ms = self.audio_clock_ms - len(keep) / 48
            self._buffer[:] = keep
        self._speech_item = None
        previous = self.conversation.last_id
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        entry = Entry(item=item, audio={0: bytearray(pcm)})
        self.conversation.add(entry)
        emit = self.session["audio"]["input"].get("transcription") is not None
        out: list[Output] = [
            self.event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id),
            self.event("conversation.item.added", previous_item_id=previous,
                       item=copy.deepcopy(item)),
            self.event("conversation.item.done", previous_item_id=previous,
                       item=copy.deepcopy(item)),
        ]
        if timeout:
            item["content"][0]["transcript"] = ""
        else:
            out.append(Transcribe(item_id, pcm, key, emit, parts))
        return out

    def transcribed(self, item_id: str, text: str, emit: bool,
                    audio_ms: float) -> list[Output]:
        """Report a finished transcription (or ``None`` text for a failure)."""
        if item_id not in self.conversation:
            return []
        item = self.conversation.get(item_id).item
        item["content"][0]["transcript"] = text
        if not emit:
            return []
        out: list[Output] = []
        words = text.split(" ")
        for i, word in enumerate(words):
            delta = word if i == 0 else " " + word
            if delta:
                out.append(self.event("conversation.item.input_audio_transcription.delta",
                                      item_id=item_id, content_index=0, delta=delta))
        out.append(self.event(
            "conversation.item.input_audio_transcription.completed", item_id=item_id,
            content_index=0, transcript=text,
            usage={"type": "duration", "seconds": round(audio_ms / 1000, 3)}))
        return out

    def transcription_failed(self, item_id: str, message: str, emit: bool) -> list[Output]:
        if item_id in self.conversation:
            self.conversation.get(item_id).item["content"][0]["transcript"] = ""
        if not emit:
            return []
        return [self.event("conversation.item.input_audio_transcription.failed",
                           item_id=item_id, content_index=0,
                           error={"type": "transcription_error", "code": "asr_failed",
                                  "message": message, "param": None})]

    def _clear(self, ev: dict) -> list[Output]:
        self._buffer_start_ms = self.audio_clock_ms
        self._buffer.clear()
        self._speech_item = None
        self._turn = turns.TurnState(t_ms=self._turn.t_ms)
        if self._vad is not None:
            self._vad.reset()
        return [*self._discard_parts(), self.event("input_audio_buffer.cleared")]

    def _output_clear(self, ev: dict) -> list[Output]:
        if self.server_playback:
            return [ClearOutputAudio()]
        raise ProtocolError(
            "unsupported_event",
            "output_audio_buffer.clear is for WebRTC and SIP; over WebSocket the client owns "
            "playback (stop it, then send conversation.item.truncate).")

    # -- conversation items ------------------------------------------------------------------

    def _item_create(self, ev: dict) -> list[Output]:
        item = dict(ev["item"])
        kind = item.get("type")
        if item.get("id") is None:  # absent or null: the server assigns one
            item["id"] = self.new_id("item")
        item["object"] = "realtime.item"
        audio: dict[int, bytearray] = {}
        if kind == "message":
            item["status"] = "completed"
            content = [dict(part) for part in item.get("content") or []]
            for index, part in enumerate(content):
                if part.get("type") is None:  # optional in the SDK's model, required on the wire
                    raise ProtocolError("missing_required_parameter",
                                        f"Missing required parameter: "
                                        f"'item.content[{index}].type'.",
                                        f"item.content[{index}].type")
                if part.get("type") == "input_audio" and part.get("audio"):
                    audio[index] = bytearray(self._decode_item_audio(part.pop("audio")))
                    part.setdefault("transcript", None)
                elif part.get("type") == "input_image":
                    url = part.get("image_url") or ""
                    if not url.startswith("data:image/"):
                        raise ProtocolError("invalid_value",
                                            "image_url must be a data:image/... URL.",
                                            f"item.content[{index}].image_url")
            item["content"] = content
        elif kind == "function_call":
            if item.get("call_id") is None:
                item["call_id"] = self.new_id("call")
            if item.get("status") is None:
                item["status"] = "completed"
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not any(i.get("type") == "function_call" and i.get("call_id") == call_id
                       for i in self.conversation.items()):
                raise ProtocolError("invalid_value",
                                    f"No tool call found for function call output with "
                                    f"call_id '{call_id}'.", "item.call_id")
        else:
            raise ProtocolError("invalid_value", f"Unsupported item type '{kind}'.", "item.type")
        previous = self.conversation.add(Entry(item=item, audio=audio),
                                         ev.get("previous_item_id"))
        out: list[Output] = [
            self.event("conversation.item.added", previous_item_id=previous,
                       item=copy.deepcopy(item)),
            self.event("conversation.item.done", previous_item_id=previous,
                       item=copy.deepcopy(item)),
        ]
        for index, pcm in audio.items():
            if item["content"][index].get("transcript") is None:
                emit = self.session["audio"]["input"].get("transcription") is not None
                out.append(Transcribe(item["id"], bytes(pcm), None, emit))
        return out

    def _decode_item_audio(self, data: str) -> bytes:
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_value", "Item audio is not valid base64.",
                                "item.content.audio") from None
        fmt = cfgmod.format_type(self.session["audio"]["input"]["format"])
        try:
            return wire_audio.decode(raw, fmt)
        except ValueError as exc:
            raise ProtocolError("invalid_value", f"Invalid item audio: {exc}.",
                                "item.content.audio") from None

    def _item_retrieve(self, ev: dict) -> list[Output]:
        return [self.event("conversation.item.retrieved",
                           item=self.conversation.retrieve(ev["item_id"]))]

    def _item_delete(self, ev: dict) -> list[Output]:
        self.conversation.delete(ev["item_id"])
        return [self.event("conversation.item.deleted", item_id=ev["item_id"])]

    def _item_truncate(self, ev: dict) -> list[Output]:
        self.conversation.truncate(ev["item_id"], ev["content_index"], ev["audio_end_ms"])
        return [self.event("conversation.item.truncated", item_id=ev["item_id"],
                           content_index=ev["content_index"], audio_end_ms=ev["audio_end_ms"])]

    # -- responses ---------------------------------------------------------------------------

    def _response_create(self, ev: dict) -> list[Output]:
        # An explicit null means "not set": the session's value applies.
        req = {k: v for k, v in (ev.get("response") or {}).items() if v is not None}
        return self._create_response(req)

    def _create_response(self, req: dict) -> list[Output]:
        in_band = req.get("conversation", "auto") != "none"
        if in_band and self.active:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.active}. "
                "Wait until the response is finished before creating a new one.")
        params = self._response_params(req)
        rid = self.new_id("resp")
        resp = Response(id=rid, params=params, in_band=in_band)
        if "input" in req:
            resp.input_items = self._resolve_input(req["input"])
        if params["audio_format"] != "audio/pcm":
            resp.encoder = wire_audio.StreamEncoder(params["audio_format"])
        self.responses[rid] = resp
        if in_band:
            self.active = rid
        return [self.event("response.created", response=self._response_obj(resp)),
                StartResponse(rid)]

    def _response_params(self, req: dict) -> dict[str, Any]:
        s = self.session
        out_audio = (req.get("audio") or {}).get("output") or {}
        fmt = out_audio.get("format") or s["audio"]["output"]["format"]
        tools = req.get("tools", s["tools"]) or []
        cfgmod.check_tools(tools, "response.tools")
        tool_choice = req.get("tool_choice", s["tool_choice"])
        if (isinstance(tool_choice, dict) and tool_choice.get("type") == "function"
                and tool_choice.get("name") not in {t.get("name") for t in tools}):
            raise ProtocolError("invalid_value",
                                f"tool_choice names unknown tool '{tool_choice.get('name')}'.",
                                "response.tool_choice")
        modalities = req.get("output_modalities")
        if modalities is None:
            modalities = s["output_modalities"]
        else:
            cfgmod.check_modalities(modalities, "response.output_modalities")
        voice = out_audio.get("voice")
        if voice is None:
            voice = s["audio"]["output"]["voice"]
        if isinstance(voice, str) and voice not in cfgmod.VOICES:
            raise ProtocolError("invalid_value", f"Unknown voice {voice!r}.",
                                "response.audio.output.voice")
        return {
            "instructions": req.get("instructions", s["instructions"]) or "",
            "tools": tools,
            "tool_choice": tool_choice,
            "output_modalities": list(modalities),
            "max_output_tokens": req.get("max_output_tokens", s["max_output_tokens"]),
            "voice": voice,
            "speed": s["audio"]["output"].get("speed") or 1.0,
            "audio_format": cfgmod.format_type(fmt),
            "format_obj": fmt,
            "metadata": req.get("metadata"),
            "conversation": req.get("conversation", "auto"),
        }

    def _resolve_input(self, items: list[dict]) -> list[dict[str, Any]]:
        resolved = []
        for i, item in enumerate(items):
            if item.get("type") == "item_reference":
                resolved.append(self.conversation.get(item.get("id", ""),
                                                      f"response.input[{i}].id").item)
            else:
                resolved.append(item)
        return resolved

    def _response_obj(self, resp: Response) -> dict[str, Any]:
        st = resp.state
        details = None
        if st.phase == "cancelled":
            details = {"type": "cancelled", "reason": st.reason}
        elif st.phase == "incomplete":
            details = {"type": "incomplete", "reason": st.reason}
        elif st.phase == "failed":
            details = {"type": "failed", "error": {"type": "server_error", "code": "server_error",
                                                   "message": st.reason}}
        p = resp.params
        obj = {
            "object": "realtime.response",
            "id": resp.id,
            "status": st.phase,
            "status_details": details,
            "output": copy.deepcopy(resp.output),
            "conversation_id": "conv_" + self._tag if resp.in_band else None,
            "output_modalities": p["output_modalities"],
            "max_output_tokens": p["max_output_tokens"],
            "audio": {"output": {"format": p["format_obj"], "voice": p["voice"]}},
            "metadata": p["metadata"],
            "usage": None,
        }
        if st.phase != "in_progress":
            obj["usage"] = self._usage(resp)
        return obj

    def _usage(self, resp: Response) -> dict[str, Any]:
        # Estimates: ~4 characters per text token; audio at 10 (in) / 20 (out) tokens per second.
        history = resp.input_items or self.conversation.history()
        in_text = len(resp.params["instructions"]) // 4
        in_audio = 0
        for item in history:
            for part in item.get("content") or []:
                text = part.get("text") or part.get("transcript") or ""
                in_text += len(text) // 4
            in_text += len(item.get("arguments", "") or "") // 4 + len(
                item.get("output", "") or "") // 4
        for entry_id in (i["id"] for i in history if i.get("role") == "user" and "id" in i):
            if entry_id in self.conversation:
                for pcm in self.conversation.get(entry_id).audio.values():
                    in_audio += int(len(pcm) / 48 / 100)
        out_text = resp.text_chars // 4
        out_audio = int(resp.audio_ms / 50)
        return {
            "total_tokens": in_text + in_audio + out_text + out_audio,
            "input_tokens": in_text + in_audio,
            "output_tokens": out_text + out_audio,
            "input_token_details": {"text_tokens": in_text, "audio_tokens": in_audio,
                                    "cached_tokens": 0,
                                    "cached_tokens_details": {"text_tokens": 0,
                                                              "audio_tokens": 0,
                                                              "image_tokens": 0}},
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }

    def brain_request(self, rid: str) -> BrainRequest:
        resp = self.responses[rid]
        p = resp.params
        history = resp.input_items if resp.input_items else (
            self.conversation.history() if resp.in_band or p["conversation"] != "none" else [])
        max_chars = None
        if isinstance(p["max_output_tokens"], int):
            max_chars = p["max_output_tokens"] * 4
        return BrainRequest(instructions=p["instructions"], tools=p["tools"],
                            tool_choice=p["tool_choice"], history=history,
                            max_output_chars=max_chars)

    def pending_transcripts(self, rid: str) -> list[str]:
        """User audio items this response must wait for (their transcript is not in yet)."""
        pending = []
        for item in self.brain_request(rid).history:
            for part in item.get("content") or []:
                if part.get("type") == "input_audio" and part.get("transcript") is None:
                    pending.append(item["id"])
        return pending

    def _live(self, rid: str) -> Response | None:
        resp = self.responses.get(rid)
        return resp if resp is not None and resp.active else None

    def _step(self, resp: Response, event: rsm.ResponseEvent) -> None:
        resp.state = rsm.transition(resp.state, event)

    def _item_events(self, resp: Response, kind: str, item: dict) -> list[Output]:
        """``response.output_item.<kind>`` then, in-band, ``conversation.item.<kind>``."""
        index = resp.output.index(item)
        snap = copy.deepcopy(item)
        out: list[Output] = [self.event(f"response.output_item.{kind}", response_id=resp.id,
                                        output_index=index, item=snap)]
        if resp.in_band:
            previous = self._previous_of(item["id"])
            out.append(self.event(f"conversation.item.{kind}", previous_item_id=previous,
                                  item=snap))
        return out

    def _previous_of(self, item_id: str) -> str | None:
        items = [i["id"] for i in self.conversation.items()]
        if item_id not in items:
            return None
        index = items.index(item_id)
        return items[index - 1] if index > 0 else None

    def output_message(self, rid: str) -> list[Output]:
        """Open an assistant message in a response."""
        resp = self._live(rid)
        if resp is None:
            return []
        item_id = self.new_id("item")
        part_type = "output_audio" if resp.audio_out else "output_text"
        item = {"id": item_id, "object": "realtime.item", "type": "message",
                "role": "assistant", "status": "in_progress", "content": []}
        self._step(resp, rsm.Open(item_id))
        resp.output.append(item)
        resp.message = item_id
        resp.audio_cursor_ms = 0.0
        if resp.in_band:
            self.conversation.add(Entry(item=item))
        out = self._item_events(resp, "added", item)
        part = {"type": "audio", "transcript": ""} if resp.audio_out else {"type": "text",
                                                                           "text": ""}
        item["content"].append({"type": part_type, **({"transcript": ""} if resp.audio_out
                                                      else {"text": ""})})
        out.append(self.event("response.content_part.added", response_id=rid, item_id=item_id,
                              output_index=resp.output.index(item), content_index=0, part=part))
        return out

    def output_chunk(self, rid: str, text: str, pcm: bytes = b"") -> list[Output]:
        """Add text (and, for audio output, the 24 kHz PCM16 that speaks it)."""
        resp = self._live(rid)
        if resp is None or resp.message is None:
            return []
        item = resp.output[-1]
        index = len(resp.output) - 1
        part = item["content"][0]
        ids = {"response_id": rid, "item_id": resp.message, "output_index": index,
               "content_index": 0}
        out: list[Output] = []
        resp.text_chars += len(text)
        entry = self.conversation.get(resp.message) if resp.in_band else None
        frozen = entry is not None and entry.frozen
        if resp.audio_out:
            if text:
                out.append(self.event("response.output_audio_transcript.delta", delta=text,
                                      **ids))
                if not frozen:
                    part["transcript"] += text
                    if entry is not None:
                        entry.segments.append((resp.audio_cursor_ms, text))
            if pcm:
                wire = resp.encoder.encode(pcm) if resp.encoder else pcm
                if wire:
                    out.append(self.event("response.output_audio.delta",
                                          delta=base64.b64encode(wire).decode(), **ids))
                ms = len(pcm) / 48
                resp.audio_ms += ms
                resp.audio_cursor_ms += ms
                if entry is not None and not frozen:
                    entry.audio.setdefault(0, bytearray()).extend(pcm)
        elif text:
            part["text"] += text
            out.append(self.event("response.output_text.delta", delta=text, **ids))
        return out

    def _close_message(self, resp: Response, status: str) -> list[Output]:
        item = resp.output[-1]
        index = len(resp.output) - 1
        part = item["content"][0]
        ids = {"response_id": resp.id, "item_id": item["id"], "output_index": index,
               "content_index": 0}
        out: list[Output] = []
        if resp.audio_out:
            if resp.encoder is not None:
                tail = resp.encoder.flush()
                if tail:
                    out.append(self.event("response.output_audio.delta",
                                          delta=base64.b64encode(tail).decode(), **ids))
                resp.encoder = wire_audio.StreamEncoder(resp.params["audio_format"])
            out.append(self.event("response.output_audio.done", **ids))
            out.append(self.event("response.output_audio_transcript.done",
                                  transcript=part["transcript"], **ids))
            done_part = {"type": "audio", "transcript": part["transcript"]}
        else:
            out.append(self.event("response.output_text.done", text=part["text"], **ids))
            done_part = {"type": "text", "text": part["text"]}
        out.append(self.event("response.content_part.done", part=done_part, **ids))
        item["status"] = status
        out.extend(self._item_events(resp, "done", item))
        resp.message = None
        return out

    def output_message_done(self, rid: str) -> list[Output]:
        resp = self._live(rid)
        if resp is None or resp.message is None:
            return []
        item_id = resp.message
        out = self._close_message(resp, "completed")
        self._step(resp, rsm.Close(item_id))
        return out

    def output_function_call(self, rid: str, name: str, arguments: str) -> list[Output]:
        resp = self._live(rid)
        if resp is None:
            return []
        item_id = self.new_id("item")
        call_id = self.new_id("call")
        item = {"id": item_id, "object": "realtime.item", "type": "function_call",
                "status": "in_progress", "name": name, "call_id": call_id, "arguments": ""}
        self._step(resp, rsm.Open(item_id))
        resp.output.append(item)
        if resp.in_band:
            self.conversation.add(Entry(item=item))
        out = self._item_events(resp, "added", item)
        index = len(resp.output) - 1
        ids = {"response_id": rid, "item_id": item_id, "output_index": index, "call_id": call_id}
        out.append(self.event("response.function_call_arguments.delta", delta=arguments, **ids))
        out.append(self.event("response.function_call_arguments.done", name=name,
                              arguments=arguments, **ids))
        item["arguments"] = arguments
        item["status"] = "completed"
        resp.text_chars += len(arguments)
        out.extend(self._item_events(resp, "done", item))
        self._step(resp, rsm.Close(item_id))
        return out

    def finish(self, rid: str, incomplete_reason: str | None = None) -> list[Output]:
        """End a response normally (or as ``incomplete`` with a reason)."""
        resp = self._live(rid)
        if resp is None:
            return []
        out: list[Output] = []
        if resp.message is not None:
            out.extend(self._close_message(resp, "incomplete" if incomplete_reason
                                           else "completed"))
        if incomplete_reason:
            self._step(resp, rsm.Stop("incomplete", incomplete_reason))
        else:
            self._step(resp, rsm.Finish())
        return out + self._done(resp)

    def fail(self, rid: str, message: str) -> list[Output]:
        resp = self._live(rid)
        if resp is None:
            return []
        out: list[Output] = []
        if resp.message is not None:
            out.extend(self._close_message(resp, "incomplete"))
        self._step(resp, rsm.Stop("failed", message))
        return out + self._done(resp)

    def cancel(self, rid: str, reason: str) -> list[Output]:
        resp = self._live(rid)
        if resp is None:
            return []
        out: list[Output] = []
        if resp.message is not None:
            out.extend(self._close_message(resp, "incomplete"))
        self._step(resp, rsm.Cancel(reason))  # type: ignore[arg-type]
        return [*out, *self._done(resp), CancelResponse(rid)]

    def _done(self, resp: Response) -> list[Output]:
        if self.active == resp.id:
            self.active = None
        if self.turn_detection is not None and resp.in_band:
            self._turn = turns.arm_idle_timeout(self._turn, int(resp.audio_ms))
        out: list[Output] = [self.event("response.done", response=self._response_obj(resp))]
        out.append(self.event("rate_limits.updated", rate_limits=[
            {"name": "requests", "limit": 10000, "remaining": 9999, "reset_seconds": 0.006},
            {"name": "tokens", "limit": 1000000, "remaining": 999000, "reset_seconds": 0.06},
        ]))
        # Keep memory bounded: finished responses are only needed for their ids.
        resp.input_items = []
        return out

    def _response_cancel(self, ev: dict) -> list[Output]:
        rid = ev.get("response_id") or self.active
        if rid is None:
            live = [r.id for r in self.responses.values() if r.active]
            rid = live[-1] if live else None
        if rid is None or self._live(rid) is None:
            raise ProtocolError("response_cancel_not_active",
                                "Cancellation failed: no active response found.")
        return self.cancel(rid, "client_cancelled")


_HANDLERS: dict[str, Callable[[RealtimeCore, dict], list[Output]]] = {
    "session.update": RealtimeCore._session_update,
    "input_audio_buffer.append": RealtimeCore._append,
    "input_audio_buffer.commit": RealtimeCore._commit_event,
    "input_audio_buffer.clear": RealtimeCore._clear,
    "output_audio_buffer.clear": RealtimeCore._output_clear,
    "conversation.item.create": RealtimeCore._item_create,
    "conversation.item.retrieve": RealtimeCore._item_retrieve,
    "conversation.item.delete": RealtimeCore._item_delete,
    "conversation.item.truncate": RealtimeCore._item_truncate,
    "response.create": RealtimeCore._response_create,
    "response.cancel": RealtimeCore._response_cancel,
}
