"""The event vocabulary: every event name rtnb branches on, in one place.

Three kinds of names live here:

- **Wire events** of the GA Realtime protocol that rtnb reads or writes
  (``SPEECH_STARTED``, ``RESPONSE_DONE``, ...). The spelling is OpenAI's.
- **Local events**: what a session itself did (connected, handed off, flushed
  playback, ran a guardrail, asked the supervisor). They share the event log with
  the wire events, as ``{"type": "local.…", ...}`` dicts, and are written and read
  through the frozen records below, one per kind.
- **Markers** inside events: the handoff tool prefix and the session's corrective
  message after a guardrail trip.

Nothing here imports the rest of rtnb, so every layer (engine, session,
analysis, notebook) may import it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

# -- client events ---------------------------------------------------------------------------

SESSION_UPDATE = "session.update"
INPUT_AUDIO_APPEND = "input_audio_buffer.append"
INPUT_AUDIO_COMMIT = "input_audio_buffer.commit"
INPUT_AUDIO_CLEAR = "input_audio_buffer.clear"
OUTPUT_AUDIO_CLEAR = "output_audio_buffer.clear"
ITEM_CREATE = "conversation.item.create"
ITEM_RETRIEVE = "conversation.item.retrieve"
ITEM_DELETE = "conversation.item.delete"
ITEM_TRUNCATE = "conversation.item.truncate"
RESPONSE_CREATE = "response.create"
RESPONSE_CANCEL = "response.cancel"

# -- server events ---------------------------------------------------------------------------

ERROR = "error"
SESSION_CREATED = "session.created"
SESSION_UPDATED = "session.updated"
SPEECH_STARTED = "input_audio_buffer.speech_started"
SPEECH_STOPPED = "input_audio_buffer.speech_stopped"
COMMITTED = "input_audio_buffer.committed"
CLEARED = "input_audio_buffer.cleared"
TIMEOUT_TRIGGERED = "input_audio_buffer.timeout_triggered"
ITEM_ADDED = "conversation.item.added"
ITEM_DONE = "conversation.item.done"
ITEM_TRUNCATED = "conversation.item.truncated"
ITEM_DELETED = "conversation.item.deleted"
ITEM_RETRIEVED = "conversation.item.retrieved"
TRANSCRIPTION_DELTA = "conversation.item.input_audio_transcription.delta"
TRANSCRIPTION_COMPLETED = "conversation.item.input_audio_transcription.completed"
TRANSCRIPTION_FAILED = "conversation.item.input_audio_transcription.failed"
RESPONSE_CREATED = "response.created"
RESPONSE_DONE = "response.done"
OUTPUT_ITEM_ADDED = "response.output_item.added"
OUTPUT_ITEM_DONE = "response.output_item.done"
CONTENT_PART_ADDED = "response.content_part.added"
CONTENT_PART_DONE = "response.content_part.done"
AUDIO_DELTA = "response.output_audio.delta"
AUDIO_DONE = "response.output_audio.done"
AUDIO_TRANSCRIPT_DELTA = "response.output_audio_transcript.delta"
AUDIO_TRANSCRIPT_DONE = "response.output_audio_transcript.done"
TEXT_DELTA = "response.output_text.delta"
TEXT_DONE = "response.output_text.done"
CALL_ARGUMENTS_DELTA = "response.function_call_arguments.delta"
CALL_ARGUMENTS_DONE = "response.function_call_arguments.done"
RATE_LIMITS_UPDATED = "rate_limits.updated"
OUTPUT_AUDIO_STARTED = "output_audio_buffer.started"
OUTPUT_AUDIO_STOPPED = "output_audio_buffer.stopped"
OUTPUT_AUDIO_CLEARED = "output_audio_buffer.cleared"
MCP_LIST_TOOLS_IN_PROGRESS = "mcp_list_tools.in_progress"
MCP_LIST_TOOLS_COMPLETED = "mcp_list_tools.completed"
MCP_LIST_TOOLS_FAILED = "mcp_list_tools.failed"
MCP_CALL_ARGUMENTS_DELTA = "response.mcp_call_arguments.delta"
MCP_CALL_ARGUMENTS_DONE = "response.mcp_call_arguments.done"
MCP_CALL_IN_PROGRESS = "response.mcp_call.in_progress"
MCP_CALL_COMPLETED = "response.mcp_call.completed"
MCP_CALL_FAILED = "response.mcp_call.failed"

#: Text streamed by the assistant, spoken or written.
TEXT_DELTAS = frozenset({AUDIO_TRANSCRIPT_DELTA, TEXT_DELTA})
#: High-volume events: audio in both directions and streamed text.
BULK = frozenset({INPUT_AUDIO_APPEND, AUDIO_DELTA, AUDIO_TRANSCRIPT_DELTA, TEXT_DELTA})
#: The server's events that end an input audio buffer.
BUFFER_ENDS = frozenset({COMMITTED, CLEARED, TIMEOUT_TRIGGERED})

# -- markers ---------------------------------------------------------------------------------

HANDOFF_PREFIX = "transfer_to_"


def handoff_tool_name(agent_name: str) -> str:
    """openai-agents' naming: ``transfer_to_`` + the name lower-cased, non-alphanumerics → ``_``."""
    return HANDOFF_PREFIX + re.sub(r"[^a-z0-9]", "_", agent_name.lower())


