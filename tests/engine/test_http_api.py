"""The HTTP endpoints as plain data in, plain data out: no sockets, a scripted brain.

The same routes over real sockets and the official SDK are in tests/engine/test_server.py,
tests/engine/test_errors.py and the integration tests.
"""

from __future__ import annotations

import json

import pytest
from openai.types import ModerationCreateResponse
from openai.types.responses import Response as SdkResponse

from rtnb.engine.auth import Auth
from rtnb.engine.brain.base import BrainReply, BrainRequest, ToolCall
from rtnb.engine.http_api import MAX_STORED_RESPONSES, HttpApi
from rtnb.engine.parts import Engine

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


class ScriptedBrain:
    """Calls get_weather once, then reads the tool output back; records every request."""

    name = "scripted"

    def __init__(self) -> None:
        self.requests: list[BrainRequest] = []

    async def respond(self, request: BrainRequest) -> BrainReply:
        self.requests.append(request)
        last = request.history[-1]
        if last.get("type") == "function_call_output":
            return BrainReply(f"It is {json.loads(last['output'])['temp']} degrees.")
        if request.tools:
            return BrainReply("One moment.", [ToolCall("get_weather", {"city": "Paris"})])
        return BrainReply("Hello.")


@pytest.fixture
def brain():
    return ScriptedBrain()


def api(brain, token: str | None = None) -> HttpApi:
    return HttpApi(Engine(brain=brain, auth=Auth(token)))


async def post(handler: HttpApi, path: str, body: dict, **headers: str):
    return await handler.handle("POST", path, headers, json.dumps(body).encode())


async def test_health_needs_no_token_and_the_rest_does(brain):
    handler = api(brain, token="t0k")
    status, body = await handler.handle("GET", "/health", {}, b"")
    assert status == 200 and body["status"] == "ok" and body["speech"]["brain"] == "scripted"
    status, body = await handler.handle("GET", "/v1/models", {}, b"")
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    status, body = await handler.handle("GET", "/v1/models", {"authorization": "Bearer t0k"},
                                        b"")
    assert status == 200 and body["data"][0]["id"] == "rtnb-local"


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("POST", "/v1/nope", 404, "not_found"),
    ("GET", "/v1/responses", 405, "method_not_allowed"),
])
async def test_unknown_routes_and_methods(brain, method, path, status, code):
    got, body = await api(brain).handle(method, path, {}, b"{}")
    assert (got, body["error"]["code"]) == (status, code)


async def test_a_body_that_is_not_a_json_object(brain):
    for raw in (b"{nope", b"[1]"):
        status, body = await api(brain).handle("POST", "/v1/responses", {}, raw)
        assert (status, body["error"]["code"]) == (400, "invalid_json")


async def test_the_function_call_loop_with_previous_response_id(brain):
    handler = api(brain)
    status, first = await post(handler, "/v1/responses", {
        "input": "Weather in Paris?", "tools": [WEATHER, {"type": "web_search"}],
        "instructions": "Use tools."})
    assert status == 200
    SdkResponse.model_validate(first)  # the official SDK's shape
    assert [o["type"] for o in first["output"]] == ["message", "function_call"]
    call = first["output"][1]
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Paris"})
    assert [t["name"] for t in brain.requests[0].tools] == ["get_weather"]  # hosted tools: none
    status, second = await post(handler, "/v1/responses", {
        "previous_response_id": first["id"], "tools": [WEATHER],
        "input": [{"type": "function_call_output", "call_id": call["call_id"],
                   "output": json.dumps({"temp": 18})}]})
    assert status == 200 and second["output"][0]["content"][0]["text"] == "It is 18 degrees."
    history = brain.requests[1].history
    assert [i.get("role") or i["type"] for i in history] == [
        "user", "assistant", "function_call", "function_call_output"]
    assert second["previous_response_id"] == first["id"]


async def test_responses_refusals(brain):
    handler = api(brain)
    cases = [({"input": "x", "stream": True}, 400, "unsupported_parameter"),
             ({}, 400, "missing_required_parameter"),
             ({"input": "x", "previous_response_id": "resp_gone"}, 404,
              "previous_response_not_found"),
             ({"input": 5}, 400, "invalid_type"),
             ({"input": [{"role": "robot", "content": "x"}]}, 400, "invalid_value")]
    for body, status, code in cases:
        got, reply = await post(handler, "/v1/responses", body)
        assert (got, reply["error"]["code"]) == (status, code), body


async def test_stored_responses_are_bounded_and_store_false_keeps_none(brain):
    handler = api(brain)
    _, kept = await post(handler, "/v1/responses", {"input": "hi"})
    _, unkept = await post(handler, "/v1/responses", {"input": "hi", "store": False})
    status, _ = await post(handler, "/v1/responses", {"input": "x",
                                                       "previous_response_id": unkept["id"]})
    assert status == 404
    for _ in range(MAX_STORED_RESPONSES):
        await post(handler, "/v1/responses", {"input": "hi"})
    status, _ = await post(handler, "/v1/responses", {"input": "x",
                                                       "previous_response_id": kept["id"]})
    assert status == 404  # the oldest was dropped


async def test_moderations(brain):
    status, body = await post(api(brain), "/v1/moderations",
                              {"input": ["I will kill you", "Have a nice day"]})
    assert status == 200
    parsed = ModerationCreateResponse.model_validate(body)
    assert [r.flagged for r in parsed.results] == [True, False]
    status, body = await post(api(brain), "/v1/moderations", {"input": 5})
    assert (status, body["error"]["code"]) == (400, "invalid_type")


async def test_client_secrets_carry_the_requested_session(brain):
    handler = api(brain, token="t0k")
    auth = {"authorization": "Bearer t0k"}
    status, body = await post(handler, "/v1/realtime/client_secrets", {
        "expires_after": {"seconds": 60},
        "session": {"instructions": "Be brief.", "audio": {"output": {"voice": "verse"}}}},
        **auth)
    assert status == 200 and body["value"].startswith("ek_")
    assert body["session"]["instructions"] == "Be brief."
    assert body["session"]["audio"]["output"]["voice"] == "verse"
    ek = {"authorization": f"Bearer {body['value']}"}
    assert (await handler.handle("GET", "/v1/models", ek, b""))[0] == 200
    # A short-lived key may not mint more keys.
    assert (await post(handler, "/v1/realtime/client_secrets", {}, **ek))[0] == 401
    for bad in ({"expires_after": {"seconds": 5}},
                {"session": {"audio": {"output": {"voice": "robot"}}}}):
        status, reply = await post(handler, "/v1/realtime/client_secrets", bad, **auth)
        assert status == 400, bad


async def test_calls_need_the_calls_registry(brain):
    # Without a Calls registry (HttpApi alone) the WebRTC route does not exist.
    status, body = await api(brain).handle("POST", "/v1/realtime/calls", {}, b"v=0")
    assert (status, body["error"]["code"]) == (404, "not_found")
