"""Transports: the base class, refusals reported plainly, replay from a log (no network)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import rtnb
from rtnb.session.backend import Backend
from rtnb.session.eventlog import EventLog
from rtnb.session.replay import ReplayTransport
from rtnb.session.transport import Replayed, Transport, TransportClosed, refusal


class CannedServer(Transport):
    """The smallest transport: a queue of server events, and a list of what was sent."""

    kind = "canned"

    def __init__(self, *events: dict[str, Any]) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        for event in events:
            self.queue.put_nowait(event)
        self.sent: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        self.sent.append(event)

    async def recv(self) -> dict[str, Any]:
        event = await self.queue.get()
        if event is None:
            raise TransportClosed("server said bye")
        return event


async def test_a_transport_is_four_methods():
    server = CannedServer({"type": "session.created", "event_id": "e1"}, None)
    s = rtnb.Session(rtnb.Agent("A"), transport=server)
    assert s.backend.kind == "canned"
    await s.connect()
    assert server.sent[0]["type"] == "session.update"
    await asyncio.wait_for(s._reader, 5)
    assert not s.connected and s.closed_reason == "server said bye"
    assert [e.type for e in s.log] == ["local.connected", "session.update", "session.created",
                                       "local.disconnected"]


def test_openai_refusal_names_the_key_variable_and_never_echoes_the_key():
    key = "sk-test-abcdef123456"
    error = refusal(Backend("openai", _key=key), 401,
                    b'{"error": {"message": "Incorrect API key provided: sk-test-abcdef123456."}}')
    assert isinstance(error, rtnb.CredentialRefused) and error.status == 401
    assert str(error).startswith("OpenAI refused the API key; check OPENAI_API_KEY.")
    assert "Incorrect API key provided: [redacted]." in str(error) and key not in str(error)


def test_other_refusals_keep_the_status_and_body():
    error = refusal(Backend("url", "ws://127.0.0.1:1/v1"), 404, b"Unknown path /v2/realtime")
    assert isinstance(error, TransportClosed)
    assert "ws://127.0.0.1:1/v1 refused the connection" in str(error)
    assert "(HTTP 404): Unknown path /v2/realtime" in str(error)


async def test_replay_plays_a_log_with_its_audio_and_takes_no_input():
    log = EventLog()
    log.add(0.0, "local", "A", {"type": "local.connected", "agent": "A", "backend": "x"})
    log.add(0.5, "client", "A", {"type": "input_audio_buffer.append", "audio": ""},
            b"\x01\x00" * 480)
    log.add(1.0, "server", "A", {"type": "response.output_audio.delta", "item_id": "i",
                                 "delta": ""}, b"\x02\x00" * 960)
    transport = ReplayTransport(log, speed=None)
    await transport.connect()
    got = [await transport.recv() for _ in range(3)]
    assert all(isinstance(r, Replayed) for r in got)
    assert [r.entry.t for r in got] == [0.0, 0.5, 1.0]
    assert got[0].pcm is None and got[1].pcm == b"\x01\x00" * 480
    assert got[2].pcm == b"\x02\x00" * 960
    with pytest.raises(TransportClosed, match="replay finished"):
        await transport.recv()
    with pytest.raises(TransportClosed, match="takes no input"):
        await transport.send({"type": "response.create"})


async def test_a_replay_session_is_paced_by_speed():
    log = EventLog()
    for t in (0.0, 0.2):
        log.add(t, "local", "A", {"type": "local.note", "t": t})
    s = rtnb.Session(rtnb.Agent("A"), transport=ReplayTransport(log, speed=4.0))
    await s.connect()
    assert s.connected and s.backend.kind == "replay"
    await asyncio.wait_for(s._reader, 5)
    assert [e.t for e in s.log] == [0.0, 0.2]  # the recording's own times
    assert s.now() >= 0.2 / 4.0  # paced: the second entry came 50 ms in
