"""Fuzzing the engine with malformed client events (issue "hardening").

Every malformed event must get exactly one OpenAI-shaped ``error`` event (checked with
openai-agents' strict validation), echoing the client's ``event_id`` when it sent a
string one; nothing may crash; the connection stays open; and a normal turn works
afterwards on the same connection.

Cases come from seeded generators, so a failure is reproducible. Each case is
classified when it is generated: either it is malformed (the expected reply is one
``error`` event), or it is one of the few shapes that are valid by design even though
they look odd (unknown extra fields, which the SDK's models accept; ``null`` for an
optional field, which means "not set"; an empty append). Those carry the exact reply
they must get. Most volume goes through the sans-I/O :class:`RealtimeCore`; a few
thousand cases also go over a real WebSocket to the running engine.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import random
import string
import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtnb.engine import config as cfgmod
from rtnb.engine.core import MAX_APPEND_BYTES, RealtimeCore, StartResponse
from tests.wire import validate_server_event

#: The GA client events (the protocol's list, kept here independently of the engine).
KNOWN_TYPES = frozenset({
    "session.update", "input_audio_buffer.append", "input_audio_buffer.commit",
    "input_audio_buffer.clear", "output_audio_buffer.clear", "conversation.item.create",
    "conversation.item.retrieve", "conversation.item.delete", "conversation.item.truncate",
    "response.create", "response.cancel",
})
NEAR_MISSES = (
    "session.created", "session.updated", "response.done", "response.created", "error",
    "conversation.item.added", "conversation.item.created", "input_audio_buffer.committed",
    "response.text.delta", "transcription_session.update", "response.output_audio.delta",
    "conversation.item.input_audio_transcription.completed", "rate_limits.updated",
    "input_audio_buffer.speech_started", "conversation.create", "session.get",
)

#: Items every fuzzed connection starts with (made by ordinary valid events).
USER_ITEM = "item_fuzzuser"
TEXT_ITEM = "item_fuzztext"
CALL_ITEM = "item_fuzzcall"
CALL_ID = "call_fuzz"
SETUP = [
    {"type": "conversation.item.create", "item": {
        "id": USER_ITEM, "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Hello there."}]}},
    {"type": "conversation.item.create", "item": {
        "id": TEXT_ITEM, "type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": "Hi! How can I help?"}]}},
    {"type": "conversation.item.create", "item": {
        "id": CALL_ITEM, "type": "function_call", "name": "lookup", "call_id": CALL_ID,
        "arguments": "{}"}},
]
ADDED = ("conversation.item.added", "conversation.item.done")

CORE_CASES = 12_000
WS_CASES = 4_000


@dataclass
class Case:
    family: str
    raw: str | bytes
    #: The ``event_id`` the error must echo (None when the client sent no string one).
    event_id: str | None
    #: None: malformed, one error expected. A tuple: valid, exactly these replies expected.
    valid: tuple[str, ...] | None = None
    #: Safe to send over a WebSocket (replies are immediate and in order).
    wire: bool = True


def _parses(text: str | bytes) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _b64_ok(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class Fuzzer:
    """Seeded generator of classified cases."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0

    # -- building blocks ---------------------------------------------------------------------

    def fresh(self, prefix: str = "fz") -> str:
        self.n += 1
        return f"{prefix}_{self.n}"

    def text(self, max_len: int = 24) -> str:
        pool = string.ascii_letters + string.digits + " ._-/:é中\u0000\u202e\U0001f600\"\\"
        return "".join(self.rng.choice(pool) for _ in range(self.rng.randint(0, max_len)))

    def word(self) -> str:
        return "".join(self.rng.choice(string.ascii_lowercase) for _ in range(
            self.rng.randint(1, 10)))

    def scalar(self) -> Any:
        return self.rng.choice([
            None, True, False, 0, -1, 7, 2**70, -(2**70), 0.5, -3.25, 1e308,
            "", "x", "5", self.text(), self.word()])

    def junk(self, depth: int = 0) -> Any:
        """Any JSON value, nested a little."""
        r = self.rng.random()
        if depth > 3 or r < 0.6:
            return self.scalar()
        if r < 0.8:
            return [self.junk(depth + 1) for _ in range(self.rng.randint(0, 3))]
        return {self.text(8): self.junk(depth + 1) for _ in range(self.rng.randint(0, 3))}

    def nested(self, depth: int) -> Any:
        value: Any = self.scalar()
        for _ in range(depth):
            value = [value] if self.rng.random() < 0.5 else {"k": value}
        return value

    # Wrong values per expected type: only values pydantic's lax mode never coerces.
    def not_str(self, none: bool = False) -> Any:
        opts: list[Any] = [0, 17, -2.5, 1e9, True, False, [], ["a"], {}, {"a": "b"}]
        return self.rng.choice(opts + ([None] if none else []))

    def not_int(self, none: bool = False) -> Any:
        opts: list[Any] = ["abc", "", "1.5x", 0.5, -3.25, [], [1], {}, {"n": 1}]
        return self.rng.choice(opts + ([None] if none else []))

    def not_list(self, none: bool = False) -> Any:
        opts: list[Any] = ["abc", 3, 0.25, True, {"a": 1}, {}]
        return self.rng.choice(opts + ([None] if none else []))

    def not_dict(self, none: bool = False) -> Any:
        opts: list[Any] = ["abc", 3, 0.25, True, [], [{"a": 1}], "{}"]
        return self.rng.choice(opts + ([None] if none else []))

    def even_b64(self, max_bytes: int = 400) -> str:
        n = 2 * self.rng.randint(0, max_bytes // 2)
        return base64.b64encode(self.rng.randbytes(n)).decode()

    # -- cases ---------------------------------------------------------------------------------

    def event(self, family: str, obj: dict[str, Any], valid: tuple[str, ...] | None = None,
              wire: bool = True, event_id: bool | None = None) -> Case:
        """A dict event, usually with a fresh string ``event_id`` the error must echo."""
        obj = dict(obj)
        if event_id is None:
            event_id = self.rng.random() < 0.8
        if event_id and "event_id" not in obj:
            obj = {"event_id": self.fresh("evt_fuzz"), **obj}
        eid = obj.get("event_id") if isinstance(obj.get("event_id"), str) else None
        return Case(family, json.dumps(obj), eid, valid, wire)

    def bad_json(self) -> Case:
        base = json.dumps(self.rng.choice(TEMPLATES)(self), separators=(",", ":"))
        for _ in range(100):
            how = self.rng.random()
            if how < 0.4:
                text = base[:self.rng.randrange(len(base))]
            elif how < 0.7:
                i = self.rng.randrange(len(base) + 1)
                text = base[:i] + self.rng.choice("{}[],:'\\\"x#") + base[i:]
            elif how < 0.8:
                text = self.rng.choice(["", " ", "\n", "nul", "tru", "{'type': 'x'}", "{,}",
                                        "NaN NaN", "{\"type\":}", "]", "\"unterminated"])
            elif how < 0.9:
                text = "[" * self.rng.choice([70, 2_000, 50_000])
            else:
                text = base.replace('"', "'", self.rng.randint(1, 4))
            if not _parses(text):
                return Case("bad_json", text, None)
        raise AssertionError("could not corrupt " + base)

    def bad_utf8(self) -> Case:
        good = json.dumps({"type": "input_audio_buffer.clear", "x": "é"}).encode()
        i = self.rng.randrange(len(good))
        raw = good[:i] + self.rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]) + \
            good[i:]
        return Case("bad_utf8", raw, None, wire=False)  # RFC 6455 closes such text frames

    def lone_surrogate(self) -> Case:
        """Valid JSON syntax, but a string that is not Unicode (an unpaired surrogate)."""
        obj = self.rng.choice(TEMPLATES)(self)
        paths = [p for p in _paths(obj) if isinstance(_get(obj, p), str)]
        path = self.rng.choice(paths)
        value = _get(obj, path)
        i = self.rng.randrange(len(value) + 1)
        _set(obj, path, value[:i] + self.rng.choice(["\ud800", "\udfff", "\udc00x"]) + value[i:])
        if self.rng.random() < 0.3:
            obj["x_\ud83d"] = 1  # in a key
        return self.event("lone_surrogate", obj)

    def non_object(self) -> Case:
        value = self.junk()
        while isinstance(value, dict):
            value = self.junk()
        if self.rng.random() < 0.2:
            value = self.nested(self.rng.choice([3, 40, 200]))
            if isinstance(value, dict):
                value = [value]
        return Case("non_object", json.dumps(value), None)

    def bad_type(self) -> Case:
        obj = {self.rng.choice(["audio", "item", "session", "response", self.text(6)]):
               self.junk() for _ in range(self.rng.randint(0, 3))}
        obj.pop("type", None)
        if self.rng.random() < 0.6:
            obj["type"] = self.not_str(none=True)
        return self.event("bad_type", obj)

    def unknown_type(self) -> Case:
        r = self.rng.random()
        if r < 0.3:
            kind = self.rng.choice(NEAR_MISSES)
        elif r < 0.7:
            kind = self.rng.choice(sorted(KNOWN_TYPES))
            i = self.rng.randrange(len(kind) + 1)
            kind = self.rng.choice([
                kind.upper(), kind[:i] + kind[i + 1:], kind[:i] + "_" + kind[i:],
                " " + kind, kind + " ", kind.replace(".", "/"), kind + "\u0000"])
        elif r < 0.95:
            kind = self.text(40)
        else:
            kind = "x" * self.rng.choice([1_000, 100_000])
        if kind in KNOWN_TYPES:
            kind += "!"
        return self.event("unknown_type", {"type": kind, "audio": self.even_b64(8)})

    def bad_append(self) -> Case:
        r = self.rng.random()
        obj: dict[str, Any] = {"type": "input_audio_buffer.append"}
        if r < 0.1:
            pass  # no audio at all
        elif r < 0.25:
            obj["audio"] = self.not_str(none=True)
        elif r < 0.6:
            good = self.even_b64(200) or "AAAA"
            for _ in range(100):
                i = self.rng.randrange(len(good) + 1)
                bad = self.rng.choice(["!", "*", " ", "\n", "=", "A", "é", "-", "_", "=="])
                audio = self.rng.choice([good[:i] + bad + good[i:], good[:i] + bad,
                                         good + "=" * self.rng.randint(1, 3)])
                if not _b64_ok(audio):
                    break
            else:
                audio = "!!!!"
            obj["audio"] = audio
        elif r < 0.9:
            n = 2 * self.rng.randint(0, 2_000) + 1  # odd-length PCM16
            obj["audio"] = base64.b64encode(self.rng.randbytes(n)).decode()
        elif r < 0.995:
            obj["audio"] = self.rng.choice(["*" * 50_000, "A" * 40_001, "AAA" * 99_999])
        else:  # larger than one append may carry
            obj["audio"] = "A" * (MAX_APPEND_BYTES * 4 // 3 + 8)
        return self.event("bad_append", obj)

    def mutated(self) -> Case:
        """A valid template with one field replaced by a value of the wrong type."""
        template, path, wrong = self.rng.choice(MUTATIONS)
        obj = copy.deepcopy(template(self))
        target = obj
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = wrong(self)
        family = "mutated:" + obj["type"]
        return self.event(family, obj)

    def stateful(self) -> Case:
        """Events that are well formed but wrong in the connection's current state."""
        r = self.rng.randrange(13)
        unknown = self.rng.choice(["item_nope", self.fresh("item"), "", self.text(12)])
        if r == 0:
            obj = {"type": "conversation.item.retrieve", "item_id": unknown}
        elif r == 1:
            obj = {"type": "conversation.item.delete", "item_id": unknown}
        elif r == 2:
            obj = {"type": "conversation.item.truncate", "item_id": unknown,
                   "content_index": 0, "audio_end_ms": self.rng.randint(0, 5000)}
        elif r == 3:  # truncate before any audio: a user item, a text reply, a call
            obj = {"type": "conversation.item.truncate",
                   "item_id": self.rng.choice([USER_ITEM, TEXT_ITEM, CALL_ITEM]),
                   "content_index": self.rng.randint(-2, 3),
                   "audio_end_ms": self.rng.randint(-100, 5000)}
        elif r == 4:  # commit on an empty buffer
            obj = {"type": "input_audio_buffer.commit"}
        elif r == 5:  # cancel with nothing active
            obj = {"type": "response.cancel"}
            if self.rng.random() < 0.5:
                obj["response_id"] = self.rng.choice(["resp_nope", self.fresh("resp")])
        elif r == 6:
            obj = {"type": "output_audio_buffer.clear"}  # WebRTC/SIP only
        elif r == 7:  # output for a call that never happened
            obj = {"type": "conversation.item.create", "item": {
                "type": "function_call_output", "output": "{}",
                "call_id": self.rng.choice(["call_nope", self.fresh("call"), CALL_ITEM])}}
        elif r == 8:  # an id that is taken
            obj = {"type": "conversation.item.create", "item": {
                "id": self.rng.choice([USER_ITEM, TEXT_ITEM, CALL_ITEM]), "type": "message",
                "role": "user", "content": [{"type": "input_text", "text": "again"}]}}
        elif r == 9:
            obj = {"type": "conversation.item.create", "previous_item_id": unknown,
                   "item": {"type": "message", "role": "user",
                            "content": [{"type": "input_text", "text": "where?"}]}}
        elif r == 10:
            obj = {"type": "response.create", "response": {
                "tool_choice": {"type": "function", "name": self.rng.choice(["nope", "f"])}}}
        elif r == 11:
            obj = {"type": "session.update", "session": {
                "type": "realtime", "tool_choice": {"type": "function", "name": "nope"}}}
        else:
            obj = {"type": "response.create", "response": {
                "input": [{"type": "item_reference", "id": unknown}]}}
        if self.rng.random() < 0.1:  # unknown extra fields change nothing
            obj[self.word()] = self.junk()
        return self.event("stateful", obj)

    def valid(self) -> Case:
        """Odd-looking events that are valid by design, with the exact reply they get."""
        r = self.rng.randrange(6)
        extra = {"x_" + self.word(): self.junk() for _ in range(self.rng.randint(1, 3))}
        if r == 0:  # unknown extra fields: accepted, as the SDK's models accept them
            return self.event("valid:extra_fields", {"type": "input_audio_buffer.clear",
                                                     **extra}, ("input_audio_buffer.cleared",))
        if r == 1:
            return self.event("valid:extra_fields", {
                "type": "conversation.item.retrieve", "item_id": USER_ITEM, **extra},
                ("conversation.item.retrieved",))
        if r == 2:  # null for an optional field means "not set"
            return self.event("valid:nulls", {"type": "session.update", "session": {
                "type": "realtime", "instructions": None, "tools": None, "audio": None,
                "output_modalities": None, "tool_choice": None}}, ("session.updated",))
        if r == 3:
            return self.event("valid:nulls", {
                "type": "conversation.item.create", "previous_item_id": None, "item": {
                    "id": None, "type": "message", "role": "user", "status": None,
                    "content": [{"type": "input_text", "text": "hello again"}]}}, ADDED)
        if r == 4:  # an empty append adds no audio and gets no reply
            return self.event("valid:empty_append", {"type": "input_audio_buffer.append",
                                                     "audio": ""}, ())
        return self.event("valid:instructions", {"type": "session.update", "session": {
            "type": "realtime", "instructions": self.text(200)}}, ("session.updated",))

    def case(self, wire_only: bool = False) -> Case:
        while True:
            r = self.rng.random()
            if r < 0.07:
                c = self.bad_json()
            elif r < 0.08:
                c = self.bad_utf8()
            elif r < 0.09:
                c = self.lone_surrogate()
            elif r < 0.15:
                c = self.non_object()
            elif r < 0.22:
                c = self.bad_type()
            elif r < 0.30:
                c = self.unknown_type()
            elif r < 0.42:
                c = self.bad_append()
            elif r < 0.78:
                c = self.mutated()
            elif r < 0.95:
                c = self.stateful()
            else:
                c = self.valid()
            if c.wire or not wire_only:
                return c


# -- valid templates and the fields that break them ----------------------------------------

def _user_item(f: Fuzzer) -> dict:
    return {"type": "conversation.item.create", "item": {
        "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": f.text()}]}}


