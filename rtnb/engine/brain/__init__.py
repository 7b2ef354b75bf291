"""The engine's text step: the rule-based brain, a chat-completions brain, and a factory.

``make_brain`` specs:

* ``None``, ``""``, ``"rules"``, ``"rtnb-local"`` or ``"local"``: :class:`RuleBrain`.
* ``"http(s)://host[:port]/v1"``: :class:`ChatBrain` for that OpenAI-compatible base URL
  with model ``"local-model"``; choose the model with a fragment (``.../v1#llama3.2``) or a
  query parameter (``.../v1?model=llama3.2``). A trailing ``/chat/completions`` is dropped.
  The API key comes from the ``api_key`` argument, else ``$RTNB_BRAIN_API_KEY``; it is
  never part of the spec.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import Brain, BrainError, BrainReply, BrainRequest, ToolCall, item_text
from .chat import DEFAULT_CHAT_MODEL, ChatBrain
from .rules import RuleBrain

__all__ = ["Brain", "BrainRequest", "BrainReply", "ToolCall", "RuleBrain", "ChatBrain",
           "BrainError", "item_text", "make_brain", "check_endpoint", "DEFAULT_CHAT_MODEL"]

def make_brain(spec: str | None = None, *, api_key: str | None = None) -> Brain:
    """A brain from a spec string (see the module docstring)."""
    text = (spec or "").strip()
    if text.lower() in ("", "rules", "rtnb-local", "local"):
        return RuleBrain()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"unknown brain spec {spec!r}: use 'rules' or an OpenAI-compatible "
                         "base URL such as 'http://127.0.0.1:11434/v1#llama3.2'")
    query = parse_qsl(parts.query, keep_blank_values=True)
    model = parts.fragment or next((v for k, v in query if k == "model"), "") or \
        DEFAULT_CHAT_MODEL
    rest = urlencode([(k, v) for k, v in query if k != "model"])
    path = parts.path.rstrip("/")
    path = path[: -len("/chat/completions")] if path.endswith("/chat/completions") else path
    base_url = urlunsplit((parts.scheme, parts.netloc, path, rest, ""))
    key = api_key if api_key is not None else os.environ.get("RTNB_BRAIN_API_KEY")
    return ChatBrain(base_url, model, api_key=key)


def check_endpoint(brain: Brain, timeout: float = 3.0) -> str | None:
    """The problem with ``brain``'s endpoint in one line, or ``None`` (also for local brains)."""
    check = getattr(brain, "check", None)
    return check(timeout) if callable(check) else None