def is_handoff(tool_name: str | None) -> bool:
    """True for a handoff tool's name (``transfer_to_<agent>``)."""
    return bool(tool_name) and tool_name.startswith(HANDOFF_PREFIX)  # type: ignore[union-attr]


def handoff_target(tool_name: str) -> str:
    """The agent part of a handoff tool's name (``transfer_to_billing`` → ``billing``)."""
    return tool_name[len(HANDOFF_PREFIX):] if is_handoff(tool_name) else ""


#: Item ids of the session's corrective messages (sent after a guardrail trip).
CORRECTION_ID_PREFIX = "item_rtnbfix"
CORRECTION_TEMPLATE = ("Your last answer was blocked by the {guardrail} guardrail ({category}: "
                       "{rationale}). Apologise briefly and answer again within policy.")
_CORRECTION_TEXT = re.compile(r"\bblocked by (?:the )?\S+ guardrail\b", re.IGNORECASE)


def correction_text(guardrail: str, category: str, rationale: str | None) -> str:
    """The corrective user message after ``guardrail`` tripped."""
    return CORRECTION_TEMPLATE.format(guardrail=guardrail, category=category,
                                      rationale=rationale or "no reason given")


def is_correction(item: dict[str, Any], text: str | None = None) -> bool:
    """True for a corrective message: rtnb's item id, or its wording (``text``) from any client."""
    if str(item.get("id") or "").startswith(CORRECTION_ID_PREFIX):
        return True
    return text is not None and _CORRECTION_TEXT.search(text) is not None


# -- local events ----------------------------------------------------------------------------

LOCAL_PREFIX = "local."


@dataclass(frozen=True)
class LocalEvent:
    """A session's own event. ``to_event()`` gives the logged dict; ``parse`` reads one back."""

    TYPE: ClassVar[str] = ""

    def to_event(self) -> dict[str, Any]:
        data = {f.metadata.get("wire", f.name): getattr(self, f.name)
                for f in dataclasses.fields(self)}
        extra = data.pop("extra", None) or {}
        return {"type": self.TYPE, **data, **extra}

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> LocalEvent:
        known = {f.metadata.get("wire", f.name): f.name for f in dataclasses.fields(cls)}
        kwargs = {name: event[wire] for wire, name in known.items() if wire in event}
        if "extra" in known.values():
            kwargs["extra"] = {k: v for k, v in event.items() if k != "type" and k not in known}
        return cls(**kwargs)


def _local(cls: type[LocalEvent]) -> type[LocalEvent]:
    LOCAL_EVENTS[cls.TYPE] = cls
    return cls


LOCAL_EVENTS: dict[str, type[LocalEvent]] = {}


@_local
@dataclass(frozen=True)
class Connected(LocalEvent):
    """The session connected and configured its first agent."""

    TYPE: ClassVar[str] = "local.connected"
    agent: str = ""
    backend: str = ""


@_local
@dataclass(frozen=True)
class Reconnected(LocalEvent):
    """The session connected again; ``items`` are the restored messages."""

    TYPE: ClassVar[str] = "local.reconnected"
    agent: str = ""
    backend: str = ""
    previous: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)


@_local
@dataclass(frozen=True)
class Disconnected(LocalEvent):
    TYPE: ClassVar[str] = "local.disconnected"
    reason: str | None = None


@_local
@dataclass(frozen=True)
class Handoff(LocalEvent):
    """The conversation moved to agent ``to`` (``call_id`` is None for ``update_agent``)."""

    TYPE: ClassVar[str] = "local.handoff"
    to: str = ""
    call_id: str | None = None
    from_agent: str = field(default="", metadata={"wire": "from"})


@_local
@dataclass(frozen=True)
class GuardrailChecked(LocalEvent):
    """An output guardrail ran on a response's text so far (``final`` at its end)."""

    TYPE: ClassVar[str] = "local.guardrail"
    response_id: str = ""
    item_id: str | None = None
    final: bool = False
    result: dict[str, Any] = field(default_factory=dict)


