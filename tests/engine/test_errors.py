"""Loud failures on the engine side: a dead brain, a refused token (no speech models needed).

The engine here is the real server on loopback with only a brain (text in, text out), and
the official ``openai`` SDK is the client.
"""

from __future__ import annotations

import json
import logging
import socket

import pytest
import websockets
from openai import AsyncOpenAI

from rtnb.engine.auth import Auth
from rtnb.engine.brain import ChatBrain, RuleBrain, check_endpoint
from rtnb.engine.parts import Engine
from rtnb.engine.server import EngineServer


def dead_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
async def serve():
    servers: list[EngineServer] = []

    async def start(engine: Engine) -> EngineServer:
        server = EngineServer(engine, port=0)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


async def text_turn(url: str, text: str = "hello") -> object:
    """One typed turn with text output; returns the ``response.done`` response."""
    client = AsyncOpenAI(api_key="x", websocket_base_url=url)
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                           "audio": {"input": {"turn_detection": None}}})
        await conn.conversation.item.create(item={
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]})
        await conn.response.create()
        async for event in conn:
            if event.type == "response.done":
                return event.response
    raise AssertionError("the connection closed before response.done")


async def test_a_dead_brain_fails_each_turn_with_one_log_line(serve, caplog):
    url = dead_url()
    server = await serve(Engine(brain=ChatBrain(url, "llama3.2", max_retries=0)))
    caplog.set_level(logging.DEBUG, logger="rtnb.engine")
    for _ in range(2):
        response = await text_turn(server.url)
        assert response.status == "failed"
        error = response.status_details.error
        assert f"{url}/chat/completions" in error.message and "Connection" in error.message
    problems = [r for r in caplog.records
                if r.name == "rtnb.engine" and r.levelno >= logging.WARNING]
    assert len(problems) == 2  # one per failed turn
    for record in problems:
        line = record.getMessage()
        assert record.exc_info is None and "\n" not in line
        assert line.startswith("response resp_") and f"{url}/chat/completions" in line
    # The traceback is still there for whoever asks for DEBUG.
    assert any(r.exc_info for r in caplog.records if r.levelno == logging.DEBUG)


async def test_an_unexpected_failure_is_one_line_that_points_at_the_traceback(serve, caplog):
    class Broken:
        name = "broken"

        async def respond(self, request):
            raise KeyError("surprise")

    server = await serve(Engine(brain=Broken()))
    caplog.set_level(logging.WARNING, logger="rtnb.engine")
    response = await text_turn(server.url)
    assert response.status == "failed"
    [record] = [r for r in caplog.records if r.name == "rtnb.engine"]
    assert record.exc_info is None
    assert "KeyError: 'surprise'" in record.getMessage()
    assert "--log-level debug" in record.getMessage()


async def test_401_has_one_json_content_type_and_the_message(serve):
    server = await serve(Engine(brain=RuleBrain(), auth=Auth("right-token")))
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(server.url + "/realtime",
                                      additional_headers={"Authorization": "Bearer wrong"}):
            pass
    response = info.value.response
    assert response.status_code == 401
    assert response.headers.get_all("Content-Type") == ["application/json"]
    body = json.loads(response.body)
    assert body["error"]["code"] == "invalid_api_key"
    assert "bearer token" in body["error"]["message"]


# -- the start-up check of a --brain endpoint -------------------------------------------------


async def test_brain_check_names_the_problem(serve):
    # The engine's own HTTP API is an OpenAI-compatible endpoint with GET /v1/models.
    guarded = await serve(Engine(brain=RuleBrain(), auth=Auth("key-1")))
    base = guarded.url.replace("ws://", "http://", 1)
    checks = {
        "dead": ChatBrain(dead_url(), "llama3.2"),
        "refused": ChatBrain(base, "rtnb-local", api_key="wrong"),
        "unknown model": ChatBrain(base, "llama3.2", api_key="key-1"),
        "fine": ChatBrain(base, "rtnb-local", api_key="key-1"),
        "no model named": ChatBrain(base, "local-model", api_key="key-1"),
        "not found": ChatBrain(base + "/nothing-here", "m", api_key="key-1"),
    }
    import asyncio

    found = {name: await asyncio.to_thread(check_endpoint, brain, 5)
             for name, brain in checks.items()}
    assert "is unreachable" in found["dead"] and "Connection" in found["dead"]
    assert "refused the API key" in found["refused"] and "RTNB_BRAIN_API_KEY" in found["refused"]
    assert "key-1" not in found["refused"] and "wrong" not in found["refused"]
    assert "does not list the model 'llama3.2'" in found["unknown model"]
    assert "rtnb-local" in found["unknown model"]
    assert found["fine"] is None and found["no model named"] is None
    assert found["not found"] is None  # reachable; an endpoint may lack GET /models
    assert check_endpoint(RuleBrain()) is None
    for problem in filter(None, found.values()):
        assert "\n" not in problem


@pytest.mark.slow
def test_start_engine_warns_about_a_dead_brain():
    """From Python (a notebook), the start-up check is a RuntimeWarning; the engine runs."""
    from rtnb.engine.background import start_engine

    url = dead_url()
    warned = pytest.warns(RuntimeWarning, match=f"the brain endpoint {url} is unreachable")
    with warned as seen, start_engine(brain=f"{url}#llama3.2") as running:
        assert running.running
    assert len(seen) == 1 and "\n" not in str(seen[0].message)
