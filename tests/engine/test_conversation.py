"""The conversation: item order, lookups, and truncation that keeps what was heard."""

from __future__ import annotations

import base64

import pytest

from rtnb.engine.conversation import Conversation, Entry
from rtnb.engine.errors import ProtocolError


def message(item_id: str, role: str = "user", text: str = "hi") -> Entry:
    kind = "input_text" if role == "user" else "output_text"
    return Entry(item={"id": item_id, "type": "message", "role": role,
                       "content": [{"type": kind, "text": text}]})


def spoken(item_id: str, segments: list[tuple[float, str]], ms: int) -> Entry:
    entry = Entry(item={"id": item_id, "type": "message", "role": "assistant",
                        "content": [{"type": "output_audio",
                                     "transcript": "".join(t for _, t in segments)}]})
    entry.audio[0] = bytearray(b"\x01\x00" * (ms * 24))
    entry.segments = list(segments)
    return entry


def test_items_go_last_first_or_after_the_one_named():
    c = Conversation()
    assert c.add(message("a")) is None
    assert c.add(message("b")) == "a"
    assert c.add(message("c"), "root") is None
    assert c.add(message("d"), "a") == "a"
    assert [i["id"] for i in c.items()] == ["c", "a", "d", "b"]
    assert c.last_id == "b" and len(c) == 4 and "d" in c


@pytest.mark.parametrize(("call", "code"), [
    (lambda c: c.add(message("a")), "duplicate_item_id"),
    (lambda c: c.add(message("x"), "zzz"), "item_not_found"),
    (lambda c: c.get("zzz"), "item_not_found"),
    (lambda c: c.delete("zzz"), "item_not_found"),
    (lambda c: c.truncate("a", 0, 0), "invalid_value"),  # a user message
])
def test_refusals(call, code):
    c = Conversation()
    c.add(message("a"))
    with pytest.raises(ProtocolError) as info:
        call(c)
    assert info.value.code == code
    assert [i["id"] for i in c.items()] == ["a"]  # nothing changed


def test_retrieve_returns_the_audio_as_base64_and_leaves_the_item_alone():
    c = Conversation()
    c.add(spoken("s", [(0, "Hello.")], 10))
    item = c.retrieve("s")
    assert base64.b64decode(item["content"][0]["audio"]) == b"\x01\x00" * 240
    assert "audio" not in c.get("s").item["content"][0]


def test_truncate_keeps_the_audio_and_the_words_that_were_heard():
    c = Conversation()
    c.add(spoken("s", [(0, "First part."), (1000, " Second part.")], 2000))
    c.truncate("s", 0, 700)
    entry = c.get("s")
    assert len(entry.audio[0]) == 700 * 48
    assert entry.item["content"][0]["transcript"] == "First part."
    assert entry.frozen  # later audio of the same response is not recorded
    with pytest.raises(ProtocolError):
        c.truncate("s", 0, 5000)  # longer than what is left
    with pytest.raises(ProtocolError):
        c.truncate("s", 1, 0)  # no such content


def test_history_is_messages_and_function_items_as_copies():
    c = Conversation()
    c.add(message("a"))
    c.add(Entry(item={"id": "f", "type": "function_call", "name": "x", "call_id": "c1",
                      "arguments": "{}"}))
    c.add(Entry(item={"id": "o", "type": "function_call_output", "call_id": "c1",
                      "output": "1"}))
    c.add(Entry(item={"id": "z", "type": "other"}))
    history = c.history()
    assert [i["id"] for i in history] == ["a", "f", "o"]
    history[0]["content"] = []
    assert c.get("a").item["content"]  # the brain cannot change the conversation


def test_delete():
    c = Conversation()
    c.add(message("a"))
    c.add(message("b"))
    c.delete("a")
    assert [i["id"] for i in c.items()] == ["b"] and "a" not in c
