"""Session configuration: GA defaults and ``session.update`` semantics.

Only the fields sent change. ``audio.input`` and ``audio.output`` merge field by
field, except ``turn_detection``, which is replaced whole (``null`` means
push-to-talk).

A session is one of two types, fixed when it opens: ``realtime`` (a conversation with
responses) or ``transcription`` (``?intent=transcription``: turn detection and input
transcription only, :func:`default_transcription_session`). An update must name the
session's own type.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from ..models import LOCAL_TRANSCRIPTION
from .errors import ProtocolError

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
FORMATS = ("audio/pcm", "audio/pcmu", "audio/pcma")
SESSION_TTL_S = 30 * 60
#: The one ``include`` value: log probabilities on input transcription events.
LOGPROBS = "item.input_audio_transcription.logprobs"
#: What a transcription session's server_vad keeps (responses do not exist there).
_TRANSCRIPTION_VAD = ("type", "threshold", "prefix_padding_ms", "silence_duration_ms")

DEFAULT_INSTRUCTIONS = (
    "You are a helpful voice assistant running on rtnb's local engine. Keep answers short."
)


def server_vad(**overrides: Any) -> dict[str, Any]:
    """The default server_vad turn detection object."""
    td = {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }
    td.update(overrides)
    return td


def default_session(session_id: str, model: str) -> dict[str, Any]:
    """A full GA session object as ``session.created`` reports it."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "expires_at": int(time.time()) + SESSION_TTL_S,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": server_vad(),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
    }


def default_transcription_session(session_id: str) -> dict[str, Any]:
    """A transcription session as ``session.created`` reports it (``type: "transcription"``):
    input audio only, transcribed by the engine's Whisper."""
    vad = server_vad()
    return {
        "type": "transcription",
        "object": "realtime.session",
        "id": session_id,
        "expires_at": int(time.time()) + SESSION_TTL_S,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": LOCAL_TRANSCRIPTION, "language": "en",
                                  "prompt": None},
                "noise_reduction": None,
                "turn_detection": {k: vad[k] for k in _TRANSCRIPTION_VAD},
            },
        },
    }


def wants_logprobs(session: dict[str, Any]) -> bool:
    """The session's ``include`` asks for transcription log probabilities."""
    return LOGPROBS in (session.get("include") or [])


#: Session fields that always hold a value: ``null`` in an update leaves them unchanged.
_NOT_NULL = {"type", "model", "output_modalities", "instructions", "tools", "tool_choice",
             "max_output_tokens", "audio"}