@_local
@dataclass(frozen=True)
class GuardrailGaveUp(LocalEvent):
    """A corrective retry tripped again: no further retry."""

    TYPE: ClassVar[str] = "local.guardrail.gave_up"
    response_id: str = ""
    guardrail: str = ""


@_local
@dataclass(frozen=True)
class PlaybackFlushed(LocalEvent):
    """Local playback was flushed (barge-in, interrupt or guardrail) at ``played_ms``."""

    TYPE: ClassVar[str] = "local.playback.flushed"
    reason: str = ""
    item_id: str | None = None
    played_ms: float | None = None


@_local
@dataclass(frozen=True)
class SupervisorRequest(LocalEvent):
    TYPE: ClassVar[str] = "local.supervisor.request"
    call_id: str = ""
    context: str = ""


@_local
@dataclass(frozen=True)
class SupervisorTool(LocalEvent):
    TYPE: ClassVar[str] = "local.supervisor.tool"
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    output: str = ""


@_local
@dataclass(frozen=True)
class SupervisorResponse(LocalEvent):
    TYPE: ClassVar[str] = "local.supervisor.response"
    call_id: str = ""
    text: str = ""
    rounds: int = 0


@_local
@dataclass(frozen=True)
class Note(LocalEvent):
    """A free-form note a user or tool adds to the log (``extra`` holds its fields)."""

    TYPE: ClassVar[str] = "local.note"
    extra: dict[str, Any] = field(default_factory=dict)


@_local
@dataclass(frozen=True)
class ToolApprovalRequested(LocalEvent):
    """A tool call waits for the user: ``session.approve(call_id)`` or ``reject(call_id)``."""

    TYPE: ClassVar[str] = "local.tool.approval_requested"
    call_id: str = ""
    name: str = ""
    arguments: str = ""


@_local
@dataclass(frozen=True)
class ToolApproved(LocalEvent):
    """The user approved a waiting tool call: it runs now."""

    TYPE: ClassVar[str] = "local.tool.approved"
    call_id: str = ""
    name: str = ""


@_local
@dataclass(frozen=True)
class ToolRejected(LocalEvent):
    """The user rejected a waiting tool call; ``output`` is what the model is told instead."""

    TYPE: ClassVar[str] = "local.tool.rejected"
    call_id: str = ""
    name: str = ""
    reason: str | None = None
    output: str = ""


@_local
@dataclass(frozen=True)
class ToolGuardrailChecked(LocalEvent):
    """A tool output guardrail ran on a call's output before it went back to the model;
    when ``result["tripped"]``, ``output`` is the safe message sent in its place."""

    TYPE: ClassVar[str] = "local.tool.guardrail"
    call_id: str = ""
    name: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    output: str | None = None


@_local
@dataclass(frozen=True)
class MCPToolsListed(LocalEvent):
    """The session connected an MCP server and offers its ``tools`` (names) to the model."""

    TYPE: ClassVar[str] = "local.mcp.tools"
    server: str = ""
    tools: list[str] = field(default_factory=list)


#: What the model is told when a tool call was not approved (openai-agents' wording).
REJECTION_MESSAGE = "Tool execution was not approved."


def rejection_text(reason: str | None) -> str:
    """The function output for a rejected call: the rejection, and the user's reason if any."""
    return f"{REJECTION_MESSAGE} Reason: {reason}" if reason else REJECTION_MESSAGE


#: The function output that replaces a tool's output when a tool output guardrail trips.
TOOL_OUTPUT_BLOCKED = ("The output of {tool} was withheld by the {guardrail} guardrail "
                       "({category}). Tell the user you cannot share it.")


def blocked_output_text(tool: str, guardrail: str, category: str) -> str:
    return TOOL_OUTPUT_BLOCKED.format(tool=tool, guardrail=guardrail, category=category)


APPROVAL_EVENTS = frozenset({ToolApprovalRequested.TYPE, ToolApproved.TYPE, ToolRejected.TYPE})

SUPERVISOR_EVENTS = frozenset({SupervisorRequest.TYPE, SupervisorTool.TYPE,
                               SupervisorResponse.TYPE})


def is_local(kind: str) -> bool:
    return kind.startswith(LOCAL_PREFIX)


def parse_local(event: dict[str, Any]) -> LocalEvent | None:
    """The record for a logged local event, or None for an unknown kind."""
    cls = LOCAL_EVENTS.get(event.get("type", ""))
    return cls.from_event(event) if cls is not None else None