def _call_output(f: Fuzzer) -> dict:
    return {"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": CALL_ID, "output": "{}"}}


def _function_call(f: Fuzzer) -> dict:
    return {"type": "conversation.item.create", "item": {
        "type": "function_call", "name": "lookup", "arguments": "{}"}}


def _tools() -> list[dict]:
    return [{"type": "function", "name": "lookup", "description": "Look things up.",
             "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]


def _session(f: Fuzzer) -> dict:
    return {"type": "session.update", "session": {
        "type": "realtime", "instructions": "Be brief.", "tools": _tools(),
        "output_modalities": ["audio"],
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                            "turn_detection": {"type": "server_vad", "threshold": 0.5}},
                  "output": {"voice": "alloy", "speed": 1.0}}}}


def _response(f: Fuzzer) -> dict:
    return {"type": "response.create", "response": {
        "instructions": "Answer.", "tools": _tools(), "output_modalities": ["audio"],
        "metadata": {"topic": "fuzz"}, "max_output_tokens": 200,
        "audio": {"output": {"voice": "alloy"}}}}


TEMPLATES = [
    lambda f: {"type": "input_audio_buffer.append", "audio": f.even_b64()},
    lambda f: {"type": "conversation.item.retrieve", "item_id": USER_ITEM},
    lambda f: {"type": "conversation.item.delete", "item_id": USER_ITEM},
    lambda f: {"type": "conversation.item.truncate", "item_id": TEXT_ITEM, "content_index": 0,
               "audio_end_ms": 0},
    _user_item, _call_output, _function_call, _session, _response,
]

