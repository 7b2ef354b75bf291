"""Streaming a response's output: assistant messages (text, or audio with its transcript),
function calls, and MCP calls and approval requests, with their ``response.*`` and, in band, ``conversation.item.*`` events.

The core decides *whether* a response may still output (its lifecycle); :class:`OutputStream`
builds the items and events, records in-band output in the conversation, and encodes the
audio for the wire.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from ...audio import StreamEncoder
from ...events import (
    AUDIO_DELTA,
    AUDIO_DONE,
    AUDIO_TRANSCRIPT_DELTA,
    AUDIO_TRANSCRIPT_DONE,
    CALL_ARGUMENTS_DELTA,
    CALL_ARGUMENTS_DONE,
    CONTENT_PART_ADDED,
    CONTENT_PART_DONE,
    ITEM_ADDED,
    ITEM_DONE,
    MCP_CALL_ARGUMENTS_DELTA,
    MCP_CALL_ARGUMENTS_DONE,
    MCP_CALL_COMPLETED,
    MCP_CALL_FAILED,
    MCP_CALL_IN_PROGRESS,
    OUTPUT_ITEM_ADDED,
    OUTPUT_ITEM_DONE,
    TEXT_DELTA,
    TEXT_DONE,
)
from ..conversation import Conversation, Entry
from .effects import Output
from .response_params import Response

#: ``(response event, conversation event)`` when an output item is added and when it is done.
_ITEM_EVENTS = {"added": (OUTPUT_ITEM_ADDED, ITEM_ADDED), "done": (OUTPUT_ITEM_DONE, ITEM_DONE)}


class OutputStream:
    """Builds a response's output items and their events."""

    def __init__(self, conversation: Conversation, event: Callable[..., dict[str, Any]],
                 new_id: Callable[[str], str]) -> None:
        self.conversation = conversation
        self._event = event
        self._new_id = new_id

    def _item_events(self, resp: Response, stage: str, item: dict) -> list[Output]:
        """``response.output_item.<stage>`` then, in-band, ``conversation.item.<stage>``."""
        response_event, conversation_event = _ITEM_EVENTS[stage]
        index = resp.output.index(item)
        snap = copy.deepcopy(item)
        out: list[Output] = [self._event(response_event, response_id=resp.id,
                                         output_index=index, item=snap)]
        if resp.in_band:
            previous = self.conversation.previous_id(item["id"])
            out.append(self._event(conversation_event, previous_item_id=previous, item=snap))
        return out

    def open_message(self, resp: Response) -> tuple[str, list[Output]]:
        """Open an assistant message; returns its item id and events."""
        item_id = self._new_id("item")
        part_type = "output_audio" if resp.audio_out else "output_text"
        item = {"id": item_id, "object": "realtime.item", "type": "message",
                "role": "assistant", "status": "in_progress", "content": []}
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
        out.append(self._event(CONTENT_PART_ADDED, response_id=resp.id, item_id=item_id,
                               output_index=resp.output.index(item), content_index=0,
                               part=part))
        return item_id, out

    def chunk(self, resp: Response, text: str, pcm: bytes = b"") -> list[Output]:
        """Text (and, for audio output, the 24 kHz PCM16 that speaks it) of the open message."""
        assert resp.message is not None
        item = resp.output[-1]
        index = len(resp.output) - 1
        part = item["content"][0]
        ids = {"response_id": resp.id, "item_id": resp.message, "output_index": index,
               "content_index": 0}
        out: list[Output] = []
        resp.text_chars += len(text)
        entry = self.conversation.get(resp.message) if resp.in_band else None
        frozen = entry is not None and entry.frozen
        if resp.audio_out:
            if text:
                out.append(self._event(AUDIO_TRANSCRIPT_DELTA, delta=text, **ids))
                if not frozen:
                    part["transcript"] += text
                    if entry is not None:
                        entry.segments.append((resp.audio_cursor_ms, text))
            if pcm:
                wire = resp.encoder.encode(pcm) if resp.encoder else pcm
                if wire:
                    out.append(self._event(AUDIO_DELTA, delta=base64.b64encode(wire).decode(),
                                           **ids))
                ms = len(pcm) / 48
                resp.audio_ms += ms
                resp.audio_cursor_ms += ms
                if entry is not None and not frozen:
                    entry.audio.setdefault(0, bytearray()).extend(pcm)
        elif text:
            part["text"] += text
            out.append(self._event(TEXT_DELTA, delta=text, **ids))
        return out

    def close_message(self, resp: Response, status: str) -> list[Output]:
        """Close the open message with ``status`` (``completed`` or ``incomplete``)."""
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
                    out.append(self._event(AUDIO_DELTA, delta=base64.b64encode(tail).decode(),
                                           **ids))
                resp.encoder = StreamEncoder(resp.params["audio_format"])
            out.append(self._event(AUDIO_DONE, **ids))
            out.append(self._event(AUDIO_TRANSCRIPT_DONE, transcript=part["transcript"], **ids))
            done_part = {"type": "audio", "transcript": part["transcript"]}
        else:
            out.append(self._event(TEXT_DONE, text=part["text"], **ids))
            done_part = {"type": "text", "text": part["text"]}
        out.append(self._event(CONTENT_PART_DONE, part=done_part, **ids))
        item["status"] = status
        out.extend(self._item_events(resp, "done", item))
        resp.message = None
        return out

    def function_call(self, resp: Response, name: str, arguments: str
                      ) -> tuple[str, list[Output]]:
        """A whole function call item (its arguments in one delta); returns its item id."""
        item_id = self._new_id("item")
        call_id = self._new_id("call")
        item = {"id": item_id, "object": "realtime.item", "type": "function_call",
                "status": "in_progress", "name": name, "call_id": call_id, "arguments": ""}
        resp.output.append(item)
        if resp.in_band:
            self.conversation.add(Entry(item=item))
        out = self._item_events(resp, "added", item)
        index = len(resp.output) - 1
        ids = {"response_id": resp.id, "item_id": item_id, "output_index": index,
               "call_id": call_id}
        out.append(self._event(CALL_ARGUMENTS_DELTA, delta=arguments, **ids))
        out.append(self._event(CALL_ARGUMENTS_DONE, name=name, arguments=arguments, **ids))
        item["arguments"] = arguments
        item["status"] = "completed"
        resp.text_chars += len(arguments)
        out.extend(self._item_events(resp, "done", item))
        return item_id, out

    def mcp_call(self, resp: Response, server_label: str, name: str, arguments: str,
                 approval_request_id: str | None = None) -> tuple[str, list[Output]]:
        """Open an ``mcp_call`` item: its arguments, then ``response.mcp_call.in_progress``."""
        item_id = self._new_id("item")
        item: dict[str, Any] = {
            "id": item_id, "object": "realtime.item", "type": "mcp_call",
            "server_label": server_label, "name": name, "arguments": "",
            "approval_request_id": approval_request_id, "output": None, "error": None}
        resp.output.append(item)
        resp.mcp_call = item_id
        if resp.in_band:
            self.conversation.add(Entry(item=item))
        out = self._item_events(resp, "added", item)
        ids = {"response_id": resp.id, "item_id": item_id, "output_index": len(resp.output) - 1}
        # The JavaScript SDK's schema requires ``obfuscation`` (padding that hides a delta's
        # length on the wire; nothing to hide on loopback, so it is empty).
        out.append(self._event(MCP_CALL_ARGUMENTS_DELTA, delta=arguments, obfuscation="",
                               **ids))
        out.append(self._event(MCP_CALL_ARGUMENTS_DONE, arguments=arguments, **ids))
        item["arguments"] = arguments
        resp.text_chars += len(arguments)
        out.append(self._event(MCP_CALL_IN_PROGRESS, item_id=item_id,
                               output_index=ids["output_index"]))
        return item_id, out

    def mcp_result(self, resp: Response, output: str | None, error: dict[str, Any] | None
                   ) -> list[Output]:
        """Close the open ``mcp_call`` with its output, or its error (``.failed``)."""
        item = next(i for i in resp.output if i["id"] == resp.mcp_call)
        item["output"], item["error"] = output, error
        index = resp.output.index(item)
        out: list[Output] = [self._event(MCP_CALL_FAILED if error else MCP_CALL_COMPLETED,
                                         item_id=item["id"], output_index=index)]
        out.extend(self._item_events(resp, "done", item))
        resp.mcp_call = None
        return out

    def mcp_approval_request(self, resp: Response, server_label: str, name: str,
                             arguments: str) -> tuple[str, list[Output]]:
        """A whole ``mcp_approval_request`` item: the call waits for the client's answer."""
        item_id = self._new_id("mcpr")
        item = {"id": item_id, "object": "realtime.item", "type": "mcp_approval_request",
                "server_label": server_label, "name": name, "arguments": arguments}
        resp.output.append(item)
        if resp.in_band:
            self.conversation.add(Entry(item=item))
        return item_id, [*self._item_events(resp, "added", item),
                         *self._item_events(resp, "done", item)]
