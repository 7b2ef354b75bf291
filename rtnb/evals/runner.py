"""Run one call of a suite (one repetition) and return its result as plain data.

This module is what a worker imports, in any process: :func:`warm_backend` starts the
process's engine once (``"local"``) and :func:`run_call` runs a :class:`CallSpec` against
it, returning the call's entry exactly as in ``rtnb eval --json``'s ``"calls"`` list::

    {"name", "repeat", "passed", "checks": [...], "metrics": {...}, "recording",
     "call_index", "mode", "seconds", "error"}

``passed`` is False when a check failed, None when nothing was verified (every check
skipped), else True. ``metrics`` holds the analysis layer's per-turn figures
(``turns``: one row per user turn, with ``suite_turn``, the suite turn it fell in) and
their ``summary``. The suite is loaded from ``suite_path`` once per process.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path
from typing import Any

from .spec import CallSpec

__all__ = ["warm_backend", "run_call", "run_call_async", "CallSpec"]

_suites: dict[tuple[str, float], Any] = {}
_suites_lock = threading.Lock()


def warm_backend(backend: str) -> str:
    """The URL to connect to for ``backend``: for ``"local"``, the process's embedded
    engine (started on first use, shared by every call in the process after); ``"openai"``
    and ``ws://`` URLs pass through."""
    if backend == "local":
        from ..engine.background import shared_engine

        return shared_engine().url
    return backend


def suite_at(path: str) -> Any:
    """The suite at ``path``, loaded once per process (again if the file changed)."""
    from .suite import load_suite

    key = (path, Path(path).stat().st_mtime)
    with _suites_lock:
        if key not in _suites:
            _suites[key] = load_suite(path)
        return _suites[key]


def run_call(spec: CallSpec) -> dict[str, Any]:
    """Run one call of a suite against ``warm_backend(spec.backend)``; see the module doc.

    Blocking; runs its own event loop (call it from a worker thread or process).
    """
    return asyncio.run(run_call_async(spec))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "call"


async def run_call_async(spec: CallSpec, *, transport: Any = None) -> dict[str, Any]:
    """:func:`run_call` as a coroutine. ``transport`` replaces the backend (a
    :class:`~rtnb.session.scripted.ScriptedTransport` in tests)."""
    from ..session import Session
    from .judge import Judge

    suite = suite_at(spec.suite_path)
    call = suite.calls[spec.call_index]
    mode = spec.mode or suite.mode
    started = time.monotonic()
    judge = Judge(spec.judge)
    if transport is not None:
        session = Session(suite.agent_factory()(), transport=transport)
    else:
        url = await asyncio.to_thread(warm_backend, spec.backend)
        session = Session(suite.agent_factory()(), backend=url)
    checks: list[dict[str, Any]] = []
    bounds: list[int] = []
    error = None
    try:
        async with session:
            if call.caller is not None:
                error = await _goal_driven(session, suite, spec, mode, judge, checks, bounds)
            else:
                error = await _scripted(session, suite, spec, mode, bounds)
            if error is not None:
                checks.append(_error_check(len(bounds), error))
    except Exception as exc:  # connection refused, engine gone: a failed call, said why
        error = f"{type(exc).__name__}: {exc}"
        checks.append(_error_check(len(bounds), error))
    entries = session.log.entries
    checks = await _checks(call, entries, bounds, judge, checks) + checks
    await judge.aclose()
    recording = None
    if spec.record_dir:
        recording = str(session.save(Path(spec.record_dir) /
                                     f"{spec.call_index:03d}-{slug(call.name)}-r{spec.repeat}"))
    return {"name": call.name, "repeat": spec.repeat, "passed": _verdict(checks),
            "checks": checks, "metrics": _metrics(entries, bounds), "recording": recording,
            "call_index": spec.call_index, "mode": mode,
            "seconds": round(time.monotonic() - started, 3), "error": error}


async def _scripted(session: Any, suite: Any, spec: CallSpec, mode: str,
                    bounds: list[int]) -> str | None:
    """Say each scripted line; wait for the answer (and, spoken, for it to play out)
    unless the next line barges in. Returns an error message if a turn failed."""
    from .caller import first_audio_after, say_turn, utterance

    call = suite.calls[spec.call_index]
    timeout = suite.turn_timeout_s
    # Synthesised up front, so a barge-in starts on time.
    pcms = (await asyncio.to_thread(lambda: [
        utterance(t, suite.voice_for(spec.call_index, t), f"{call.name}|{spec.repeat}|{i}")
        for i, t in enumerate(call.turns)]) if mode == "audio" else [None] * len(call.turns))
    for i, turn in enumerate(call.turns):
        bounds.append(len(session.log))
        nxt = call.turns[i + 1] if i + 1 < len(call.turns) else None
        try:
            await say_turn(session, mode, turn, pcms[i])
            if nxt is not None and nxt.barge_in_ms is not None:
                await first_audio_after(session, bounds[-1], timeout)
                await asyncio.sleep(nxt.barge_in_ms / 1000)
                if mode == "text":
                    await session.interrupt()
            else:
                await session.wait(timeout)
                if mode == "audio":
                    await session.wait_played(timeout)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