_ROLE_BAD = ["robot", "tool", "developer", "User", "", "assistant "]
_PART_BAD = ["text", "input_video", "output_image", "", "INPUT_TEXT"]
_FMT_BAD = ["audio/wav", "audio/pcm16", "pcm", "", "audio/opus"]

#: (template, path, wrong value): every combination is malformed.
MUTATIONS: list[tuple[Any, list[Any], Any]] = [
    (TEMPLATES[0], ["audio"], lambda f: f.not_str(none=True)),
    (TEMPLATES[0], ["event_id"], lambda f: f.not_str()),
    (TEMPLATES[1], ["item_id"], lambda f: f.not_str(none=True)),
    (TEMPLATES[2], ["item_id"], lambda f: f.not_str(none=True)),
    (TEMPLATES[3], ["item_id"], lambda f: f.not_str(none=True)),
    (TEMPLATES[3], ["content_index"], lambda f: f.not_int(none=True)),
    (TEMPLATES[3], ["audio_end_ms"], lambda f: f.not_int(none=True)),
    (_user_item, ["item"], lambda f: f.not_dict(none=True)),
    (_user_item, ["item", "type"], lambda f: f.rng.choice(
        [f.not_str(none=True), "item_reference", "mcp_call", "messages", "", f.word()])),
    (_user_item, ["item", "role"], lambda f: f.rng.choice(_ROLE_BAD + [f.not_str(none=True)])),
    (_user_item, ["item", "content"], lambda f: f.rng.choice(
        [f.not_list(none=True), f.nested(f.rng.randint(2, 50)), f.nested(70)])),
    (_user_item, ["item", "content", 0], lambda f: f.not_dict(none=True)),
    (_user_item, ["item", "content", 0, "type"], lambda f: f.rng.choice(
        _PART_BAD + [f.not_str(none=True)])),
    (_user_item, ["item", "content", 0, "text"], lambda f: f.not_str()),
    (_user_item, ["item", "id"], lambda f: f.not_str()),
    (_user_item, ["previous_item_id"], lambda f: f.not_str()),
    (_function_call, ["item", "name"], lambda f: f.not_str(none=True)),
    (_function_call, ["item", "arguments"], lambda f: f.not_str(none=True)),
    (_call_output, ["item", "call_id"], lambda f: f.not_str(none=True)),
    (_call_output, ["item", "output"], lambda f: f.not_str(none=True)),
    (_session, ["session"], lambda f: f.not_dict(none=True)),
    (_session, ["session", "type"], lambda f: f.rng.choice(
        ["transcription", "realtime ", "", "conversation", f.not_str(none=True)])),
    (_session, ["session", "instructions"], lambda f: f.not_str()),
    (_session, ["session", "tools"], lambda f: f.not_list()),
    (_session, ["session", "tools", 0], lambda f: f.not_dict(none=True)),
    (_session, ["session", "tools", 0, "type"], lambda f: f.rng.choice(
        ["retrieval", "functions", "", f.not_str()])),
    (_session, ["session", "tools", 0, "name"], lambda f: f.not_str(none=True)),
    (_session, ["session", "tools", 0, "parameters"], lambda f: f.rng.choice(
        ["{}", 3, [], True, [{"type": "object"}]])),
    (_session, ["session", "tools", 0, "description"], lambda f: f.not_str()),
    (_session, ["session", "tools"], lambda f: _tools() * f.rng.randint(2, 4)),  # duplicates
    (_session, ["session", "output_modalities"], lambda f: f.rng.choice(
        [[], ["text", "audio"], ["video"], "audio", [1], ["audio", "audio"]])),
    (_session, ["session", "audio", "output", "voice"], lambda f: f.rng.choice(
        ["bob", "", "ALLOY", 5, True, ["alloy"]])),
    (_session, ["session", "audio", "output", "speed"], lambda f: f.rng.choice(
        [0.1, 2, -1, 1e9, "fast", [], {}])),
    (_session, ["session", "audio", "input", "turn_detection", "threshold"],
     lambda f: f.rng.choice([-0.5, 1.5, 1e300, "high", [], {}])),
    (_session, ["session", "audio", "input", "turn_detection", "type"],
     lambda f: f.rng.choice(["vad", "", "none", f.not_str(none=True)])),
    (_session, ["session", "audio", "input", "format", "type"], lambda f: f.rng.choice(
        _FMT_BAD + [f.not_str(none=True)])),
    (_session, ["session", "audio", "input", "format", "rate"], lambda f: f.rng.choice(
        [16000, 8000, 44100, "fast", -1])),
    (_session, ["session", "audio", "input"], lambda f: f.not_dict()),
    (_session, ["session", "max_output_tokens"], lambda f: f.rng.choice(
        ["infinite", "INF", 1.5, [], {}, "lots"])),
    (_response, ["response"], lambda f: f.not_dict()),
    (_response, ["response", "tools"], lambda f: f.not_list()),
    (_response, ["response", "tools", 0], lambda f: f.not_dict(none=True)),
    (_response, ["response", "tools", 0, "name"], lambda f: f.not_str(none=True)),
    (_response, ["response", "tools", 0, "parameters"], lambda f: f.rng.choice(
        ["{}", 3, [], False])),
    (_response, ["response", "tools"], lambda f: _tools() * 2),
    (_response, ["response", "output_modalities"], lambda f: f.rng.choice(
        [[], ["text", "audio"], ["video"], "text", [None]])),
    (_response, ["response", "tool_choice"], lambda f: f.rng.choice(
        ["sometimes", "", 3, [], {"type": "function", "name": "nope"}])),
    (_response, ["response", "metadata"], lambda f: f.rng.choice(
        [{"k": 5}, {"k": None}, {"k": ["v"]}, "meta", 3, []])),
    (_response, ["response", "max_output_tokens"], lambda f: f.rng.choice(
        ["lots", 1.5, [], {}])),
    (_response, ["response", "input"], lambda f: f.rng.choice(
        [f.not_list(), [f.not_dict()], [{"type": "message", "role": "robot", "content": []}],
         [{"type": "item_reference", "id": "item_nope"}]])),
    (_response, ["response", "audio", "output", "voice"], lambda f: f.rng.choice(
        ["bob", "", 5, False])),
    (_response, ["response", "audio", "output", "format"], lambda f: f.rng.choice(
        [{"type": "audio/wav"}, {"type": "audio/pcm", "rate": 16000}, "pcm", 7])),
]


