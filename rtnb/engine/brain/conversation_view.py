"""The rule brain's per-request view of the conversation (:class:`ConversationView`)."""

from __future__ import annotations

import json

from .base import BrainRequest, item_text
from .extract import fill_arguments
from .instructions import ask_clause, quoted_greeting
from .talk import DEFAULT_GREETING


def _kind(item: dict) -> str:
    return item.get("type") or ("message" if item.get("role") else "")


def _args(item: dict) -> dict:
    raw = item.get("arguments")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(item: dict) -> str:
    try:
        return item_text(item)
    except (AttributeError, TypeError):
        return ""


def call_key(name: str, args: dict) -> str:
    """One call's name and arguments as a comparable string."""
    return name + json.dumps(args, sort_keys=True, default=str)


class ConversationView:
    """The rule brain's view of one request, read once: who said what, which calls were made,
    what was answered."""

    def __init__(self, request: BrainRequest) -> None:
        self.items = [i for i in request.history if isinstance(i, dict)]
        self.instructions = request.instructions or ""
        self.tools = [t for t in request.tools or [] if isinstance(t, dict) and t.get("name")
                      and t.get("type", "function") == "function"]
        self.users = [(i, _text(it)) for i, it in enumerate(self.items)
                      if _kind(it) == "message" and it.get("role") == "user" and _text(it)]
        self.users.reverse()  # newest first
        self.user_texts = [t for _, t in self.users]
        self.last = self.user_texts[0] if self.users else None
        self.calls = [(i, it.get("name") or "", _args(it)) for i, it in enumerate(self.items)
                      if _kind(it) == "function_call"]
        self.prior_args = [a for _, _, a in reversed(self.calls)]
        self.first_turn = not any(_kind(it) == "message" and it.get("role") == "assistant"
                                  and _text(it) for it in self.items)

    def outputs(self) -> list[tuple[str, str]]:
        """Trailing function_call_outputs (with their call's name), oldest first."""
        names = {it.get("call_id"): it.get("name") or "" for it in self.items
                 if _kind(it) == "function_call"}
        found = []
        for it in reversed(self.items):
            kind = _kind(it)
            if kind == "function_call_output":
                out = it.get("output")
                found.append((names.get(it.get("call_id"), ""),
                              out if isinstance(out, str) else json.dumps(out)))
            elif kind != "function_call":
                break
        return found[::-1]

    def assistant_question_before(self, pos: int) -> str:
        for it in reversed(self.items[:pos]):
            if _kind(it) == "message" and it.get("role") == "assistant":
                text = _text(it)
                return text if text.rstrip().endswith("?") else ""
            if _kind(it) == "message" and it.get("role") == "user":
                return ""
        return ""

    def last_assistant(self) -> str:
        """What the assistant said last (before the user's latest message)."""
        end = self.users[0][0] if self.users else len(self.items)
        return next((_text(it) for it in reversed(self.items[:end]) if _kind(it) == "message"
                     and it.get("role") == "assistant" and _text(it)), "")

    def tool(self, name: str) -> dict | None:
        return next((t for t in self.tools if t["name"] == name), None)

    def fill(self, tool: dict, texts: list[str] | None = None
             ) -> tuple[dict, tuple[str, dict] | None]:
        params = tool.get("parameters") if isinstance(tool.get("parameters"), dict) else {}
        return fill_arguments(params, texts if texts is not None else self.user_texts,
                              self.prior_args)

    def greeting(self) -> str:
        ask = ask_clause(self.instructions)
        return quoted_greeting(self.instructions) or (f"Hello! {ask}" if ask else DEFAULT_GREETING)
