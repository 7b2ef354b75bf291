"""Conversation items on the wire: create, retrieve, delete, truncate, and the user's audio.

:class:`ItemEvents` changes the :class:`~rtnb.engine.conversation.Conversation` for the
client's ``conversation.item.*`` events and for committed input audio, and returns the
server events (and :class:`~.effects.Transcribe` effects) that report it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ...events import (
    COMMITTED,
    ITEM_ADDED,
    ITEM_DELETED,
    ITEM_DONE,
    ITEM_RETRIEVED,
    ITEM_TRUNCATED,
    TRANSCRIPTION_COMPLETED,
    TRANSCRIPTION_DELTA,
    TRANSCRIPTION_FAILED,
)
from ..config import format_type, wants_logprobs
from ..conversation import Conversation, Entry
from ..errors import ProtocolError
from .effects import Output, Span, Transcribe
from .validation import item_audio

#: Makes a server event: ``event(type, **fields)``.
EventMaker = Callable[..., dict[str, Any]]


def assign_item_id(obj: dict[str, Any], new_id: Callable[[str], str]) -> None:
    """Give an ``mcp_approval_response`` without an ``id`` one before it is validated.

    The SDK's model requires the id, but clients leave it to the server (the JavaScript
    Agents SDK sends none), as for every other item.
    """
    item = obj.get("item")
    if isinstance(item, dict) and item.get("type") == "mcp_approval_response" \
            and item.get("id") is None:
        item["id"] = new_id("mcpa")


def transcribes(session: dict[str, Any]) -> bool:
    """The session asked for input transcription events."""
    return session["audio"]["input"].get("transcription") is not None


class ItemEvents:
    """The conversation's items, as the client and the input buffer change them."""

    def __init__(self, conversation: Conversation, event: EventMaker,
                 new_id: Callable[[str], str]) -> None:
        self.conversation = conversation
        self._event = event
        self._new_id = new_id

    def _added_and_done(self, previous: str | None, item: dict[str, Any]) -> list[Output]:
        return [self._event(ITEM_ADDED, previous_item_id=previous, item=copy.deepcopy(item)),
                self._event(ITEM_DONE, previous_item_id=previous, item=copy.deepcopy(item))]

    # -- client events ---------------------------------------------------------------------

    def create(self, ev: dict, session: dict[str, Any]) -> list[Output]:
        """``conversation.item.create``: a message, a function call or its output, or the
        answer to an MCP approval request."""
        item = dict(ev["item"])
        kind = item.get("type")
        if item.get("id") is None:  # absent or null: the server assigns one
            item["id"] = self._new_id("item")
        item["object"] = "realtime.item"
        audio: dict[int, bytearray] = {}
        if kind == "message":
            item["status"] = "completed"
            content = [dict(part) for part in item.get("content") or []]
            fmt = format_type(session["audio"]["input"]["format"])
            for index, part in enumerate(content):
                if part.get("type") is None:  # optional in the SDK's model, required on the wire
                    raise ProtocolError("missing_required_parameter",
                                        f"Missing required parameter: "
                                        f"'item.content[{index}].type'.",
                                        f"item.content[{index}].type")
                if part.get("type") == "input_audio" and part.get("audio"):
                    audio[index] = bytearray(item_audio(part.pop("audio"), fmt))
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
                item["call_id"] = self._new_id("call")
            if item.get("status") is None:
                item["status"] = "completed"
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not any(i.get("type") == "function_call" and i.get("call_id") == call_id
                       for i in self.conversation.items()):
                raise ProtocolError("invalid_value",
                                    f"No tool call found for function call output with "
                                    f"call_id '{call_id}'.", "item.call_id")
        elif kind == "mcp_approval_response":
            request_id = item.get("approval_request_id")
            if not any(i.get("type") == "mcp_approval_request" and i.get("id") == request_id
                       for i in self.conversation.items()):
                raise ProtocolError("invalid_value", f"No MCP approval request found with id "
                                    f"'{request_id}'.", "item.approval_request_id")
            if any(i.get("type") == "mcp_approval_response"
                   and i.get("approval_request_id") == request_id
                   for i in self.conversation.items()):
                raise ProtocolError("invalid_value", f"MCP approval request '{request_id}' "
                                    f"was already answered.", "item.approval_request_id")
        else:
            raise ProtocolError("invalid_value", f"Unsupported item type '{kind}'.", "item.type")
        previous = self.conversation.add(Entry(item=item, audio=audio),
                                         ev.get("previous_item_id"))
        out = self._added_and_done(previous, item)
        for index, pcm in audio.items():
            if item["content"][index].get("transcript") is None:
                out.append(Transcribe(item["id"], bytes(pcm), None, transcribes(session),
                                      logprobs=wants_logprobs(session)))
        return out

    def retrieve(self, ev: dict) -> list[Output]:
        return [self._event(ITEM_RETRIEVED, item=self.conversation.retrieve(ev["item_id"]))]

    def delete(self, ev: dict) -> list[Output]:
        self.conversation.delete(ev["item_id"])
        return [self._event(ITEM_DELETED, item_id=ev["item_id"])]

    def truncate(self, ev: dict) -> list[Output]:
        self.conversation.truncate(ev["item_id"], ev["content_index"], ev["audio_end_ms"])
        return [self._event(ITEM_TRUNCATED, item_id=ev["item_id"],
                            content_index=ev["content_index"], audio_end_ms=ev["audio_end_ms"])]

    # -- the user's audio ------------------------------------------------------------------

    def commit_audio(self, item_id: str, pcm: bytes, session: dict[str, Any],
                     key: Span | None = None, parts: tuple[tuple[Span, bytes], ...] = (),
                     timeout: bool = False) -> list[Output]:
        """A user item of committed input audio; transcribed unless it is an idle timeout's."""
        previous = self.conversation.last_id
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        self.conversation.add(Entry(item=item, audio={0: bytearray(pcm)}))
        emit = transcribes(session)
        out: list[Output] = [self._event(COMMITTED, previous_item_id=previous, item_id=item_id),
                             *self._added_and_done(previous, item)]
        if timeout:
            item["content"][0]["transcript"] = ""
        else:
            out.append(Transcribe(item_id, pcm, key, emit, parts, wants_logprobs(session)))
        return out

    def transcribed(self, item_id: str, text: str, emit: bool, audio_ms: float,
                    logprobs: list[tuple[str, float]] | None = None,
                    keep_audio: bool = True) -> list[Output]:
        """A finished transcription: the item's transcript, and its events if ``emit``.

        ``logprobs`` are the transcript's tokens as ``(text, logprob)``. They go on the wire
        as ``{token, logprob, bytes}`` (``bytes``: the token text's UTF-8): ``completed``
        carries them all and, when they spell the transcript, each delta is one token with
        its own. ``keep_audio=False`` drops the item's audio once it is transcribed.
        """
        if item_id not in self.conversation:
            return []
        entry = self.conversation.get(item_id)
        entry.item["content"][0]["transcript"] = text
        if not keep_audio:
            entry.audio.clear()
        if not emit:
            return []
        out: list[Output] = []
        wire = None if logprobs is None else [
            {"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in logprobs]
        for delta, entries in _deltas(text, wire):
            fields: dict[str, Any] = {"logprobs": entries} if entries is not None else {}
            out.append(self._event(TRANSCRIPTION_DELTA, item_id=item_id, content_index=0,
                                   delta=delta, **fields))
        fields = {"logprobs": wire} if wire is not None else {}
        out.append(self._event(
            TRANSCRIPTION_COMPLETED, item_id=item_id, content_index=0, transcript=text,
            usage={"type": "duration", "seconds": round(audio_ms / 1000, 3)}, **fields))
        return out

    def transcription_failed(self, item_id: str, message: str, emit: bool) -> list[Output]:
        """A transcription that failed: an empty transcript, and the event if ``emit``."""
        if item_id in self.conversation:
            self.conversation.get(item_id).item["content"][0]["transcript"] = ""
        if not emit:
            return []
        return [self._event(TRANSCRIPTION_FAILED, item_id=item_id, content_index=0,
                            error={"type": "transcription_error", "code": "asr_failed",
                                   "message": message, "param": None})]


def _deltas(text: str, logprobs: list[dict[str, Any]] | None
            ) -> list[tuple[str, list[dict[str, Any]] | None]]:
    """The transcript's delta events: token by token with their log probabilities when
    those spell the transcript, else word by word."""
    if logprobs and "".join(e["token"] for e in logprobs).strip() == text:
        lead = len("".join(e["token"] for e in logprobs)) - len(
            "".join(e["token"] for e in logprobs).lstrip())
        out = []
        for e in logprobs:
            piece, lead = e["token"][lead:], max(0, lead - len(e["token"]))
            out.append((piece, [e]))
        return [(d, e) for d, e in out if d or e]
    words = text.split(" ")
    pieces = [word if i == 0 else " " + word for i, word in enumerate(words)]
    return [(p, None) for p in pieces if p]