# -- running cases against the pure core ---------------------------------------------------

def _setup_core() -> RealtimeCore:
    core = RealtimeCore()
    for ev in core.start():
        validate_server_event(ev)
    for ev in SETUP:
        out = core.receive(json.dumps(ev))
        assert [o["type"] for o in out] == list(ADDED), out
    return core


def _check(case: Case, events: list[dict], effects: list[Any]) -> None:
    """Assert that ``case`` got exactly what its classification says."""
    for ev in events:
        validate_server_event(ev)
    where = f"{case.family}: {case.raw[:300]!r} -> {events}"
    if case.valid is None:
        assert len(events) == 1 and not effects, where
        err = events[0]
        assert err["type"] == "error", where
        assert err["error"]["type"] == "invalid_request_error", where
        assert err["error"]["code"] != "server_error", where
        assert err["error"]["event_id"] == case.event_id, where
    else:
        assert [e["type"] for e in events] == list(case.valid) and not effects, where


def _normal_core_turn(core: RealtimeCore) -> dict:
    """Text in, audio out, as the I/O layer would drive it; returns response.done."""
    if core.active:
        core.cancel(core.active, "client_cancelled")
    out = core.receive(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text",
                                                         "text": "What time is it?"}]}}))
    assert [o["type"] for o in out] == list(ADDED), out
    out = core.receive(json.dumps({"type": "response.create"}))
    starts = [o for o in out if isinstance(o, StartResponse)]
    assert starts, out
    rid = starts[0].response_id
    req = core.brain_request(rid)
    assert isinstance(req.instructions, str) and isinstance(req.history, list)
    assert all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in req.tools)
    params = core.responses[rid].params
    assert params["output_modalities"] in (["audio"], ["text"])
    assert params["voice"] in cfgmod.VOICES and isinstance(params["speed"], float | int)
    events = [*out, *core.output_message(rid), *core.output_chunk(rid, "It is noon.",
                                                                   b"\x00" * 9600),
              *core.output_message_done(rid), *core.finish(rid)]
    events = [e for e in events if isinstance(e, dict)]
    for ev in events:
        validate_server_event(ev)
    done = [e for e in events if e["type"] == "response.done"]
    assert done and done[0]["response"]["status"] == "completed", events
    return done[0]


