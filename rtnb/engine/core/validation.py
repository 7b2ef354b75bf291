"""Validation of client events: JSON, limits, the SDK's schemas, and audio payloads.

Everything here either returns clean data or raises :class:`~rtnb.engine.errors.ProtocolError`
with OpenAI's code, message and ``param``; the core turns that into one ``error`` event.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Container
from typing import Any

from pydantic import ValidationError

from ...audio import decode
from ...events import (
    INPUT_AUDIO_APPEND,
    INPUT_AUDIO_CLEAR,
    INPUT_AUDIO_COMMIT,
    ITEM_CREATE,
    ITEM_DELETE,
    ITEM_RETRIEVE,
    ITEM_TRUNCATE,
    OUTPUT_AUDIO_CLEAR,
    RESPONSE_CANCEL,
    RESPONSE_CREATE,
    SESSION_UPDATE,
)
from ..errors import ProtocolError, from_validation

MAX_APPEND_BYTES = 15 * 1024 * 1024
#: Deepest JSON nesting a client event may have (tool schemas need far less; deeper
#: values would exhaust the stack while they are validated, copied and serialised).
MAX_JSON_DEPTH = 64


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
        SESSION_UPDATE: su.SessionUpdateEvent,
        INPUT_AUDIO_APPEND: iba.InputAudioBufferAppendEvent,
        INPUT_AUDIO_COMMIT: ibc.InputAudioBufferCommitEvent,
        INPUT_AUDIO_CLEAR: ibcl.InputAudioBufferClearEvent,
        OUTPUT_AUDIO_CLEAR: obc.OutputAudioBufferClearEvent,
        ITEM_CREATE: cic.ConversationItemCreateEvent,
        ITEM_RETRIEVE: cir.ConversationItemRetrieveEvent,
        ITEM_DELETE: cid.ConversationItemDeleteEvent,
        ITEM_TRUNCATE: cit.ConversationItemTruncateEvent,
        RESPONSE_CREATE: rcr.ResponseCreateEvent,
        RESPONSE_CANCEL: rc.ResponseCancelEvent,
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


def parse_json(raw: str | bytes) -> dict[str, Any]:
    """A client message as a JSON object."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", f"Invalid JSON: {exc}.") from None
    except RecursionError:
        raise ProtocolError("invalid_json", "Invalid JSON: nested too deeply.") from None
    if not isinstance(obj, dict):
        raise ProtocolError("invalid_event", "A client event must be a JSON object.")
    return obj


def client_event_id(obj: dict[str, Any]) -> str | None:
    """The client's ``event_id``, echoed in an error (only a string one)."""
    event_id = obj.get("event_id")
    return event_id if isinstance(event_id, str) else None


def event_type(obj: dict[str, Any], known: Container[str]) -> str:
    """The event's ``type``, once the event is within limits and the type is ``known``."""
    problem = _json_problem(obj, MAX_JSON_DEPTH)
    if problem is not None:
        raise ProtocolError(*problem)
    kind = obj.get("type")
    if kind is None:
        raise ProtocolError("missing_required_parameter",
                            "Missing required parameter: 'type'.", "type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_type", "'type' must be a string.", "type")
    if kind not in known:
        raise ProtocolError("unknown_event_type", f"Unknown event type '{kind[:80]}'.", "type")
    return kind


def validated(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The event checked against the SDK's model, as the fields the client set."""
    try:
        event = client_event_models()[kind].model_validate(obj)
    except ValidationError as exc:
        raise from_validation(exc) from None
    return event.model_dump(mode="json", exclude_unset=True)


def append_payload(obj: dict[str, Any]) -> bytes:
    """The audio bytes of an ``input_audio_buffer.append``, checked by hand (the hot path)."""
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
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("invalid_value", "'audio' is not valid base64.", "audio") from None


def item_audio(data: str, fmt: str) -> bytes:
    """The 24 kHz PCM16 of an item's ``input_audio`` content sent in format ``fmt``."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("invalid_value", "Item audio is not valid base64.",
                            "item.content.audio") from None
    try:
        return decode(raw, fmt)
    except ValueError as exc:
        raise ProtocolError("invalid_value", f"Invalid item audio: {exc}.",
                            "item.content.audio") from None
