"""The text step of the engine: what to say or which tool to call next.

A brain sees the conversation in the Realtime GA item shape and answers with a
:class:`BrainReply`. The default is the deterministic rule-based brain; any
OpenAI-compatible chat-completions endpoint can stand in for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class BrainError(RuntimeError):
    """A brain could not produce a reply (e.g. its chat-completions endpoint failed)."""


@dataclass(frozen=True)
class ToolCall:
    """A function call the brain wants the client to run."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class BrainRequest:
    """Everything a brain may look at for one response.

    ``tools`` are function tools as ``{"type": "function", "name", "description",
    "parameters"}``. ``tool_choice`` is ``"auto" | "none" | "required"`` or
    ``{"type": "function", "name": ...}``. ``history`` holds conversation items
    oldest first: ``message`` items (``role`` user/assistant/system, content parts
    ``input_text``/``input_audio`` (with ``transcript``)/``input_image``/
    ``output_text``/``output_audio`` (with ``transcript``)), ``function_call``
    items (``name``, ``arguments`` JSON string, ``call_id``) and
    ``function_call_output`` items (``call_id``, ``output`` string).
    """

    instructions: str = ""
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    history: list[dict[str, Any]] = field(default_factory=list)
    max_output_chars: int | None = None


@dataclass(frozen=True)
class BrainReply:
    """What to output: optional text (spoken first), then any tool calls."""

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)


@runtime_checkable
class Brain(Protocol):
    """The pluggable text step. ``name`` is reported as the model name.

    A brain may set ``predictable = True`` when the same request always gets the same
    reply and asking costs nothing (the rule brain): the engine then asks ahead during
    the silence window and prepares the reply's first audio. Others are asked once per
    response.
    """

    name: str

    async def respond(self, request: BrainRequest) -> BrainReply: ...


def item_text(item: dict[str, Any]) -> str:
    """The plain text of a message item (typed text or audio transcripts)."""
    parts = []
    for part in item.get("content") or []:
        text = part.get("text") if part.get("text") is not None else part.get("transcript")
        if text:
            parts.append(text)
    return " ".join(parts).strip()


def truncate_words(text: str, limit: int) -> str:
    """Cut at a word boundary so that the result has at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit + 1]
    cut = cut.rsplit(None, 1)[0] if " " in cut.strip() else text[:limit]
    return cut[:limit].rstrip(" ,;:-")