def test_seeded_fuzz_through_the_core():
    fuzz = Fuzzer(seed=20240611)
    cases = [fuzz.case() for _ in range(CORE_CASES)]
    core = _setup_core()
    start = time.perf_counter()
    families: dict[str, int] = {}
    for case in cases:
        out = core.receive(case.raw)
        events = [o for o in out if isinstance(o, dict)]
        _check(case, events, [o for o in out if not isinstance(o, dict)])
        family = case.family.split(":")[0]
        families[family] = families.get(family, 0) + 1
    elapsed = time.perf_counter() - start
    malformed = sum(1 for c in cases if c.valid is None)
    assert malformed >= 10_000
    assert set(families) >= {"bad_json", "bad_utf8", "lone_surrogate", "non_object", "bad_type",
                             "unknown_type", "bad_append", "mutated", "stateful", "valid"}
    done = _normal_core_turn(core)
    assert done["response"]["output"][0]["content"][0]["transcript"] == "It is noon."
    print(f"\ncore fuzz: {len(cases)} cases ({malformed} malformed, "
          f"{len(cases) - malformed} valid by design) in {elapsed:.2f}s = "
          f"{len(cases) / elapsed:,.0f} events/s (with validation); {families}")


# -- hypothesis: arbitrary JSON against the core ---------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=16)
_fields = st.sampled_from(["audio", "item", "item_id", "content_index", "audio_end_ms",
                           "session", "response", "response_id", "previous_item_id",
                           "event_id"]) | st.text(max_size=8)