async def _goal_driven(session: Any, suite: Any, spec: CallSpec, mode: str, judge: Any,
                       checks: list[dict[str, Any]], bounds: list[int]) -> str | None:
    """A text model plays the caller until it says DONE or ``max_turns`` lines were said."""
    from .caller import say_turn, utterance
    from .checks import check
    from .suite import Turn

    call = suite.calls[spec.call_index]
    if not judge.available:
        checks.append(check(0, "caller", call.caller.goal, None, None, skipped=judge.reason))
        return None
    for i in range(call.caller.max_turns):
        try:
            line = await judge.next_line(call.caller.goal, history(session.log.entries))
        except Exception as exc:
            return f"the caller's model failed: {type(exc).__name__}: {exc}"
        if line is None:
            break
        bounds.append(len(session.log))
        try:
            turn = Turn(say=line)
            pcm = (await asyncio.to_thread(utterance, turn, suite.voice_for(spec.call_index),
                                           f"{call.name}|{spec.repeat}|{i}")
                   if mode == "audio" else None)
            await say_turn(session, mode, turn, pcm)
            await session.wait(suite.turn_timeout_s)
            if mode == "audio":
                await session.wait_played(suite.turn_timeout_s)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


async def _checks(call: Any, entries: list, bounds: list[int], judge: Any,
                  already: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from .checks import Evidence, check, check_turn

    out: list[dict[str, Any]] = []
    metrics = _turns_by_suite_turn(entries, bounds)
    if call.caller is not None:
        expect = call.expect.items() if call.expect is not None else []
        if bounds:
            evidence = Evidence(0, entries[bounds[0]:],
                                [t for ts in metrics.values() for t in ts], history(entries))
            out += await check_turn(call.expect, evidence, judge) if expect else []
        elif not judge.available:  # the caller never ran: neither did its checks
            out += [check(0, name, _plain(want), None, None, skipped=judge.reason)
                    for name, want in expect]
        else:
            out += [check(0, name, _plain(want), "the caller said nothing", False)
                    for name, want in expect]
        return out
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else len(entries)
        evidence = Evidence(i + 1, entries[start:end], metrics.get(i + 1, []),
                            history(entries[:end]))
        out += await check_turn(call.turns[i].expect, evidence, judge)
    # Expectations of turns never reached fail: a call that stopped early did not pass.
    for i in range(len(bounds), len(call.turns)):
        for name, want in call.turns[i].expect.items():
            out.append({"turn": i + 1, "check": name, "expected": _plain(want),
                        "actual": "not reached", "passed": False})
    return out


def _plain(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def _error_check(turn: int, message: str) -> dict[str, Any]:
    return {"turn": turn, "check": "completed", "expected": "the turn completes",
            "actual": message, "passed": False}


def _verdict(checks: list[dict[str, Any]]) -> bool | None:
    if any(c["passed"] is False for c in checks):
        return False
    return True if any(c["passed"] for c in checks) else None


def _turns_by_suite_turn(entries: list, bounds: list[int]) -> dict[int, list]:
    """The analysis layer's turns, grouped by the suite turn (from 1) they began in."""
    import bisect

    from ..analysis import timelines, turn_metrics

    out: dict[int, list] = {}
    for tl in timelines(entries):
        k = bisect.bisect_right(bounds, tl.start)
        if k:
            out.setdefault(k, []).append(turn_metrics(tl))
    return out


def _metrics(entries: list, bounds: list[int]) -> dict[str, Any]:
    from ..analysis import MetricsTable

    grouped = _turns_by_suite_turn(entries, bounds)
    rows, turns = [], []
    for suite_turn, found in sorted(grouped.items()):
        for t in found:
            turns.append(t)
            row = t.as_dict()
            row["tools"] = [list(x) for x in row["tools"]]
            rows.append({"suite_turn": suite_turn, **row})
    return {"turns": rows, "summary": MetricsTable(turns).summary()}


def history(entries: list) -> str:
    """The conversation as plain lines (``caller: …``, ``agent NAME: …``, tool calls)."""
    from ..session.transcript import Message, ToolCallEntry, Transcript

    lines = []
    for e in Transcript.from_log(entries).entries:
        if isinstance(e, Message) and e.text:
            who = "caller" if e.role == "user" else f"agent {e.agent}"
            lines.append(f"{who}: {e.text}")
        elif isinstance(e, ToolCallEntry):
            lines.append(f"(agent {e.agent} called {e.name}({e.arguments}) → {e.output})")
    return "\n".join(lines)
