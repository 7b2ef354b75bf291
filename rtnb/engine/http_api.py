"""The engine's HTTP endpoints, on the same port as the realtime WebSocket.

``POST /v1/responses`` (what the chat-supervisor pattern calls, with function
tools), ``POST /v1/moderations`` and ``POST /v1/realtime/client_secrets``, plus
``GET /v1/models`` and ``GET /health``; ``/v1/realtime/calls`` (WebRTC) is
routed to :class:`~rtnb.engine.calls.Calls`. Handlers take and return plain data; the
server does the HTTP framing.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from .auth import bearer
from .brain.base import BrainRequest
from .calls import CALLS_PATH, RawReply
from .config import default_session, merge_session

if TYPE_CHECKING:
    from .calls import Calls
    from .parts import Engine

MAX_STORED_RESPONSES = 256


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None,
                 param: str | None = None, type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}


class HttpApi:
    def __init__(self, engine: Engine, calls: Calls | None = None) -> None:
        self.engine = engine
        self.calls = calls
        self._stored: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    async def handle(self, method: str, path: str, headers: dict[str, str],
                     body: bytes) -> tuple[int, dict[str, Any] | RawReply]:
        """Route one request; returns ``(status, JSON body or raw reply)``."""
        try:
            route = path.split("?", 1)[0].rstrip("/")
            if method == "GET" and route in ("", "/health", "/v1"):
                return 200, {"status": "ok", "model": self.engine.model,
                             "speech": self.engine.describe()}
            self._authorize(headers, allow_ephemeral=route != "/v1/realtime/client_secrets")
            if method == "GET" and route == "/v1/models":
                return 200, {"object": "list", "data": [
                    {"id": self.engine.model, "object": "model", "created": 0,
                     "owned_by": "rtnb"}]}
            if self.calls is not None and (route == CALLS_PATH
                                           or route.startswith(CALLS_PATH + "/")):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
                return await self.calls.handle(method, route, query, headers, body)
            handlers = {
                "/v1/responses": self.responses,
                "/v1/moderations": self.moderations,
                "/v1/realtime/client_secrets": self.client_secrets,
            }
            if route not in handlers:
                raise HttpError(404, f"Unknown endpoint {method} {route or '/'}.", "not_found")
            if method != "POST":
                raise HttpError(405, f"Use POST for {route}.", "method_not_allowed")
            return 200, await handlers[route](_json_body(body))
        except HttpError as err:
            return err.status, err.body

    def _authorize(self, headers: dict[str, str], allow_ephemeral: bool) -> None:
        credential = bearer(headers.get("authorization"))
        if not self.engine.auth.check(credential, allow_ephemeral=allow_ephemeral):
            raise HttpError(401, "Missing or invalid bearer token for this rtnb engine.",
                            "invalid_api_key")

    # -- responses ---------------------------------------------------------------------------

    async def responses(self, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("stream"):
            raise HttpError(400, "The local engine answers /v1/responses without streaming; "
                                 "leave 'stream' unset.", "unsupported_parameter", "stream")
        if "input" not in req:
            raise HttpError(400, "Missing required parameter: 'input'.",
                            "missing_required_parameter", "input")
        history = self._stored.get(req.get("previous_response_id") or "", [])
        if req.get("previous_response_id") and not history:
            raise HttpError(404, f"Previous response '{req['previous_response_id']}' not found.",
                            "previous_response_not_found", "previous_response_id")
        history = history + _input_items(req["input"])
        tools = [_function_tool(t, i) for i, t in enumerate(req.get("tools") or [])]
        tools = [t for t in tools if t is not None]
        tool_choice = req.get("tool_choice") or "auto"
        max_tokens = req.get("max_output_tokens")
        brain_req = BrainRequest(
            instructions=req.get("instructions") or "", tools=tools, tool_choice=tool_choice,
            history=history, max_output_chars=max_tokens * 4 if isinstance(max_tokens, int)
            else None)
        reply = await self.engine.brain.respond(brain_req)
        output: list[dict[str, Any]] = []
        if reply.text:
            output.append({
                "type": "message", "id": "msg_" + secrets.token_hex(12), "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": [],
                             "logprobs": []}]})
        for call in reply.tool_calls:
            output.append({
                "type": "function_call", "id": "fc_" + secrets.token_hex(12),
                "call_id": "call_" + secrets.token_hex(12), "name": call.name,
                "arguments": json.dumps(call.arguments), "status": "completed"})
        rid = "resp_" + secrets.token_hex(16)
        if req.get("store", True):
            self._stored[rid] = history + [_as_history(o) for o in output]
            while len(self._stored) > MAX_STORED_RESPONSES:
                self._stored.popitem(last=False)
        in_tokens = sum(len(json.dumps(i)) for i in history) // 4 + len(
            brain_req.instructions) // 4
        out_tokens = sum(len(json.dumps(o)) for o in output) // 4
        return {
            "id": rid, "object": "response", "created_at": int(time.time()),
            "status": "completed", "model": self.engine.brain.name, "output": output,
            "error": None, "incomplete_details": None, "instructions": req.get("instructions"),
            "metadata": req.get("metadata") or {}, "parallel_tool_calls": True,
            "temperature": req.get("temperature", 1.0), "top_p": req.get("top_p", 1.0),
            "tool_choice": tool_choice, "tools": req.get("tools") or [],
            "previous_response_id": req.get("previous_response_id"),
            "max_output_tokens": max_tokens, "reasoning": None, "store": req.get("store", True),
            "text": {"format": {"type": "text"}}, "truncation": "disabled",
            "usage": {"input_tokens": in_tokens,
                      "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": out_tokens,
                      "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": in_tokens + out_tokens},
        }

    async def moderations(self, req: dict[str, Any]) -> dict[str, Any]:
        from .moderation import moderation_response

        inputs = req.get("input")
        if isinstance(inputs, list):
            inputs = [i.get("text", "") if isinstance(i, dict) else i for i in inputs]
        if not isinstance(inputs, (str, list)) or (
                isinstance(inputs, list) and not all(isinstance(i, str) for i in inputs)):
            raise HttpError(400, "'input' must be a string or a list of strings.",
                            "invalid_type", "input")
        return moderation_response(inputs, req.get("model") or "rtnb-moderation-local")

    async def client_secrets(self, req: dict[str, Any]) -> dict[str, Any]:
        ttl = (req.get("expires_after") or {}).get("seconds", 600)
        if not isinstance(ttl, int) or not 10 <= ttl <= 7200:
            raise HttpError(400, "expires_after.seconds must be an integer from 10 to 7200.",
                            "invalid_value", "expires_after.seconds")
        value, expires_at = self.engine.auth.issue(ttl)
        session = default_session("sess_" + secrets.token_hex(8), self.engine.model)
        requested = req.get("session") or {}
        if requested:
            requested = {"type": "realtime", **requested}
            try:
                session = merge_session(session, requested)
            except Exception as exc:
                raise HttpError(400, str(exc), "invalid_value", "session") from None
        return {"value": value, "expires_at": expires_at, "session": session}


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise HttpError(400, "The request body is not valid JSON.", "invalid_json") from None
    if not isinstance(data, dict):
        raise HttpError(400, "The request body must be a JSON object.", "invalid_json")
    return data


def _function_tool(tool: Any, index: int) -> dict[str, Any] | None:
    if not isinstance(tool, dict):
        raise HttpError(400, f"tools[{index}] must be an object.", "invalid_type",
                        f"tools[{index}]")
    if tool.get("type") != "function":
        return None  # hosted tools do not exist locally
    if not tool.get("name"):
        raise HttpError(400, f"tools[{index}].name is required.", "missing_required_parameter",
                        f"tools[{index}].name")
    return {"type": "function", "name": tool["name"],
            "description": tool.get("description") or "",
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}


def _input_items(value: Any) -> list[dict[str, Any]]:
    """Responses API input → Realtime-shaped history items."""
    if isinstance(value, str):
        return [_message("user", [{"type": "input_text", "text": value}])]
    if not isinstance(value, list):
        raise HttpError(400, "'input' must be a string or a list of items.", "invalid_type",
                        "input")
    items = []
    for i, raw in enumerate(value):
        if not isinstance(raw, dict):
            raise HttpError(400, f"input[{i}] must be an object.", "invalid_type", f"input[{i}]")
        kind = raw.get("type") or ("message" if "role" in raw else None)
        if kind == "message":
            role = raw.get("role")
            if role == "developer":
                role = "system"
            if role not in ("user", "assistant", "system"):
                raise HttpError(400, f"input[{i}].role must be user, assistant, system or "
                                     "developer.", "invalid_value", f"input[{i}].role")
            items.append(_message(role, _parts(raw.get("content"), role)))
        elif kind == "function_call":
            items.append({"type": "function_call", "call_id": raw.get("call_id"),
                          "name": raw.get("name"), "arguments": raw.get("arguments") or "{}"})
        elif kind == "function_call_output":
            output = raw.get("output")
            if not isinstance(output, str):
                output = json.dumps(output)
            items.append({"type": "function_call_output", "call_id": raw.get("call_id"),
                          "output": output})
    return items


def _message(role: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content}


def _parts(content: Any, role: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        kind = "output_text" if role == "assistant" else "input_text"
        return [{"type": kind, "text": content}]
    parts = []
    for part in content or []:
        if isinstance(part, dict) and part.get("text") is not None:
            parts.append({"type": part.get("type", "input_text"), "text": part["text"]})
        elif isinstance(part, dict) and part.get("type") == "input_image":
            parts.append({"type": "input_image", "image_url": part.get("image_url")})
    return parts


def _as_history(output: dict[str, Any]) -> dict[str, Any]:
    if output["type"] == "message":
        return _message("assistant", [{"type": "output_text",
                                       "text": output["content"][0]["text"]}])
    return {k: output[k] for k in ("type", "call_id", "name", "arguments")}