def _reply_is_sane(core: RealtimeCore, raw: str) -> None:
    out = core.receive(raw)
    events = [o for o in out if isinstance(o, dict)]
    for ev in events:
        validate_server_event(ev)
    errors = [e for e in events if e["type"] == "error"]
    if errors:  # malformed: one error and nothing else, never a server error
        assert len(out) == 1, out
        assert errors[0]["error"]["code"] != "server_error", (raw, errors)
    _normal_core_turn(core)  # whatever was accepted left the session usable


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(KNOWN_TYPES)) | st.text(max_size=30),
       fields=st.dictionaries(_fields, _json, max_size=4))
def test_hypothesis_random_events(kind, fields):
    _reply_is_sane(_setup_core(), json.dumps({**fields, "type": kind}))


def _get(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def _set(value: Any, path: tuple, new: Any) -> None:
    _get(value, path[:-1])[path[-1]] = new


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_mutated_templates(data):
    template = data.draw(st.sampled_from(TEMPLATES))(Fuzzer(0))
    path = data.draw(st.sampled_from(_paths(template)))
    target = template
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(_json)
    _reply_is_sane(_setup_core(), json.dumps(template))


# -- over a real WebSocket ---------------------------------------------------------------------

async def _recv(ws, timeout: float = 30.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@pytest.mark.slow
async def test_seeded_fuzz_over_websocket(engine):
    import websockets
    from websockets.protocol import State

    fuzz = Fuzzer(seed=7)
    cases = [fuzz.case(wire_only=True) for _ in range(WS_CASES)]
    cases += [Case("bad_append", json.dumps({"type": "input_audio_buffer.append",
                                             "audio": "A" * (MAX_APPEND_BYTES * 4 // 3 + 8)}),
                   None)] * 2
    async with websockets.connect(engine.url + "/realtime?model=rtnb-local",
                                  max_size=None) as ws:
        assert (await _recv(ws))["type"] == "session.created"
        for ev in SETUP:
            await ws.send(json.dumps(ev))
            assert [(await _recv(ws))["type"] for _ in ADDED] == list(ADDED)
        expected = sum(1 if c.valid is None else len(c.valid) for c in cases)
        received: list[dict] = []

        async def sender() -> None:
            for case in cases:  # back to back, while the reader drains the replies
                await ws.send(case.raw)

        async def reader() -> None:
            while len(received) < expected:
                received.append(await _recv(ws))

        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(sender(), reader()), 60)
        elapsed = time.perf_counter() - start
        pos = 0
        for case in cases:
            n = 1 if case.valid is None else len(case.valid)
            _check(case, received[pos:pos + n], [])
            pos += n
        assert ws.state is State.OPEN

        # A normal turn on the same connection: text in, audio out.
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Hello!"}]}}))
        await ws.send(json.dumps({"type": "response.create"}))
        audio = 0
        while True:
            ev = await _recv(ws)
            validate_server_event(ev)
            assert ev["type"] != "error", ev
            if ev["type"] == "response.output_audio.delta":
                audio += len(base64.b64decode(ev["delta"]))
            if ev["type"] == "response.done":
                break
        assert ev["response"]["status"] == "completed"
        assert audio > 48 * 300  # more than 300 ms of speech
    malformed = sum(1 for c in cases if c.valid is None)
    assert malformed >= 3_000
    print(f"\nwebsocket fuzz: {len(cases)} events ({malformed} malformed) in {elapsed:.2f}s = "
          f"{len(cases) / elapsed:,.0f} events/s round trip")
