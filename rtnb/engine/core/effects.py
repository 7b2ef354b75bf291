"""The effects the protocol core asks of the I/O layer: the slow work it cannot do itself.

The core returns them among its server events (see :data:`Output`); the I/O layer
(:mod:`rtnb.engine.realtime`) runs each one and reports the result back through the
core's methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: A stretch of the input audio clock, ``(start_ms, end_ms)``.
Span = tuple[int, int]


class Effect:
    """Work for the I/O layer."""


@dataclass(frozen=True)
class StartResponse(Effect):
    """Generate response ``response_id`` (ask the brain, speak, report with ``output_*``)."""

    response_id: str


@dataclass(frozen=True)
class CancelResponse(Effect):
    """Stop generating ``response_id``; the core has already ended it on the wire."""

    response_id: str


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
    #: The session's ``include`` asks for the transcript's log probabilities.
    logprobs: bool = False


@dataclass(frozen=True)
class Speculate(Effect):
    """Decode a part of the speech early: the user has paused for ``PAUSE_MS``.

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
    Report the answer with ``RealtimeCore.turn_predicted`` and ``key``.
    """

    key: Span
    audio: bytes


@dataclass(frozen=True)
class ListMcpTools(Effect):
    """List the tools of the MCP server that session tool ``tool`` names; report them with
    ``RealtimeCore.mcp_tools_listed`` (or ``mcp_tools_failed``) and ``item_id``."""

    item_id: str
    tool: dict[str, Any]


#: What the core returns: server events (dicts with an ``event_id``) and effects, in order.
Output = dict[str, Any] | Effect
