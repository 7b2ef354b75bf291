"""Checks: what a turn's expectations say, compared with what the session logged.

Deterministic by default: each check reads the turn's stretch of the event log (its
transcript: handoffs, tool calls and arguments, reply text, guardrail results) and the
analysis layer's per-turn metrics (:mod:`rtnb.analysis`, the same figures as
``session.metrics()``). Only ``judge`` asks a text model, and is *skipped with its
reason* when none is configured.

A check is a dict: ``{"turn", "check", "expected", "actual", "passed"}`` (``turn`` counts
from 1; 0 is the whole call), plus ``"skipped"`` (the reason) when ``passed`` is None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..analysis import Turn
from ..session.transcript import Message, Transcript

if TYPE_CHECKING:
    from ..session.eventlog import LoggedEvent
    from .judge import Judge
    from .suite import Expect

__all__ = ["Evidence", "check_turn", "args_match", "check"]


def check(turn: int, name: str, expected: Any, actual: Any, passed: bool | None,
          skipped: str | None = None) -> dict[str, Any]:
    out = {"turn": turn, "check": name, "expected": expected, "actual": actual,
           "passed": passed}
    if skipped is not None:
        out["skipped"] = skipped
    return out


@dataclass
class Evidence:
    """What happened during one turn: its log entries, and the analysis layer's figures
    for the user turns that began in it (usually one; a spoken line split by a pause, or
    a barge-in, can make more)."""

    turn: int
    entries: Sequence[LoggedEvent]
    metrics: list[Turn] = field(default_factory=list)
    #: The conversation up to the end of the turn, for a judge.
    history: str = ""

    def __post_init__(self) -> None:
        self.transcript = Transcript.from_log(self.entries)

    @property
    def reply(self) -> str:
        """Everything the agents said during the turn, in order."""
        return " ".join(e.text for e in self.transcript.entries
                        if isinstance(e, Message) and e.role == "assistant" and e.text).strip()

    @property
    def handoffs(self) -> list[str]:
        return [e.event.get("to", "") for e in self.entries
                if e.direction == "local" and e.type == ev.Handoff.TYPE]

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [{"name": c.name, "args": c.args} for c in self.transcript.tool_calls
                if not ev.is_handoff(c.name)]

    @property
    def guardrail_trips(self) -> list[dict[str, Any]]:
        return [e.event.get("result") or {} for e in self.entries
                if e.type == ev.GuardrailChecked.TYPE
                and (e.event.get("result") or {}).get("tripped")]

    @property
    def e2e(self) -> float | None:
        """The e2e of the last user turn in the stretch that was answered with audio."""
        found = [t.e2e for t in self.metrics if t.e2e is not None]
        return found[-1] if found else None

    @property
    def stall(self) -> float | None:
        """How long the replies' playback ran dry in all (ms; None: no audio reply)."""
        spoken = [t for t in self.metrics if t.e2e is not None]
        return round(sum(t.stall or 0.0 for t in spoken), 3) if spoken else None


def args_match(expected: Any, actual: Any) -> bool:
    """Subset match: every expected key is present with a matching value; strings compare
    case-insensitively (and trimmed), dicts recursively, lists item by item."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and args_match(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(args_match(e, a) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, str):
        return isinstance(actual, str) and expected.strip().casefold() == actual.strip().casefold()
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    return expected == actual


async def check_turn(expect: Expect, evidence: Evidence, judge: Judge | None
                     ) -> list[dict[str, Any]]:
    """Every expectation of ``expect`` checked against ``evidence``, in a fixed order."""
    out = []
    n = evidence.turn
    for name, want in expect.items():
        if name == "handoff":
            got = evidence.handoffs
            out.append(check(n, name, want, got or None,
                             want.casefold() in [g.casefold() for g in got]))
        elif name == "tool":
            calls = evidence.tool_calls
            ok = any(c["name"].casefold() == want.name.casefold()
                     and args_match(want.args, c["args"]) for c in calls)
            out.append(check(n, name, want.model_dump(), calls or None, ok))
        elif name == "reply_contains":
            reply = evidence.reply
            missing = [w for w in want if w.casefold() not in reply.casefold()]
            out.append(check(n, name, want, reply, not missing))
        elif name == "reply_matches":
            reply = evidence.reply
            out.append(check(n, name, want, reply, re.search(want, reply) is not None))
        elif name == "max_e2e_ms":
            e2e = evidence.e2e
            out.append(check(n, name, want, e2e, e2e is not None and e2e <= want))
        elif name == "max_stall_ms":
            stall = evidence.stall
            out.append(check(n, name, want, stall, stall is not None and stall <= want))
        elif name == "guardrail_tripped":
            trips = evidence.guardrail_trips
            out.append(check(n, name, want, bool(trips), bool(trips) == want))
        elif name == "judge":
            out.append(await _judge(n, want, evidence, judge))
    return out


async def _judge(n: int, criterion: str, evidence: Evidence, judge: Judge | None
                 ) -> dict[str, Any]:
    if judge is None or not judge.available:
        reason = judge.reason if judge is not None else "no judge"
        return check(n, "judge", criterion, None, None, skipped=reason)
    try:
        verdict = await judge.verdict(criterion, evidence.history)
    except Exception as exc:  # a judge that fails is a failed check, with why
        return check(n, "judge", criterion, f"the judge failed: {type(exc).__name__}: {exc}",
                     False)
    return check(n, "judge", criterion, verdict.reason, verdict.passed)
