"""A response's parameters, its wire object, its usage, and what the brain is asked.

``response.create`` may override the session's instructions, tools, tool choice, output
modalities, voice, format, token limit and metadata, run out of band
(``conversation: "none"``) and bring its own ``input``. :func:`response_params` merges
and checks them once; the rest of the core reads them from the :class:`Response` record.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..brain.base import BrainRequest
from ..config import VOICES, check_modalities, check_tools, format_type
from ..conversation import Conversation
from ..errors import ProtocolError
from ..responses import ResponseState

#: ``rate_limits.updated`` after every response (the local engine has no limits to report).
RATE_LIMITS = [
    {"name": "requests", "limit": 10000, "remaining": 9999, "reset_seconds": 0.006},
    {"name": "tokens", "limit": 1000000, "remaining": 999000, "reset_seconds": 0.06},
]


@dataclass
class Response:
    """One response: its parameters, where it stands, and what it has output so far."""

    id: str
    params: dict[str, Any]
    in_band: bool
    state: ResponseState = field(default_factory=ResponseState)
    output: list[dict[str, Any]] = field(default_factory=list)
    input_items: list[dict[str, Any]] = field(default_factory=list)
    text_chars: int = 0
    audio_ms: float = 0.0
    encoder: Any = None
    #: Current open message: item id, content index, audio offset (ms) of the next chunk.
    message: str | None = None
    audio_cursor_ms: float = 0.0
    #: The ``mcp_call`` item being run, if any.
    mcp_call: str | None = None
    #: The approved ``mcp_approval_request`` item this response runs first, if any.
    approved: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.state.phase == "in_progress"

    @property
    def audio_out(self) -> bool:
        return "audio" in self.params["output_modalities"]


def response_params(session: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a response: ``req`` (a ``response.create``'s ``response``) over
    the session's values, checked."""
    s = session
    out_audio = (req.get("audio") or {}).get("output") or {}
    fmt = out_audio.get("format") or s["audio"]["output"]["format"]
    tools = req.get("tools", s["tools"]) or []
    check_tools(tools, "response.tools")
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
        check_modalities(modalities, "response.output_modalities")
    voice = out_audio.get("voice")
    if voice is None:
        voice = s["audio"]["output"]["voice"]
    if isinstance(voice, str) and voice not in VOICES:
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
        "audio_format": format_type(fmt),
        "format_obj": fmt,
        "metadata": req.get("metadata"),
        "conversation": req.get("conversation", "auto"),
    }


def resolve_input(conversation: Conversation, items: list[dict]) -> list[dict[str, Any]]:
    """A response's own ``input``, with ``item_reference`` entries replaced by the items."""
    resolved = []
    for i, item in enumerate(items):
        if item.get("type") == "item_reference":
            resolved.append(conversation.get(item.get("id", ""), f"response.input[{i}].id").item)
        else:
            resolved.append(item)
    return resolved


def response_object(resp: Response, conversation: Conversation,
                    conversation_id: str) -> dict[str, Any]:
    """The ``response`` of ``response.created`` and ``response.done`` (with usage once over)."""
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
        "conversation_id": conversation_id if resp.in_band else None,
        "output_modalities": p["output_modalities"],
        "max_output_tokens": p["max_output_tokens"],
        "audio": {"output": {"format": p["format_obj"], "voice": p["voice"]}},
        "metadata": p["metadata"],
        "usage": None,
    }
    if st.phase != "in_progress":
        obj["usage"] = usage(resp, conversation)
    return obj


def usage(resp: Response, conversation: Conversation) -> dict[str, Any]:
    """Token estimates: ~4 characters per text token; audio at 10 (in) / 20 (out) tokens
    per second."""
    history = resp.input_items or conversation.history()
    in_text = len(resp.params["instructions"]) // 4
    in_audio = 0
    for item in history:
        for part in item.get("content") or []:
            text = part.get("text") or part.get("transcript") or ""
            in_text += len(text) // 4
        in_text += len(item.get("arguments", "") or "") // 4 + len(
            item.get("output", "") or "") // 4
    for entry_id in (i["id"] for i in history if i.get("role") == "user" and "id" in i):
        if entry_id in conversation:
            for pcm in conversation.get(entry_id).audio.values():
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


def brain_request(resp: Response, conversation: Conversation,
                  mcp_functions: Sequence[dict[str, Any]] = ()) -> BrainRequest:
    """What the brain sees for ``resp``: its parameters and the history it answers, with
    the listed MCP tools as ``mcp_functions`` beside its function tools."""
    p = resp.params
    history = resp.input_items if resp.input_items else (
        conversation.history() if resp.in_band or p["conversation"] != "none" else [])
    max_chars = None
    if isinstance(p["max_output_tokens"], int):
        max_chars = p["max_output_tokens"] * 4
    tools = [t for t in p["tools"] if t.get("type", "function") == "function"]
    return BrainRequest(instructions=p["instructions"], tools=[*tools, *mcp_functions],
                        tool_choice=p["tool_choice"], history=history,
                        max_output_chars=max_chars)


def pending_transcripts(request: BrainRequest) -> list[str]:
    """User audio items in the request's history whose transcript is not in yet."""
    pending = []
    for item in request.history:
        for part in item.get("content") or []:
            if part.get("type") == "input_audio" and part.get("transcript") is None:
                pending.append(item["id"])
    return pending
