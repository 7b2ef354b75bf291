"""The suite format: YAML read into pydantic models, checked before anything runs.

Every model forbids unknown keys, so a typo (``handof:``) is an error that names the
key, its call and its turn. :func:`load_suite` also imports the agent (``module:attr``
with the suite's folder on ``sys.path``, or ``scenario:NAME``) and checks the voices,
so an invalid suite fails as a whole with :class:`SuiteError` and nothing runs.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = ["SuiteError", "Suite", "Call", "Turn", "Expect", "ToolExpect", "Caller",
           "load_suite", "parse_suite", "resolve_agent"]


class SuiteError(ValueError):
    """The suite is invalid (bad YAML, an unknown key, a bad value, an agent that can't
    be imported). The message names the file and where in it."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolExpect(_Model):
    """A tool the agent must call during the turn: ``name``, and ``args`` that the call's
    arguments must include (subset match; strings compared case-insensitively)."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class Expect(_Model):
    """What must hold for a turn (or, for a goal-driven caller, for the whole call)."""

    handoff: str | None = None
    tool: ToolExpect | None = None
    reply_contains: list[str] | None = None
    reply_matches: str | None = None
    max_e2e_ms: float | None = Field(default=None, gt=0)
    max_stall_ms: float | None = Field(default=None, ge=0)
    guardrail_tripped: bool | None = None
    judge: str | None = None

    @field_validator("tool", mode="before")
    @classmethod
    def _tool_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("reply_contains", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("reply_matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    def items(self) -> list[tuple[str, Any]]:
        """The expectations that are set, in a fixed order."""
        return [(k, getattr(self, k)) for k in type(self).model_fields
                if getattr(self, k) is not None]


class Turn(_Model):
    """One thing the simulated caller says, how, and what must follow.

    Audio mode: ``voice`` (default: the call's), ``speed``, ``noise_db`` (background noise
    at this signal-to-noise ratio, dB) and ``barge_in_ms`` (start speaking this long after
    the previous reply's first audio, instead of waiting for it to finish). Text mode types
    ``say`` (``barge_in_ms`` interrupts the previous reply; the rest is ignored).
    """

    say: str = Field(min_length=1)
    voice: str | None = None
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    noise_db: float | None = Field(default=None, ge=-10, le=60)
    barge_in_ms: float | None = Field(default=None, ge=0)
    expect: Expect = Field(default_factory=Expect)


class Caller(_Model):
    """A goal-driven caller: a text model plays the user until the goal is met or
    ``max_turns`` lines were said."""

    goal: str = Field(min_length=1)
    max_turns: int = Field(default=6, ge=1, le=50)


class Call(_Model):
    """One conversation: scripted ``turns``, or a goal-driven ``caller`` whose call-level
    ``expect`` is checked over the whole call."""

    name: str = Field(min_length=1)
    voice: str | None = None
    turns: list[Turn] = Field(default_factory=list)
    caller: Caller | None = None
    expect: Expect | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Call:
        if bool(self.turns) == (self.caller is not None):
            raise ValueError("a call has either 'turns' or a 'caller', and one of them")
        if self.turns and self.expect is not None:
            raise ValueError("a call with scripted 'turns' sets 'expect' on each turn")
        return self


class Suite(_Model):
    """A suite of calls to one agent. ``path`` is where it was loaded from."""

    agent: str
    mode: Literal["audio", "text"] = "text"
    voices: list[str] = Field(default_factory=lambda: ["alloy"], min_length=1)
    repeat: int = Field(default=1, ge=1, le=1000)
    turn_timeout_s: float = Field(default=60.0, gt=0)
    calls: list[Call] = Field(min_length=1)
    path: str | None = Field(default=None, exclude=True)

    @field_validator("agent")
    @classmethod
    def _agent_ref(cls, value: str) -> str:
        if ":" not in value:
            raise ValueError("use 'module:attribute' or 'scenario:NAME'")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Suite:
        seen: set[str] = set()
        for call in self.calls:
            if call.name in seen:
                raise ValueError(f"two calls are named {call.name!r}; names must be unique")
            seen.add(call.name)
        return self

    @property
    def folder(self) -> Path:
        return Path(self.path).resolve().parent if self.path else Path.cwd()

    def voice_for(self, call_index: int, turn: Turn | None = None) -> str:
        """The voice of a turn: its own, else its call's, else the suite's, cycled."""
        call = self.calls[call_index]
        return ((turn.voice if turn else None) or call.voice
                or self.voices[call_index % len(self.voices)])

    def agent_factory(self) -> Callable[[], Any]:
        """A function that builds the agent for one call (fresh state where possible)."""
        return resolve_agent(self.agent, self.folder)

    @property
    def name(self) -> str:
        return Path(self.path).stem if self.path else "suite"


def resolve_agent(ref: str, folder: Path) -> Callable[[], Any]:
    """``scenario:NAME`` or ``module:attribute`` → a function returning an ``rtnb.Agent``.

    A scenario and a callable attribute are built afresh for every call; an Agent
    attribute is shared. Raises :class:`SuiteError` if it cannot be imported.
    """
    from ..agents import Agent

    kind, _, name = ref.partition(":")
    if kind == "scenario":
        from .. import scenarios

        try:
            scenarios.get(name)
        except KeyError as exc:
            raise SuiteError(f"agent {ref!r}: {exc.args[0]}") from None
        return lambda: scenarios.get(name).root
    folder_text = str(folder)
    if folder_text not in sys.path:
        sys.path.insert(0, folder_text)
    try:
        module = importlib.import_module(kind)
        target = getattr(module, name)
    except Exception as exc:
        raise SuiteError(f"agent {ref!r} can't be imported: {type(exc).__name__}: {exc}"
                         ) from None

    def build() -> Agent:
        agent = target() if callable(target) and not isinstance(target, Agent) else target
        agent = getattr(agent, "root", agent)  # a Scenario
        if not isinstance(agent, Agent):
            raise SuiteError(f"agent {ref!r} gives a {type(agent).__name__}, not an rtnb.Agent")
        return agent

    try:
        build()
    except SuiteError:
        raise
    except Exception as exc:
        raise SuiteError(f"agent {ref!r} failed to build: {type(exc).__name__}: {exc}"
                         ) from None
    return build


def parse_suite(data: Any, path: str | None = None) -> Suite:
    """Validate parsed YAML (a dict) into a :class:`Suite`; errors name the key, call, turn."""
    where = path or "suite"
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: a suite is a mapping with 'agent' and 'calls'")
    try:
        suite = Suite.model_validate({**data, "path": path} if path else data)
    except ValidationError as exc:
        raise SuiteError(f"{where}: " + "; ".join(_describe(e, data) for e in exc.errors())
                         ) from None
    for call in suite.calls:
        for v in [*suite.voices, call.voice, *(t.voice for t in call.turns)]:
            if v is not None and v not in _voices():
                raise SuiteError(f"{where}: call {call.name!r}: unknown voice {v!r}; "
                                 f"choose one of {', '.join(_voices())}")
    suite.agent_factory()
    return suite


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite file. Raises :class:`SuiteError` (the CLI's exit 2)."""
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{path}: can't read the suite: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: bad YAML: {exc}") from None
    return parse_suite(data, str(file.resolve()))


def _voices() -> list[str]:
    from ..speech_samples import voices

    return voices()


def _describe(error: Any, data: dict) -> str:
    """One pydantic error as "call 'x', turn 2: unknown key 'handof' under expect"."""
    loc = list(error["loc"])
    where = []
    if len(loc) >= 2 and loc[0] == "calls" and isinstance(loc[1], int):
        calls = data.get("calls") or []
        call = calls[loc[1]] if loc[1] < len(calls) else None
        name = call.get("name") if isinstance(call, dict) else None
        where.append(f"call {name!r}" if name else f"call #{loc[1] + 1}")
        loc = loc[2:]
        if len(loc) >= 2 and loc[0] == "turns" and isinstance(loc[1], int):
            where.append(f"turn {loc[1] + 1}")
            loc = loc[2:]
    # pydantic puts a tagged union's branch name in the location; drop non-keys.
    keys = [str(k) for k in loc if not isinstance(k, int)]
    if error["type"] == "extra_forbidden":
        what = f"unknown key {keys[-1]!r}" + (f" under {'.'.join(keys[:-1])}" if keys[:-1]
                                              else "")
    else:
        field = ".".join(keys) or "value"
        what = f"{field}: {error['msg']}"
    return f"{', '.join(where)}: {what}" if where else what