#: In ``audio.input``/``audio.output`` only these take ``null`` (to switch the feature off).
_NULLABLE_AUDIO = {"turn_detection", "transcription", "noise_reduction"}


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Apply a validated ``session.update`` payload; returns a new session object."""
    if update.get("type") != current["type"]:
        raise ProtocolError("invalid_value", f"This is a {current['type']} session: "
                            f"session.type must be '{current['type']}' (a session's type is "
                            f"set when it opens; connect with ?intent=transcription for a "
                            f"transcription session).", "session.type")
    new = copy.deepcopy(current)
    for key, value in update.items():
        if key in {"id", "object", "expires_at"} or (value is None and key in _NOT_NULL):
            continue
        if key == "audio" and isinstance(value, dict):
            for side in ("input", "output"):
                if side in value and value[side] is not None and side in new["audio"]:
                    new["audio"][side].update(_audio_side(side, value[side]))
            continue
        new[key] = copy.deepcopy(value)
    if new["type"] == "transcription":
        td = new["audio"]["input"].get("turn_detection")
        if td is not None and td.get("type") == "server_vad":
            new["audio"]["input"]["turn_detection"] = {k: td[k] for k in _TRANSCRIPTION_VAD}
    check_session(new)
    return new


def _audio_side(side: str, value: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in value.items() if v is not None or k in _NULLABLE_AUDIO}
    if side == "input" and "turn_detection" in out and out["turn_detection"] is not None:
        td = out["turn_detection"]
        if td.get("type") == "server_vad":
            out["turn_detection"] = server_vad(**{k: v for k, v in td.items() if v is not None})
        else:
            out["turn_detection"] = {
                "type": "semantic_vad",
                "eagerness": td.get("eagerness") or "auto",
                "create_response": td.get("create_response", True),
                "interrupt_response": td.get("interrupt_response", True),
            }
    if "format" in out and out["format"] is not None:
        fmt = dict(out["format"])
        if fmt.get("type") == "audio/pcm":
            fmt.setdefault("rate", 24000)
        out["format"] = fmt
    return out


def check_session(s: dict[str, Any]) -> None:
    """Semantic checks that the schema does not express."""
    if s.get("type") not in ("realtime", "transcription"):
        raise ProtocolError("invalid_value", "session.type must be 'realtime' or "
                            "'transcription'.", "session.type")
    audio = s["audio"]
    for side in audio:
        fmt = audio[side]["format"]
        if fmt.get("type") not in FORMATS:
            raise ProtocolError("invalid_value", f"Unsupported audio format {fmt.get('type')!r}.",
                                f"session.audio.{side}.format.type")
        if fmt.get("type") == "audio/pcm" and fmt.get("rate", 24000) != 24000:
            raise ProtocolError("invalid_value", "audio/pcm is 24000 Hz only.",
                                f"session.audio.{side}.format.rate")
    td = audio["input"].get("turn_detection")
    _check_turn_detection(td)
    if s["type"] == "transcription":
        return
    out = audio["output"]
    voice = out.get("voice")
    if isinstance(voice, str) and voice not in VOICES:
        raise ProtocolError("invalid_value",
                            f"Unknown voice {voice!r}; use one of {', '.join(VOICES)}.",
                            "session.audio.output.voice")
    speed = out.get("speed")
    if speed is not None and not 0.25 <= float(speed) <= 1.5:
        raise ProtocolError("invalid_value", "speed must be between 0.25 and 1.5.",
                            "session.audio.output.speed")
    check_tools(s.get("tools") or [], "session.tools")
    check_modalities(s.get("output_modalities"), "session.output_modalities")
    choice = s.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get(
            "name") not in {t.get("name") for t in s.get("tools") or []}:
        raise ProtocolError("invalid_value", f"tool_choice names unknown tool "
                            f"'{choice.get('name')}'.", "session.tool_choice")


def _check_turn_detection(td: dict[str, Any] | None) -> None:
    if td is not None and td.get("type") == "server_vad":
        if not 0.0 <= float(td["threshold"]) <= 1.0:
            raise ProtocolError("invalid_value", "threshold must be between 0 and 1.",
                                "session.audio.input.turn_detection.threshold")
        for k in ("prefix_padding_ms", "silence_duration_ms"):
            if int(td[k]) < 0:
                raise ProtocolError("invalid_value", f"{k} must be >= 0.",
                                    f"session.audio.input.turn_detection.{k}")
    if td is not None and td.get("type") == "semantic_vad" and td.get("eagerness") not in (
            "low", "medium", "high", "auto"):
        raise ProtocolError("invalid_value", "eagerness must be low, medium, high or auto.",
                            "session.audio.input.turn_detection.eagerness")


def check_modalities(modalities: Any, param: str) -> None:
    """GA realtime answers in audio (with a transcript) or in text, never both."""
    if modalities not in (["audio"], ["text"]):
        raise ProtocolError("invalid_value", f"Invalid modalities: {modalities}. Supported "
                            f"combinations are: ['text'] and ['audio'].", param)


def check_tools(tools: list[dict[str, Any]], param: str) -> None:
    names = set()
    for i, tool in enumerate(tools):
        if tool.get("type") not in (None, "function"):  # absent or null: a function
            continue
        name = tool.get("name")
        if not name:
            raise ProtocolError("missing_required_parameter", "A function tool needs a name.",
                                f"{param}[{i}].name")
        if name in names:
            raise ProtocolError("invalid_value", f"Duplicate tool name {name!r}.",
                                f"{param}[{i}].name")
        names.add(name)
        params = tool.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise ProtocolError("invalid_type", "Tool parameters must be a JSON schema object.",
                                f"{param}[{i}].parameters")


def format_type(fmt: Any) -> str:
    """The format name of a GA format object (or a bare beta-style string)."""
    if isinstance(fmt, dict):
        return fmt.get("type", "audio/pcm")
    return fmt or "audio/pcm"
