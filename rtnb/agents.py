"""Declarative agents and function tools.

An :class:`Agent` is data: name, instructions, tools (its own, and those of the
MCP servers it lists, once a session has connected them), handoffs, output
guardrails and voice. :func:`tool` turns a plain (sync or async) function into a
:class:`FunctionTool` whose JSON schema pydantic builds from the type hints and
the docstring. A tool may need the user's approval before it runs
(``needs_approval``) and may have guardrails on its output. Handoff tools follow
openai-agents' ``transfer_to_<name>`` convention, so the two interoperate.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from .events import handoff_tool_name

#: Tools get this long to finish unless they say otherwise.
DEFAULT_TOOL_TIMEOUT_S = 10.0


@dataclass
class ToolContext:
    """What a tool may ask for by declaring a ``ctx: ToolContext`` parameter."""

    session: Any
    call_id: str
    agent: Agent

    def history(self) -> list[dict[str, str]]:
        """The conversation so far as ``{"role", "content"}`` messages (oldest first)."""
        return self.session.transcript.messages()


@dataclass
class FunctionTool:
    """A function the model can call. ``run`` never raises: errors become the output."""

    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., Any]
    timeout: float = DEFAULT_TOOL_TIMEOUT_S
    args_model: Any = None
    context_param: str | None = None
    #: True: every call waits for ``session.approve``/``reject``; a callable
    #: ``f(arguments) -> bool`` or ``f(arguments, ctx)`` (sync or async) decides per call.
    needs_approval: bool | Callable[..., Any] = False
    #: Checks on the output before it goes back to the model (:func:`rtnb.tool_output_guardrail`).
    output_guardrails: list[Any] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return {"type": "function", "name": self.name, "description": self.description,
                "parameters": self.parameters}

    async def run(self, arguments: str | dict[str, Any], ctx: ToolContext | None = None) -> str:
        """Call the function; returns its output as a string (JSON for non-strings)."""
        try:
            raw = json.loads(arguments or "{}") if isinstance(arguments, str) else arguments
            kwargs = dict(self.args_model.model_validate(raw)) if self.args_model else dict(raw)
        except Exception as exc:
            return _error(f"invalid arguments for {self.name}: {_short(exc)}")
        if self.context_param:
            kwargs[self.context_param] = ctx
        try:
            if inspect.iscoroutinefunction(self.func):
                result = await asyncio.wait_for(self.func(**kwargs), self.timeout)
            else:
                result = await asyncio.wait_for(asyncio.to_thread(self.func, **kwargs),
                                                self.timeout)
        except asyncio.TimeoutError:
            return _error(f"{self.name} timed out after {self.timeout:g}s")
        except Exception as exc:
            return _error(f"{self.name} failed: {type(exc).__name__}: {exc}")
        return result if isinstance(result, str) else json.dumps(result, default=str)

    async def approval_needed(self, arguments: str, ctx: ToolContext | None = None) -> bool:
        """Whether this call waits for the user. A policy that fails, or arguments it
        cannot read, mean yes (as in openai-agents)."""
        if not callable(self.needs_approval):
            return bool(self.needs_approval)
        try:
            parsed = json.loads(arguments or "{}")
            if not isinstance(parsed, dict):
                return True
            policy = self.needs_approval
            two = len(inspect.signature(policy).parameters) >= 2
            out = policy(parsed, ctx) if two else policy(parsed)
            if inspect.isawaitable(out):
                out = await out
            return bool(out)
        except asyncio.CancelledError:
            raise
        except Exception:
            return True

    async def check_output(self, output: str, ctx: ToolContext | None = None) -> tuple[Any, ...]:
        """Run the output guardrails on ``output`` (each one's GuardrailResult)."""
        return tuple(await asyncio.gather(*(g.check(output, ctx)
                                            for g in self.output_guardrails)))

    def __repr__(self) -> str:
        return f"<tool {self.name}: {self.description[:60]}>"


def _error(message: str) -> str:
    return json.dumps({"error": message})


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]


