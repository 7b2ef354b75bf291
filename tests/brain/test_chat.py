"""ChatBrain against a fake OpenAI-compatible chat-completions server on loopback."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rtnb.engine.brain import BrainError, BrainReply, BrainRequest, ChatBrain, ToolCall

SECRET = "sk-test-do-not-leak"


def completion(message: dict) -> dict:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", **message},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


TEXT_REPLY = completion({"content": "  Hello from the fake model.  "})
TOOL_REPLY = completion({"content": None, "tool_calls": [
    {"id": "call_a", "type": "function",
     "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
    {"id": "call_b", "type": "function",
     "function": {"name": "get_weather", "arguments": '{"city": '}},
]})


class FakeServer:
    """Records each request; answers with the next canned (status, body)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.replies: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append({"path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "json": json.loads(body)})
                status, reply = fake.replies.pop(0) if fake.replies else (200, TEXT_REPLY)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    fake = FakeServer()
    yield fake
    fake.close()


@pytest.fixture
def fake(server):
    server.requests.clear()
    server.replies.clear()
    return server


WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}
HISTORY = [
    {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "What's in this picture?"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
    {"type": "message", "role": "assistant", "content": [
        {"type": "output_audio", "transcript": "A cat. Anything else?"}]},
    {"type": "message", "role": "user", "content": [
        {"type": "input_audio", "transcript": "weather in paris"}]},
    {"type": "function_call", "name": "get_weather", "arguments": '{"city": "Paris"}',
     "call_id": "call_1"},
    {"type": "function_call_output", "call_id": "call_1", "output": '{"temperature": 18}'},
]


async def test_text_reply_and_request_shape(fake):
    brain = ChatBrain(fake.url, "fake-model", api_key=SECRET)
    reply = await brain.respond(BrainRequest(
        instructions="Be brief.", tools=[WEATHER], tool_choice="auto", history=HISTORY))
    assert reply == BrainReply("Hello from the fake model.")
    assert brain.name == "fake-model"
    (req,) = fake.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == f"Bearer {SECRET}"
    body = req["json"]
    assert body["model"] == "fake-model"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "What's in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
        {"role": "assistant", "content": "A cat. Anything else?"},
        {"role": "user", "content": "weather in paris"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 18}'},
    ]
    assert body["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city.",
        "parameters": WEATHER["parameters"]}}]
    assert body["tool_choice"] == "auto"
    await brain.aclose()


async def test_tool_call_reply_and_forced_choice(fake):
    fake.replies.append((200, TOOL_REPLY))
    brain = ChatBrain(fake.url, "fake-model")
    reply = await brain.respond(BrainRequest(
        tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"},
        history=HISTORY[2:3]))
    assert reply == BrainReply(None, [ToolCall("get_weather", {"city": "Paris"}),
                                      ToolCall("get_weather", {})])
    body = fake.requests[0]["json"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert fake.requests[0]["headers"]["authorization"] == "Bearer not-needed"


async def test_no_tools_sends_no_tool_fields_and_truncates(fake):
    brain = ChatBrain(fake.url, "m")
    reply = await brain.respond(BrainRequest(history=HISTORY[2:3], max_output_chars=12))
    assert reply.text == "Hello from"
    assert "tools" not in fake.requests[0]["json"]
    assert "tool_choice" not in fake.requests[0]["json"]


async def test_http_error_raises_brain_error(fake):
    fake.replies.append((500, {"error": {"message": "model exploded", "type": "server_error"}}))
    brain = ChatBrain(fake.url, "m", api_key=SECRET, max_retries=0)
    with pytest.raises(BrainError) as info:
        await brain.respond(BrainRequest(history=HISTORY[2:3]))
    message = str(info.value)
    assert f"{fake.url}/chat/completions" in message and "500" in message
    assert SECRET not in message and SECRET not in repr(brain)


async def test_unreachable_url_raises_brain_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    brain = ChatBrain(url, "m", api_key=SECRET, timeout=5, max_retries=0)
    with pytest.raises(BrainError) as info:
        await brain.respond(BrainRequest(history=HISTORY[2:3]))
    assert url in str(info.value) and SECRET not in str(info.value)


def test_importing_the_package_does_not_import_openai():
    import subprocess
    import sys

    code = "import sys, rtnb.engine.brain; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
