"""The conversation: ordered items, with the audio kept beside them.

Items are stored in their wire shape (without the audio bytes). Assistant audio
keeps a list of ``(audio_start_ms, text)`` segments so that a truncate keeps
only the transcript of the audio the user actually heard.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from typing import Any

from .errors import ProtocolError


@dataclass
class Entry:
    item: dict[str, Any]
    #: 24 kHz PCM16 for ``input_audio``/``output_audio`` content, by content index.
    audio: dict[int, bytearray] = field(default_factory=dict)
    segments: list[tuple[float, str]] = field(default_factory=list)
    #: Once truncated, later audio of a still-running response is not recorded.
    frozen: bool = False


class Conversation:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._order: list[str] = []

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._entries

    def __len__(self) -> int:
        return len(self._order)

    @property
    def last_id(self) -> str | None:
        return self._order[-1] if self._order else None

    def get(self, item_id: str, param: str = "item_id") -> Entry:
        try:
            return self._entries[item_id]
        except KeyError:
            raise ProtocolError("item_not_found",
                                f"Item with item_id '{item_id}' not found.", param) from None

    def add(self, entry: Entry, previous_item_id: str | None = None) -> str | None:
        """Insert after ``previous_item_id`` (``"root"`` = first, None = last).

        Returns the id of the item it now follows.
        """
        item_id = entry.item["id"]
        if item_id in self._entries:
            raise ProtocolError("duplicate_item_id",
                                f"Item with id '{item_id}' already exists.", "item.id")
        if previous_item_id is None:
            prev = self.last_id
            self._order.append(item_id)
        elif previous_item_id == "root":
            prev = None
            self._order.insert(0, item_id)
        else:
            self.get(previous_item_id, "previous_item_id")
            prev = previous_item_id
            self._order.insert(self._order.index(previous_item_id) + 1, item_id)
        self._entries[item_id] = entry
        return prev

    def previous_id(self, item_id: str) -> str | None:
        """The id of the item before ``item_id`` (None: it is first, or not here)."""
        if item_id not in self._entries:
            return None
        index = self._order.index(item_id)
        return self._order[index - 1] if index > 0 else None

    def delete(self, item_id: str) -> None:
        self.get(item_id)
        del self._entries[item_id]
        self._order.remove(item_id)

    def items(self) -> list[dict[str, Any]]:
        return [self._entries[i].item for i in self._order]

    def retrieve(self, item_id: str) -> dict[str, Any]:
        """The item with its audio as base64 (24 kHz PCM16)."""
        entry = self.get(item_id)
        item = copy.deepcopy(entry.item)
        for index, pcm in entry.audio.items():
            item["content"][index]["audio"] = base64.b64encode(bytes(pcm)).decode()
        return item

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut assistant audio at ``audio_end_ms`` and drop the unheard transcript."""
        entry = self.get(item_id)
        item = entry.item
        if item.get("type") != "message" or item.get("role") != "assistant":
            raise ProtocolError("invalid_value", "Only assistant messages can be truncated.",
                                "item_id")
        content = item.get("content") or []
        if not 0 <= content_index < len(content) or content[content_index].get("type") not in (
                "output_audio", "audio"):
            raise ProtocolError("invalid_value",
                                f"Content index {content_index} is not audio.", "content_index")
        pcm = entry.audio.get(content_index, bytearray())
        duration = len(pcm) / 48
        if audio_end_ms < 0:
            raise ProtocolError("invalid_value", "audio_end_ms must be >= 0.", "audio_end_ms")
        if audio_end_ms > duration + 1:
            raise ProtocolError(
                "invalid_value",
                f"Audio content of {duration:.0f}ms is shorter than {audio_end_ms}ms.",
                "audio_end_ms")
        keep = min(len(pcm), int(audio_end_ms) * 48)
        del pcm[keep:]
        heard = [text for start, text in entry.segments if start < audio_end_ms]
        entry.segments = [(s, t) for s, t in entry.segments if s < audio_end_ms]
        content[content_index]["transcript"] = "".join(heard).strip()
        entry.frozen = True

    def history(self) -> list[dict[str, Any]]:
        """Items for a brain: messages and function items, oldest first.

        A brain knows function calls only, so a finished ``mcp_call`` reads as a
        ``function_call`` with its ``function_call_output`` (the output, or the error's
        message), and a declined approval as a call whose output says it was declined.
        """
        out: list[dict[str, Any]] = []
        for entry in (self._entries[i] for i in self._order):
            item = entry.item
            kind = item.get("type")
            if kind in ("message", "function_call", "function_call_output"):
                out.append(copy.deepcopy(item))
            elif kind == "mcp_call" and (item.get("output") is not None or item.get("error")):
                result = item["output"] if item.get("output") is not None else \
                    f"Error: {item['error'].get('message', 'the tool failed')}"
                out += _as_function_call(item["id"], item["name"], item["arguments"], result)
            elif kind == "mcp_approval_response" and not item.get("approve"):
                request = self._entries.get(item.get("approval_request_id", ""))
                if request is not None:
                    req = request.item
                    out += _as_function_call(req["id"], req["name"], req["arguments"],
                                             f"{req['name']} was not run: the call was declined."
                                             + (f" {item['reason']}" if item.get("reason")
                                                else ""))
        return out


def _as_function_call(call_id: str, name: str, arguments: str, output: str
                      ) -> list[dict[str, Any]]:
    return [{"type": "function_call", "id": call_id, "call_id": call_id, "name": name,
             "arguments": arguments, "status": "completed"},
            {"type": "function_call_output", "call_id": call_id, "output": output}]
