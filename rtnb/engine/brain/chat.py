"""A brain backed by any OpenAI-compatible chat-completions endpoint.

Requests go through the official ``openai`` SDK (imported on first use, so importing this
module stays cheap). Realtime items become chat messages: user/assistant text, images as
``image_url`` parts, function calls as assistant ``tool_calls`` and their outputs as
``tool`` messages.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .base import BrainError, BrainReply, BrainRequest, ToolCall, item_text, truncate_words

#: The model name sent when a brain URL names none (servers with one model ignore it).
DEFAULT_CHAT_MODEL = "local-model"


def _kind(item: dict[str, Any]) -> str:
    return item.get("type") or ("message" if item.get("role") else "")


def _user_content(item: dict[str, Any]) -> str | list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    has_image = False
    for part in item.get("content") or []:
        ptype = part.get("type")
        if ptype == "input_image":
            url = part.get("image_url") or part.get("url")
            if isinstance(url, dict):
                url = url.get("url")
            if url:
                image: dict[str, Any] = {"url": url}
                if part.get("detail") in ("low", "high", "auto"):
                    image["detail"] = part["detail"]
                parts.append({"type": "image_url", "image_url": image})
                has_image = True
        else:
            text = part.get("text") if part.get("text") is not None else part.get("transcript")
            if text:
                parts.append({"type": "text", "text": text})
    return parts if has_image else item_text(item)


def to_messages(request: BrainRequest) -> list[dict[str, Any]]:
    """The request's instructions and history as chat-completions messages."""
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    call_ids: set[str] = set()
    for item in request.history:
        if not isinstance(item, dict):
            continue
        kind = _kind(item)
        if kind == "message":
            role = item.get("role")
            if role == "user":
                content = _user_content(item)
                if content:
                    messages.append({"role": "user", "content": content})
            elif role in ("assistant", "system", "developer"):
                text = item_text(item)
                if text:
                    messages.append({"role": "system" if role == "developer" else role,
                                     "content": text})
        elif kind == "function_call":
            call_id = item.get("call_id") or f"call_{len(call_ids)}"
            call_ids.add(call_id)
            call = {"id": call_id, "type": "function",
                    "function": {"name": item.get("name") or "",
                                 "arguments": item.get("arguments") or "{}"}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            output = output if isinstance(output, str) else json.dumps(output)
            if item.get("call_id") in call_ids:
                messages.append({"role": "tool", "tool_call_id": item["call_id"],
                                 "content": output})
            else:
                messages.append({"role": "user", "content": f"Tool output: {output}"})
    return messages


def to_tools(request: BrainRequest) -> list[dict[str, Any]]:
    """Realtime function tools in the chat-completions ``tools`` shape."""
    return [{"type": "function", "function": {
        "name": t["name"], "description": t.get("description") or "",
        "parameters": t.get("parameters") or {"type": "object", "properties": {}}}}
        for t in request.tools if isinstance(t, dict) and t.get("name")
        and t.get("type", "function") == "function"]


def to_tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, dict):
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        return {"type": "function", "function": {"name": name}} if name else "auto"
    return choice if choice in ("auto", "none", "required") else "auto"


def parse_completion(completion: Any, max_chars: int | None = None) -> BrainReply:
    """A chat completion (SDK object) as a :class:`BrainReply`."""
    choices = getattr(completion, "choices", None) or []
    message = choices[0].message if choices else None
    if message is None:
        return BrainReply()
    text = (message.content or "").strip() if isinstance(message.content, str) else ""
    if text and max_chars is not None:
        text = truncate_words(text, max_chars)
    calls = []
    for tc in getattr(message, "tool_calls", None) or []:
        fn = getattr(tc, "function", None)
        if fn is None or not fn.name:
            continue
        try:
            args = json.loads(fn.arguments or "{}")
        except (TypeError, ValueError):
            args = {}
        calls.append(ToolCall(fn.name, args if isinstance(args, dict) else {}))
    return BrainReply(text or None, calls)


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    cause = exc.__cause__
    if status is None and cause is not None and str(cause):
        detail = f"{detail} ({cause})"
    return f"HTTP {status}: {detail}" if status else detail


class ChatBrain:
    """A brain that asks an OpenAI-compatible chat-completions endpoint."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout: float = 30, *, max_retries: int = 1) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model
        self.timeout = timeout
        self.max_retries = max_retries
        self._api_key = api_key or "not-needed"
        self._clients: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"ChatBrain(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def url(self) -> str:
        """The endpoint this brain posts to."""
        return f"{self.base_url}/chat/completions"

    def _client(self) -> Any:
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI(base_url=self.base_url, api_key=self._api_key,
                                 timeout=self.timeout, max_retries=self.max_retries)
            self._clients = {loop: client}
        return client

    def check(self, timeout: float = 3.0) -> str | None:
        """Ask the endpoint for its models: ``None`` if it answers, else the problem (a line).

        Blocking; run it once before serving. An unreachable host, a refused key, an error
        status, or a model the endpoint does not list are problems; an endpoint without
        ``GET /models`` is not. The default model name (``local-model``) is not checked.
        """
        import openai

        where = f"the brain endpoint {self.base_url}"
        client = openai.OpenAI(base_url=self.base_url, api_key=self._api_key,
                               timeout=timeout, max_retries=0)
        try:
            models = client.models.list()
        except openai.NotFoundError:
            return None
        except openai.AuthenticationError as exc:
            return (f"{where} refused the API key ({_describe(exc)}); "
                    "set RTNB_BRAIN_API_KEY")
        except openai.APIStatusError as exc:
            return f"{where} answered GET /models with {_describe(exc)}"
        except openai.APIError as exc:  # connection refused, DNS, timeout
            return f"{where} is unreachable ({_describe(exc)})"
        finally:
            client.close()
        offered = [m.id for m in getattr(models, "data", None) or []]
        if (offered and self.model != DEFAULT_CHAT_MODEL
                and not {self.model, f"{self.model}:latest"} & set(offered)):
            return (f"{where} does not list the model {self.model!r} "
                    f"(it offers: {', '.join(offered[:8])})")
        return None

    def request_body(self, request: BrainRequest) -> dict[str, Any]:
        """The keyword arguments for ``chat.completions.create``."""
        body: dict[str, Any] = {"model": self.model, "messages": to_messages(request)}
        tools = to_tools(request)
        if tools:
            body["tools"] = tools
            body["tool_choice"] = to_tool_choice(request.tool_choice)
        return body

    async def respond(self, request: BrainRequest) -> BrainReply:
        body = self.request_body(request)
        try:
            completion = await self._client().chat.completions.create(**body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise BrainError(f"chat completions request to {self.url} failed: "
                             f"{_describe(exc)}") from exc
        if not isinstance(getattr(completion, "choices", None), list):
            raise BrainError(f"chat completions request to {self.url} returned no choices")
        return parse_completion(completion, request.max_output_chars)

    async def aclose(self) -> None:
        """Close the HTTP clients this brain opened."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
