"""Guardrails: checks on what the assistant says, while it says it, and on tool outputs.

An output guardrail is a function of the transcript so far that returns a
:class:`GuardrailResult` (or a bool). The session runs each one every time the
transcript crosses k×N characters and again at the end of the response.

A tool output guardrail (:func:`tool_output_guardrail`, listed in
``@rtnb.tool(output_guardrails=[...])``) checks a tool's output before it goes back
to the model; one that trips replaces the output with a safe message.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GuardrailResult:
    """One check: did it trip, why, and on which text."""

    guardrail: str
    tripped: bool
    category: str = "NONE"
    rationale: str = ""
    text: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"guardrail": self.guardrail, "tripped": self.tripped, "category": self.category,
                "rationale": self.rationale, "text": self.text, "error": self.error}


@dataclass
class OutputGuardrail:
    """A named check. ``fail_closed`` decides what a *failing* check means.

    Fail-open (the demo's choice, and the default) lets the answer through when
    the check itself errors; fail-closed treats an error as a trip.
    """

    name: str
    func: Callable[..., Any]
    fail_closed: bool = False

    async def check(self, text: str, session: Any = None) -> GuardrailResult:
        try:
            params = inspect.signature(self.func).parameters
            args = (text, session) if len(params) >= 2 else (text,)
            out = self.func(*args)
            if inspect.isawaitable(out):
                out = await out
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            policy = "closed" if self.fail_closed else "open"
            return GuardrailResult(self.name, tripped=self.fail_closed,
                                   category="ERROR" if self.fail_closed else "NONE",
                                   rationale=f"guardrail failed (fail-{policy}): {message}",
                                   text=text, error=message)
        if isinstance(out, GuardrailResult):
            return out
        if isinstance(out, dict):
            return GuardrailResult(self.name, bool(out.get("tripped")),
                                   out.get("category", "NONE"), out.get("rationale", ""), text)
        return GuardrailResult(self.name, bool(out), "FLAGGED" if out else "NONE", "", text)

    def __repr__(self) -> str:
        return f"<guardrail {self.name} fail_{'closed' if self.fail_closed else 'open'}>"


def output_guardrail(func: Callable[..., Any] | None = None, *, name: str | None = None,
                     fail_closed: bool = False) -> Any:
    """Decorator: ``f(text) -> GuardrailResult | bool | dict`` (sync or async)."""

    def build(fn: Callable[..., Any]) -> OutputGuardrail:
        return OutputGuardrail(name or fn.__name__, fn, fail_closed)

    return build(func) if func is not None else build


@dataclass
class ToolOutputGuardrail(OutputGuardrail):
    """A check on a tool's output, ``f(output)`` or ``f(output, ctx: ToolContext)``.

    When it trips (or fails, if ``fail_closed``), the model gets ``message`` in place of
    the output; the default names the tool and the guardrail, never the withheld text.
    """

    message: str | None = None

    def __repr__(self) -> str:
        return f"<tool output guardrail {self.name} fail_{'closed' if self.fail_closed else 'open'}>"


def tool_output_guardrail(func: Callable[..., Any] | None = None, *, name: str | None = None,
                          fail_closed: bool = False, message: str | None = None) -> Any:
    """Decorator: ``f(output) -> GuardrailResult | bool | dict`` (sync or async), for
    ``@rtnb.tool(output_guardrails=[...])``."""

    def build(fn: Callable[..., Any]) -> ToolOutputGuardrail:
        return ToolOutputGuardrail(name or fn.__name__, fn, fail_closed, message)

    return build(func) if func is not None else build


def moderation_guardrail(*, fail_closed: bool = False,
                         model: str | None = None) -> OutputGuardrail:
    """Trip when ``client.moderations.create`` flags the text (local engine or OpenAI)."""

    async def moderate(text: str, session: Any) -> GuardrailResult:
        kwargs = {"model": model} if model else {}
        result = (await session.http.moderations.create(input=text, **kwargs)).results[0]
        flagged = [k for k, v in result.categories.model_dump(by_alias=True).items() if v]
        if not result.flagged:
            return GuardrailResult("moderation", False, "NONE", "not flagged", text)
        scores = result.category_scores.model_dump(by_alias=True)
        top = max(flagged, key=lambda k: scores.get(k) or 0)
        return GuardrailResult("moderation", True, top.upper().replace("/", "_"),
                               f"flagged as {', '.join(flagged)}", text)

    return OutputGuardrail("moderation", moderate, fail_closed)