def tool(func: Callable[..., Any] | None = None, *, name: str | None = None,
         description: str | None = None,
         timeout: float = DEFAULT_TOOL_TIMEOUT_S,
         needs_approval: bool | Callable[..., Any] = False,
         output_guardrails: list[Any] | None = None) -> Any:
    """Decorator: make a function tool from type hints and the docstring.

    The docstring's first paragraph is the description; an ``Args:`` section
    gives each parameter's description. A parameter annotated ``ToolContext``
    receives the call's context and is left out of the schema.

    ``needs_approval``: True pauses every call until ``session.approve(call_id)``
    (it runs) or ``session.reject(call_id, reason)`` (the model is told it was not
    approved); a callable ``f(arguments: dict) -> bool`` (or ``f(arguments, ctx)``,
    sync or async) decides per call. ``output_guardrails``: checks made with
    :func:`rtnb.tool_output_guardrail`; one that trips replaces the output with a
    safe message before it reaches the model.
    """
    if not (isinstance(needs_approval, bool) or callable(needs_approval)):
        raise TypeError("needs_approval must be a bool or a callable")

    def build(fn: Callable[..., Any]) -> FunctionTool:
        import pydantic

        summary, arg_docs = _parse_docstring(inspect.getdoc(fn) or "")
        hints = _type_hints(fn)
        fields: dict[str, Any] = {}
        context_param = None
        for pname, param in inspect.signature(fn).parameters.items():
            hint = hints.get(pname, Any)
            if hint is ToolContext or hint == "ToolContext":
                context_param = pname
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"tool {fn.__name__}: *args/**kwargs are not supported")
            default = ... if param.default is param.empty else param.default
            if pname in arg_docs:  # merged with any Field(...) already in Annotated[...]
                hint = Annotated[hint, pydantic.Field(description=arg_docs[pname])]
            fields[pname] = (hint, default)
        model = pydantic.create_model(f"{fn.__name__}_arguments", **fields)
        schema = model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        schema.setdefault("required", [])
        return FunctionTool(name=name or fn.__name__, description=description or summary,
                            parameters=schema, func=fn, timeout=timeout, args_model=model,
                            context_param=context_param, needs_approval=needs_approval,
                            output_guardrails=list(output_guardrails or ()))

    return build(func) if func is not None else build


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(fn, globalns={**fn.__globals__, "ToolContext": ToolContext},
                                    include_extras=True)
    except Exception:
        return {k: v for k, v in getattr(fn, "__annotations__", {}).items()}


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    args: dict[str, str] = {}
    section = re.search(r"^(?:Args|Arguments|Parameters):\s*\n(.*?)(?:\n\s*\n|\Z)", doc,
                        re.MULTILINE | re.DOTALL)
    if section:
        current = None
        for line in section.group(1).splitlines():
            m = re.match(r"\s*(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line)
            if m:
                current = m.group(1)
                args[current] = m.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
    return summary, args


@dataclass(eq=False)  # handoff graphs may be cyclic: compare by identity
class Agent:
    """A realtime agent, declared as data."""

    name: str
    instructions: str = ""
    tools: list[FunctionTool] = field(default_factory=list)
    handoffs: list[Agent] = field(default_factory=list)
    handoff_description: str = ""
    output_guardrails: list[Any] = field(default_factory=list)
    voice: str | None = None
    #: :class:`rtnb.MCPServer` instances; their tools join ``tools`` once connected.
    mcp_servers: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        for t in self.tools:
            if not isinstance(t, FunctionTool):
                raise TypeError(f"agent {self.name}: tools must be made with @rtnb.tool, got "
                                f"{t!r}")
        names = [t.name for t in self.tools] + [handoff_tool_name(a.name) for a in self.handoffs]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"agent {self.name}: duplicate tool names {sorted(dupes)}")

    def handoff_tools(self) -> list[dict[str, Any]]:
        return [{
            "type": "function", "name": handoff_tool_name(a.name),
            "description": f"Handoff to the {a.name} agent to handle the request. "
                           f"{a.handoff_description}".strip(),
            "parameters": {"type": "object", "properties": {}, "required": [],
                           "additionalProperties": False},
        } for a in self.handoffs]

    def all_tools(self) -> list[FunctionTool]:
        """Its own tools, then those of its connected MCP servers."""
        return [*self.tools, *(t for server in self.mcp_servers for t in server.tools)]

    def wire_tools(self) -> list[dict[str, Any]]:
        return [t.to_wire() for t in self.all_tools()] + self.handoff_tools()

    def find_tool(self, name: str) -> FunctionTool | None:
        return next((t for t in self.all_tools() if t.name == name), None)

    def find_handoff(self, tool_name: str) -> Agent | None:
        return next((a for a in self.handoffs if handoff_tool_name(a.name) == tool_name), None)

    def reachable(self) -> list[Agent]:
        """This agent and every agent reachable by handoffs, each once."""
        seen: dict[int, Agent] = {}
        stack = [self]
        while stack:
            agent = stack.pop()
            if id(agent) not in seen:
                seen[id(agent)] = agent
                stack.extend(agent.handoffs)
        return list(seen.values())

    def __repr__(self) -> str:
        parts = [f"tools={[t.name for t in self.tools]}"] if self.tools else []
        if self.handoffs:
            parts.append(f"handoffs={[a.name for a in self.handoffs]}")
        if self.mcp_servers:
            parts.append(f"mcp_servers={[s.name for s in self.mcp_servers]}")
        if self.output_guardrails:
            parts.append(f"guardrails={[g.name for g in self.output_guardrails]}")
        return f"Agent({self.name!r}{', ' if parts else ''}{', '.join(parts)})"
