"""Failures are loud, against a real engine (its server, auth and brain; no speech models).

- A response that fails (the engine's brain endpoint is dead) raises in ``wait()``
  with the server's message, instead of returning ``''``.
- A refused token is reported as such, with the server's words, not as a raw
  ``websockets`` handshake exception.
"""

from __future__ import annotations

import pytest

import rtnb
from rtnb.engine.background import start_engine
from rtnb.engine.brain import make_brain
from rtnb.engine.server import Engine

TOKEN = "rtnb-test-token-5150"


@pytest.fixture(scope="module")
def dead_brain():
    """An engine whose brain is a chat-completions endpoint nobody listens on."""
    with start_engine(port=0, engine=Engine(brain=make_brain("http://127.0.0.1:9/v1#llama"))
                      ) as running:
        yield running


@pytest.fixture(scope="module")
def guarded():
    """An engine that requires a bearer token."""
    with start_engine(port=0, engine=Engine(brain=make_brain("rules")), token=TOKEN) as running:
        yield running


async def test_a_dead_brain_fails_the_answer_loudly(dead_brain):
    agent = rtnb.Agent("Assistant", "Be brief.")
    async with rtnb.Session(agent, backend=dead_brain, transcription=False) as s:
        await s.say("hello")
        with pytest.raises(rtnb.SessionError) as raised:
            await s.wait(timeout=30)
    message = str(raised.value)
    assert "failed" in message and "http://127.0.0.1:9/v1/chat/completions" in message
    done = next(e.event["response"] for e in s.log if e.type == "response.done")
    assert done["status"] == "failed"
    assert raised.value.server_errors[0]["response_id"] == done["id"]
    assert done["status_details"]["error"]["message"] in message


async def test_a_refused_request_of_the_session_raises_in_wait(dead_brain):
    # Push-to-talk released after 50 ms: the engine refuses the commit (< 100 ms).
    agent = rtnb.Agent("Assistant", "Be brief.")
    async with rtnb.Session(agent, backend=dead_brain, turn_detection=None,
                            transcription=False) as s:
        await s.start_talking()
        await s.send_audio(b"\x00\x00" * 1200)
        await s.stop_talking()
        with pytest.raises(rtnb.SessionError) as raised:
            await s.wait(timeout=30)
    message = str(raised.value)
    assert "the server refused input_audio_buffer.commit (evt_rtnb_" in message
    assert "buffer too small" in message and "[input_audio_buffer_commit_empty]" in message
    assert raised.value.server_errors[0]["code"] == "input_audio_buffer_commit_empty"


@pytest.mark.parametrize("key", ["wrong-token", None])
async def test_a_refused_token_says_so(guarded, key, monkeypatch):
    monkeypatch.delenv("RTNB_TOKEN", raising=False)
    s = rtnb.Session(rtnb.Agent("A"), backend=guarded.url, api_key=key)
    with pytest.raises(rtnb.SessionError) as raised:
        await s.connect()
    assert isinstance(raised.value, rtnb.session.CredentialRefused)
    message = str(raised.value)
    assert message.startswith("the engine refused the token; pass api_key=")
    assert "RTNB_TOKEN" in message and "HTTP 401" in message
    assert "Missing or invalid bearer token for this rtnb engine." in message  # its body
    assert raised.value.status == 401 and not s.connected
    if key:
        assert key not in message


async def test_the_right_token_connects(guarded, monkeypatch):
    monkeypatch.setenv("RTNB_TOKEN", TOKEN)
    async with rtnb.Session(rtnb.Agent("A"), backend=guarded.url) as s:
        assert s.connected
