"""The connection I/O layer: the core's effects run with stand-in parts (no models).

A scripted brain and a TTS that makes one tone per sentence stand in for the real parts,
so the tests see exactly what :class:`RealtimeConnection` does with them: the order of the
output events, audio chunking with the words spoken in each chunk, the token limit, an
idle timeout's prompt, and one failed ``response.done`` when the brain fails.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtnb.engine.brain.base import BrainError, BrainReply, BrainRequest, ToolCall
from rtnb.engine.parts import Engine
from rtnb.engine.realtime import (
    CHUNK_MS,
    IDLE_PROMPT,
    RealtimeConnection,
    _after_idle_timeout,
    _align,
    _fit,
    _text_pieces,
)
from tests.wire import validate_server_event


class ScriptedBrain:
    name = "scripted"

    def __init__(self, reply: BrainReply | Exception) -> None:
        self.reply = reply
        self.requests: list[BrainRequest] = []

    async def respond(self, request: BrainRequest) -> BrainReply:
        self.requests.append(request)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


class ToneTts:
    """One 600 ms chunk of audio per sentence (a sentence ends with . ! or ?)."""

    name = "tone"

    def synthesize(self, text: str, voice: str, speed: float):
        for sentence in re.findall(r"[^.!?]+[.!?]?", text):
            yield sentence.strip(), b"\x10\x00" * (24 * 600)


async def run(reply: BrainReply | Exception, text: str = "hello", *,
              modalities: tuple[str, ...] = ("audio",), **session) -> tuple[list[dict],
                                                                             ScriptedBrain]:
    brain = ScriptedBrain(reply)
    engine = Engine(brain=brain, tts=ToneTts())
    sent: list[dict] = []

    async def send(event: dict) -> None:
        validate_server_event(event)
        sent.append(event)

    conn = RealtimeConnection(engine, send, "rtnb-local")
    await conn.open()
    await conn.handle(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "output_modalities": list(modalities), **session}}))
    await conn.handle(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}))
    await conn.handle(json.dumps({"type": "response.create"}))
    for _ in range(500):
        if any(e["type"] == "response.done" for e in sent):
            break
        await asyncio.sleep(0.01)
    await conn.close()
    engine.tts_scheduler.close()
    return sent, brain


def kinds(sent: list[dict]) -> list[str]:
    return [e["type"] for e in sent]


async def test_a_spoken_reply_then_a_tool_call():
    sent, brain = await run(BrainReply("Hi there. One moment!", [ToolCall("lookup", {"a": 1})]))
    assert brain.requests[0].history[-1]["content"][0]["text"] == "hello"
    after = kinds(sent)[kinds(sent).index("response.created"):]
    assert after[:4] == ["response.created", "response.output_item.added",
                         "conversation.item.added", "response.content_part.added"]
    assert after[-8:] == ["response.output_item.added", "conversation.item.added",
                          "response.function_call_arguments.delta",
                          "response.function_call_arguments.done",
                          "response.output_item.done", "conversation.item.done",
                          "response.done", "rate_limits.updated"]
    audio = b"".join(base64.b64decode(e["delta"]) for e in sent
                     if e["type"] == "response.output_audio.delta")
    assert len(audio) == 2 * 600 * 48  # both sentences, every byte
    chunks = [e for e in sent if e["type"] == "response.output_audio.delta"]
    assert max(len(base64.b64decode(e["delta"])) for e in chunks) <= CHUNK_MS * 48
    words = "".join(e["delta"] for e in sent
                    if e["type"] == "response.output_audio_transcript.delta")
    assert words == "Hi there. One moment!"
    done = next(e for e in sent if e["type"] == "response.done")["response"]
    assert done["status"] == "completed"
    assert json.loads(done["output"][1]["arguments"]) == {"a": 1}


async def test_text_output_streams_word_by_word():
    sent, _ = await run(BrainReply("One two three."), modalities=("text",))
    deltas = [e["delta"] for e in sent if e["type"] == "response.output_text.delta"]
    assert deltas == ["One", " two", " three."]
    assert "response.output_audio.delta" not in kinds(sent)


async def test_the_token_limit_cuts_the_reply_and_drops_the_tool_call():
    sent, _ = await run(BrainReply("one two three four five six seven eight",
                                   [ToolCall("lookup", {})]),
                        modalities=("text",), max_output_tokens=3)
    done = next(e for e in sent if e["type"] == "response.done")["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"]["reason"] == "max_output_tokens"
    assert [o["type"] for o in done["output"]] == ["message"]
    assert len(done["output"][0]["content"][0]["text"]) <= 12


async def test_a_failing_brain_fails_the_response_once(caplog):
    sent, _ = await run(BrainError("endpoint down"))
    done = [e for e in sent if e["type"] == "response.done"]
    assert len(done) == 1 and done[0]["response"]["status"] == "failed"
    assert "endpoint down" in done[0]["response"]["status_details"]["error"]["message"]
    assert [r.message for r in caplog.records if r.levelname == "ERROR"] == [
        f"response {done[0]['response']['id']} failed: endpoint down"]


@pytest.mark.parametrize(("history", "idle"), [
    ([{"type": "message", "role": "user", "content": [{"type": "input_audio",
                                                       "transcript": ""}]}], True),
    ([{"type": "message", "role": "user", "content": [{"type": "input_audio",
                                                       "transcript": "hi"}]}], False),
    ([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": ""}]}],
     False),
    ([], False),
])
def test_after_an_idle_timeout_the_engine_asks_itself(history, idle):
    assert _after_idle_timeout(history) is idle
    assert IDLE_PROMPT.endswith("?")


@pytest.mark.parametrize(("text", "limit", "cut", "incomplete"), [
    ("short", None, "short", False), ("short", 5, "short", False),
    ("one two three", 9, "one two", True), ("one two three", 3, "one", True)])
def test_fit(text, limit, cut, incomplete):
    assert _fit(text, limit) == (cut, incomplete)


@given(st.lists(st.text(alphabet="abc .", min_size=1, max_size=8), min_size=1, max_size=12),
       st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=9))
def test_align_keeps_every_word_and_every_byte_in_order(words, n_bytes, chunk):
    text = " ".join(words)
    pcm = bytes(range(256)) * (n_bytes // 16 + 1)
    pieces = _align(text, pcm[:n_bytes * 2], chunk * 2)
    assert "".join(p for p, _ in pieces) == text
    assert b"".join(c for _, c in pieces) == pcm[:n_bytes * 2]
    assert all(len(c) <= chunk * 2 for _, c in pieces)


def test_text_pieces_rejoin():
    assert "".join(_text_pieces("a bc  d")) == "a bc  d"
