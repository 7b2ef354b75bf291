"""The engine's protocol core, sans-I/O.

:class:`RealtimeCore` takes client events (JSON text) and returns server events
(dicts, each with an ``event_id``) plus :class:`Effect` requests for the slow
work the I/O layer runs: transcription and response generation. The I/O layer
reports results back through the ``output_*`` and :meth:`~RealtimeCore.transcribed`
methods. No sockets, no threads, no clocks besides the audio clock.

The core is a façade over one module per concern:

- :mod:`.validation`: client events checked (JSON, limits, the SDK's schemas, audio);
- :mod:`.input_audio`: the input buffer, turn detection and the speech's parts;
- :mod:`.items`: conversation items and the user's committed audio;
- :mod:`.response_params`: a response's parameters, wire object, usage and brain request;
- :mod:`.output`: streaming a response's messages and function calls;
- :mod:`.effects`: the work it asks of the I/O layer;

with the response lifecycle (one active response, one ``response.done`` each) in
:mod:`rtnb.engine.responses` and turn detection in :mod:`rtnb.engine.turns`.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable
from typing import Any

from ...audio import StreamEncoder
from ...events import (
    CLEARED,
    ERROR,
    INPUT_AUDIO_APPEND,
    INPUT_AUDIO_CLEAR,
    INPUT_AUDIO_COMMIT,
    ITEM_CREATE,
    ITEM_DELETE,
    ITEM_RETRIEVE,
    ITEM_TRUNCATE,
    OUTPUT_AUDIO_CLEAR,
    RATE_LIMITS_UPDATED,
    RESPONSE_CANCEL,
    RESPONSE_CREATE,
    RESPONSE_CREATED,
    RESPONSE_DONE,
    SESSION_CREATED,
    SESSION_UPDATE,
    SESSION_UPDATED,
    SPEECH_STARTED,
    SPEECH_STOPPED,
    TIMEOUT_TRIGGERED,
)
from ...models import LOCAL
from ..brain.base import BrainRequest
from ..config import default_session, default_transcription_session, format_type, merge_session
from ..conversation import Conversation
from ..errors import ProtocolError
from ..responses import (
    Cancel,
    Close,
    Finish,
    InProgress,
    Open,
    ResponseEvent,
    Stop,
    advance,
    begin,
    blocking,
    cancel_target,
)
from .effects import (
    CancelResponse,
    ClearOutputAudio,
    Discard,
    Effect,
    ListMcpTools,
    Output,
    PredictTurnEnd,
    Span,
    Speculate,
    StartResponse,
    Transcribe,
)
from .input_audio import (
    MAX_BUFFER_BYTES,
    PAUSE_MS,
    TURN_MODEL_WINDOW_MS,
    Detected,
    IdleTimeout,
    InputAudio,
    SpeechStarted,
    SpeechStopped,
)
from .items import ItemEvents, assign_item_id
from .mcp import McpServer, McpServers, masked, needs_approval
from .output import OutputStream
from .response_params import (
    RATE_LIMITS,
    Response,
    brain_request,
    pending_transcripts,
    resolve_input,
    response_object,
    response_params,
)
from .validation import (
    MAX_APPEND_BYTES,
    MAX_JSON_DEPTH,
    append_payload,
    client_event_id,
    client_event_models,
    event_type,
    parse_json,
    validated,
)

__all__ = [
    "RealtimeCore", "Response", "Effect", "Output", "Span", "StartResponse", "CancelResponse",
    "Transcribe", "Speculate", "Discard", "ClearOutputAudio", "PredictTurnEnd", "ListMcpTools",
    "client_event_models", "MAX_APPEND_BYTES", "MIN_COMMIT_MS", "MAX_BUFFER_BYTES",
    "MAX_JSON_DEPTH", "PAUSE_MS", "TURN_MODEL_WINDOW_MS",
]

MIN_COMMIT_MS = 100

log = logging.getLogger("rtnb.engine")


class RealtimeCore:
    """One realtime session's protocol state.

    ``vad_factory`` returns an object with ``process(pcm24: bytes) -> probabilities``
    (one per 32 ms frame) and ``reset()``. ``model`` is the name reported to clients.
    ``turn_model`` says the I/O layer runs :class:`PredictTurnEnd` (semantic_vad's
    end-of-turn model); without it semantic_vad uses its silence windows alone.
    ``intent="transcription"`` opens a transcription session: turn detection and input
    transcription events, no responses, and each item's audio dropped once transcribed.
    """

    #: True when the server plays the output audio (a WebRTC call): then
    #: ``output_audio_buffer.clear`` is accepted and becomes :class:`ClearOutputAudio`.
    server_playback = False

    def __init__(self, *, model: str = LOCAL,
                 vad_factory: Callable[[], Any] | None = None,
                 turn_model: bool = False, intent: str | None = None) -> None:
        tag = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._tag = tag
        session_id = f"sess_{tag}{secrets.token_hex(6)}"
        if intent not in (None, "transcription"):
            raise ValueError(f"unknown intent {intent!r}; the one intent is 'transcription'")
        self.session = (default_transcription_session(session_id) if intent
                        else default_session(session_id, model))
        self.conversation = Conversation()
        #: Every response of the session, by id (finished ones keep their final state).
        self.responses: dict[str, Response] = {}
        #: The responses in progress and the active one: the response machine's state.
        self.lifecycle = InProgress()
        self.input_audio = InputAudio(vad_factory, turn_model)
        self.items = ItemEvents(self.conversation, self.event, self.new_id)
        self.output = OutputStream(self.conversation, self.event, self.new_id)
        self.mcp = McpServers(self.conversation, self.event, self.new_id)
        #: The item id announced by ``speech_started`` for the turn in progress.
        self._speech_item: str | None = None
        self.input_audio.configure(self.turn_detection)

    # -- ids and events ----------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._tag}{next(self._counter):08d}"

    def event(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "event_id": self.new_id("event"), **fields}

    def error(self, err: ProtocolError, client_event_id: str | None = None) -> dict[str, Any]:
        return self.event(ERROR, error=err.payload(client_event_id))

    def start(self) -> list[Output]:
        """The events sent right after the upgrade."""
        return [self.event(SESSION_CREATED, session=self.session)]

    @property
    def audio_clock_ms(self) -> float:
        """Milliseconds of input audio appended in this session."""
        return self.input_audio.clock_ms

    @property
    def active(self) -> str | None:
        """The in-band response in progress (the conversation's active response)."""
        return self.lifecycle.active

    @property
    def transcription_only(self) -> bool:
        """A transcription session: no responses."""
        return self.session["type"] == "transcription"

    @property
    def turn_detection(self) -> dict | None:
        return self.session["audio"]["input"]["turn_detection"]

    # -- dispatch ----------------------------------------------------------------------------

    def receive(self, raw: str | bytes) -> list[Output]:
        """Handle one client message; always returns, errors become ``error`` events."""
        client_id = None
        try:
            obj = parse_json(raw)
            client_id = client_event_id(obj)
            kind = event_type(obj, _HANDLERS)
            if kind == INPUT_AUDIO_APPEND:
                return self._append(obj)  # hot path: checked by hand
            if kind == ITEM_CREATE:
                assign_item_id(obj, self.new_id)
            return _HANDLERS[kind](self, validated(kind, obj))
        except ProtocolError as err:
            return [self.error(err, client_id)]
        except Exception:  # a bug must cost one error event, never the connection
            log.exception("client event failed")
            return [self.error(ProtocolError(
                "server_error", "The server had an error while processing the event."),
                client_id)]

    # -- session -----------------------------------------------------------------------------

    def _session_update(self, ev: dict) -> list[Output]:
        old_input = format_type(self.session["audio"]["input"]["format"])
        old_td = self.turn_detection
        self.session = merge_session(self.session, ev["session"])
        new_input = format_type(self.session["audio"]["input"]["format"])
        if new_input != old_input:
            self.input_audio.set_format(new_input)
        out: list[Output] = []
        if self.turn_detection != old_td:
            out += self.input_audio.discard_parts()
            self.input_audio.configure(self.turn_detection)
        listing: list[Output] = []
        if ev["session"].get("tools") is not None:  # the client's own, secrets included
            listing = self.mcp.configure(ev["session"]["tools"])
            self.session["tools"] = [masked(t) for t in self.session["tools"]]
        return [*out, self.event(SESSION_UPDATED, session=self.session), *listing]

    # -- input audio and turns ---------------------------------------------------------------

    def _append(self, obj: dict) -> list[Output]:
        return self.feed_audio(self.input_audio.decode(append_payload(obj)))

    def feed_audio(self, pcm: bytes) -> list[Output]:
        """Append 24 kHz PCM16 to the input buffer and run turn detection."""
        self.input_audio.append(pcm)
        if self.turn_detection is None:
            return []
        out: list[Output] = []
        for found in self.input_audio.detect(pcm):
            out.extend(self._on_detected(found))
        return out

    def turn_prediction_wanted(self, key: Span) -> bool:
        """False once the user spoke again (or the turn ended) since ``key`` was asked."""
        return self.input_audio.turn_prediction_wanted(key)

    def turn_predicted(self, key: Span, probability: float | None) -> list[Output]:
        """Report the end-of-turn model's probability for ``key`` (``None``: it failed).

        A stale answer (the user spoke again) is ignored. A failure counts as finished,
        so the silence window decides. May end the turn at once.
        """
        out: list[Output] = []
        for found in self.input_audio.turn_predicted(key, probability):
            out.extend(self._on_detected(found))
        return out

    def _on_detected(self, found: Detected) -> list[Output]:
        """Server events for what turn detection found (effects pass through)."""
        td = self.turn_detection or {}
        if isinstance(found, Effect):
            return [found]
        if isinstance(found, SpeechStarted):
            self._speech_item = self.new_id("item")
            out: list[Output] = [self.event(SPEECH_STARTED, audio_start_ms=found.audio_start_ms,
                                            item_id=self._speech_item)]
            if td.get("interrupt_response", True) and self.active:
                out.extend(self.cancel(self.active, "turn_detected"))
            return out
        if isinstance(found, SpeechStopped):
            item_id = self._speech_item or self.new_id("item")
            out = [self.event(SPEECH_STOPPED, audio_end_ms=found.audio_end_ms, item_id=item_id)]
            out.extend(self._commit(item_id, found.pcm, found.key, found.parts))
            if td.get("create_response", True) and not self.transcription_only:
                out.extend(self._create_response({}))
            return out
        assert isinstance(found, IdleTimeout)
        item_id = self.new_id("item")
        out = [self.event(TIMEOUT_TRIGGERED, audio_start_ms=found.audio_start_ms,
                          audio_end_ms=found.audio_end_ms, item_id=item_id)]
        out.extend(self._commit(item_id, found.pcm, timeout=True))
        out.extend(self._create_response({}))
        return out

    def _commit_event(self, ev: dict) -> list[Output]:
        buffered = self.input_audio.buffered_ms
        if buffered < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered:.2f}ms of audio.")
        item_id = self._speech_item if self.input_audio.in_speech and self._speech_item \
            else self.new_id("item")
        out: list[Output] = [*self.input_audio.discard_parts()]
        out += self._commit(item_id, self.input_audio.take_all())
        self.input_audio.reset_turn()
        return out

    def _commit(self, item_id: str, pcm: bytes, key: Span | None = None,
                parts: tuple[tuple[Span, bytes], ...] = (),
                timeout: bool = False) -> list[Output]:
        """A user item of ``pcm`` (already taken from the buffer)."""
        self._speech_item = None
        return self.items.commit_audio(item_id, pcm, self.session, key, parts, timeout)

    def transcribed(self, item_id: str, text: str, emit: bool, audio_ms: float,
                    logprobs: list[dict[str, Any]] | None = None) -> list[Output]:
        """Report a finished transcription, with its tokens' log probabilities if known."""
        return self.items.transcribed(item_id, text, emit, audio_ms, logprobs,
                                      keep_audio=not self.transcription_only)

    def transcription_failed(self, item_id: str, message: str, emit: bool) -> list[Output]:
        return self.items.transcription_failed(item_id, message, emit)

    def _clear(self, ev: dict) -> list[Output]:
        self._speech_item = None
        return [*self.input_audio.clear(), self.event(CLEARED)]

    def _output_clear(self, ev: dict) -> list[Output]:
        if self.server_playback:
            return [ClearOutputAudio()]
        raise ProtocolError(
            "unsupported_event",
            "output_audio_buffer.clear is for WebRTC and SIP; over WebSocket the client owns "
            "playback (stop it, then send conversation.item.truncate).")

    # -- conversation items ------------------------------------------------------------------

    def _item_create(self, ev: dict) -> list[Output]:
        out = self.items.create(ev, self.session)
        item = ev["item"]
        if item.get("type") == "mcp_approval_response":
            # The answer continues the conversation at once: an approved call runs first.
            request = self.conversation.get(item["approval_request_id"]).item
            out += self._create_response({}, approved=request if item.get("approve") else None)
        return out

    def _item_retrieve(self, ev: dict) -> list[Output]:
        return self.items.retrieve(ev)

    def _item_delete(self, ev: dict) -> list[Output]:
        return self.items.delete(ev)

    def _item_truncate(self, ev: dict) -> list[Output]:
        return self.items.truncate(ev)

    # -- responses ---------------------------------------------------------------------------

    def _response_create(self, ev: dict) -> list[Output]:
        if self.transcription_only:
            raise ProtocolError("unsupported_event", "response.create is not supported in a "
                                "transcription session: it only transcribes input audio.")
        # An explicit null means "not set": the session's value applies.
        req = {k: v for k, v in (ev.get("response") or {}).items() if v is not None}
        return self._create_response(req)

    def _create_response(self, req: dict, approved: dict | None = None) -> list[Output]:
        in_band = req.get("conversation", "auto") != "none"
        active = blocking(self.lifecycle, in_band)
        if active is not None:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {active}. "
                "Wait until the response is finished before creating a new one.")
        params = response_params(self.session, req)
        rid = self.new_id("resp")
        resp = Response(id=rid, params=params, in_band=in_band, approved=approved)
        if "input" in req:
            resp.input_items = resolve_input(self.conversation, req["input"])
        if params["audio_format"] != "audio/pcm":
            resp.encoder = StreamEncoder(params["audio_format"])
        self.lifecycle = begin(self.lifecycle, rid, in_band)
        self.responses[rid] = resp
        return [self.event(RESPONSE_CREATED, response=self._response_obj(resp)),
                StartResponse(rid)]

    def _response_obj(self, resp: Response) -> dict[str, Any]:
        return response_object(resp, self.conversation, "conv_" + self._tag)

    def brain_request(self, rid: str) -> BrainRequest:
        """What the brain is asked for response ``rid`` (listed MCP tools included)."""
        resp = self.responses[rid]
        return brain_request(resp, self.conversation, self.mcp.functions(resp.params["tools"]))

    def preview_request(self, transcript: str) -> tuple[BrainRequest, dict[str, Any]] | None:
        """What the brain would be asked, and with which response parameters, if the
        speech in progress ended the turn now having said ``transcript``.

        None when such a turn would not start a spoken response from the session's
        defaults at once (no auto response, a response still blocks, text output). The
        I/O layer uses it to prepare a reply's first audio during the silence window.
        """
        td = self.turn_detection or {}
        if (self.transcription_only or not td.get("create_response", True)
                or blocking(self.lifecycle, True) is not None):
            return None
        params = response_params(self.session, {})
        if "audio" not in params["output_modalities"] or not transcript.strip():
            return None
        user = {"type": "message", "role": "user", "id": "item_preview", "status": "completed",
                "content": [{"type": "input_audio", "transcript": transcript}]}
        resp = Response(id="resp_preview", params=params, in_band=True,
                        input_items=[*self.conversation.history(), user])
        return brain_request(resp, self.conversation,
                             self.mcp.functions(params["tools"])), params

    def pending_transcripts(self, rid: str) -> list[str]:
        """User audio items this response must wait for (their transcript is not in yet)."""
        return pending_transcripts(self.brain_request(rid))

    def _live(self, rid: str) -> Response | None:
        """The response, while it is in progress."""
        return self.responses[rid] if self.lifecycle.state(rid) is not None else None

    def _step(self, resp: Response, event: ResponseEvent) -> None:
        self.lifecycle, resp.state = advance(self.lifecycle, resp.id, event)

    # -- output (the I/O layer reports what the brain and TTS produced) ----------------------

    def output_message(self, rid: str) -> list[Output]:
        """Open an assistant message in a response."""
        resp = self._live(rid)
        if resp is None:
            return []
        item_id, out = self.output.open_message(resp)
        self._step(resp, Open(item_id))
        return out

    def output_chunk(self, rid: str, text: str, pcm: bytes = b"") -> list[Output]:
        """Add text (and, for audio output, the 24 kHz PCM16 that speaks it)."""
        resp = self._live(rid)
        if resp is None or resp.message is None:
            return []
        return self.output.chunk(resp, text, pcm)

    def output_message_done(self, rid: str) -> list[Output]:
        resp = self._live(rid)
        if resp is None or resp.message is None:
            return []
        item_id = resp.message
        out = self.output.close_message(resp, "completed")
        self._step(resp, Close(item_id))
        return out

    def output_function_call(self, rid: str, name: str, arguments: str) -> list[Output]:
        resp = self._live(rid)
        if resp is None:
            return []
        item_id, out = self.output.function_call(resp, name, arguments)
        self._step(resp, Open(item_id))
        self._step(resp, Close(item_id))
        return out

    # -- MCP tools ---------------------------------------------------------------------------

    def mcp_tools_listed(self, item_id: str, tools: list[dict[str, Any]]) -> list[Output]:
        """Report the tools a :class:`ListMcpTools` found."""
        return self.mcp.listed(item_id, tools)

    def mcp_tools_failed(self, item_id: str, message: str) -> list[Output]:
        """Report that a :class:`ListMcpTools` failed."""
        return self.mcp.failed(item_id, message)

    def mcp_tool(self, rid: str, name: str) -> tuple[McpServer, bool] | None:
        """The MCP server whose tool ``name`` response ``rid`` may call, and whether the
        call needs approval; None when ``name`` is no MCP tool of the response."""
        found = self.mcp.find(self.responses[rid].params["tools"], name)
        if found is None:
            return None
        server, tool = found
        return server, needs_approval(server.config, tool)

    def approved_call(self, rid: str) -> dict[str, Any] | None:
        """The approved ``mcp_approval_request`` response ``rid`` runs first, if any."""
        return self.responses[rid].approved

    def output_mcp_call(self, rid: str, server_label: str, name: str, arguments: str,
                        approval_request_id: str | None = None) -> list[Output]:
        """Open an ``mcp_call`` item; the I/O layer runs it and reports with
        :meth:`output_mcp_result`."""
        resp = self._live(rid)
        if resp is None:
            return []
        item_id, out = self.output.mcp_call(resp, server_label, name, arguments,
                                            approval_request_id)
        self._step(resp, Open(item_id))
        return out

    def output_mcp_result(self, rid: str, output: str | None,
                          error: dict[str, Any] | None = None) -> list[Output]:
        """Close the open ``mcp_call`` with its output or error."""
        resp = self._live(rid)
        if resp is None or resp.mcp_call is None:
            return []
        item_id = resp.mcp_call
        out = self.output.mcp_result(resp, output, error)
        self._step(resp, Close(item_id))
        return out

    def output_mcp_approval_request(self, rid: str, server_label: str, name: str,
                                    arguments: str) -> list[Output]:
        """Ask the client to approve a call (``mcp_approval_request``)."""
        resp = self._live(rid)
        if resp is None:
            return []
        item_id, out = self.output.mcp_approval_request(resp, server_label, name, arguments)
        self._step(resp, Open(item_id))
        self._step(resp, Close(item_id))
        return out

    # -- termination -------------------------------------------------------------------------

    def finish(self, rid: str, incomplete_reason: str | None = None) -> list[Output]:
        """End a response normally (or as ``incomplete`` with a reason)."""
        return self._end(rid, Stop("incomplete", incomplete_reason) if incomplete_reason
                         else Finish())

    def fail(self, rid: str, message: str) -> list[Output]:
        """End a response as ``failed`` with ``message``."""
        return self._end(rid, Stop("failed", message))

    def cancel(self, rid: str, reason: str) -> list[Output]:
        """End a response as ``cancelled``; the I/O layer stops generating it."""
        return self._end(rid, Cancel(reason))  # type: ignore[arg-type]

    def _end(self, rid: str, how: Finish | Stop | Cancel) -> list[Output]:
        """The one way a response ends: close its open message, then ``response.done``
        and ``rate_limits.updated`` (a cancel also stops its generation)."""
        resp = self._live(rid)
        if resp is None:
            return []
        out: list[Output] = []
        if resp.message is not None:
            item_id = resp.message
            out.extend(self.output.close_message(
                resp, "completed" if isinstance(how, Finish) else "incomplete"))
            self._step(resp, Close(item_id))
        if resp.mcp_call is not None:  # cut off while the server was running it
            item_id = resp.mcp_call
            out.extend(self.output.mcp_result(resp, None, {
                "type": "tool_execution_error",
                "message": f"The response ended ({getattr(how, 'reason', None) or 'stopped'}) "
                           f"before the tool answered."}))
            self._step(resp, Close(item_id))
        self._step(resp, how)
        if self.turn_detection is not None and resp.in_band:
            self.input_audio.arm_idle_timeout(int(resp.audio_ms))
        out.append(self.event(RESPONSE_DONE, response=self._response_obj(resp)))
        out.append(self.event(RATE_LIMITS_UPDATED, rate_limits=[dict(r) for r in RATE_LIMITS]))
        # Keep memory bounded: finished responses are only needed for their ids.
        resp.input_items = []
        if isinstance(how, Cancel):
            out.append(CancelResponse(rid))
        return out

    def _response_cancel(self, ev: dict) -> list[Output]:
        rid = cancel_target(self.lifecycle, ev.get("response_id"))
        if rid is None:
            raise ProtocolError("response_cancel_not_active",
                                "Cancellation failed: no active response found.")
        return self.cancel(rid, "client_cancelled")


_HANDLERS: dict[str, Callable[[RealtimeCore, dict], list[Output]]] = {
    SESSION_UPDATE: RealtimeCore._session_update,
    INPUT_AUDIO_APPEND: RealtimeCore._append,
    INPUT_AUDIO_COMMIT: RealtimeCore._commit_event,
    INPUT_AUDIO_CLEAR: RealtimeCore._clear,
    OUTPUT_AUDIO_CLEAR: RealtimeCore._output_clear,
    ITEM_CREATE: RealtimeCore._item_create,
    ITEM_RETRIEVE: RealtimeCore._item_retrieve,
    ITEM_DELETE: RealtimeCore._item_delete,
    ITEM_TRUNCATE: RealtimeCore._item_truncate,
    RESPONSE_CREATE: RealtimeCore._response_create,
    RESPONSE_CANCEL: RealtimeCore._response_cancel,
}
