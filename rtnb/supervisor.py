"""The chat-supervisor pattern: a fast realtime agent asks a text model what to say.

:func:`supervisor_tool` builds the realtime agent's single tool. When called, it
sends the conversation (messages only) plus the relevant context to a text
model through ``client.responses.create``, runs the supervisor's own tools until
the model answers in words, and returns ``{"nextResponse": ...}`` for the
realtime agent to read out. Against the local engine the text model is the
engine's ``/v1/responses``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from . import events as ev
from .agents import FunctionTool, ToolContext, tool

DESCRIPTION = ("Ask the supervisor what to say next. Use for anything beyond greetings and "
               "small talk: questions about accounts, policies, billing, stores or anything "
               "that needs facts or tools.")
FALLBACK = "Sorry, I couldn't find an answer to that just now."


def supervisor_tool(instructions: str, tools: Sequence[FunctionTool] = (), *,
                    model: str | None = None, name: str = "getNextResponseFromSupervisor",
                    description: str = DESCRIPTION, max_rounds: int = 5,
                    timeout: float = 30.0) -> FunctionTool:
    """A function tool that consults a supervisor text model with its own tools.

    ``model`` defaults to the session's text model (``rtnb-local`` on the local
    engine; on OpenAI, :mod:`rtnb.models`' ``text`` model, ``RTNB_TEXT_MODEL`` overriding).
    """
    by_name = {t.name: t for t in tools}

    async def ask(relevantContextFromLastUserMessage: str, ctx: ToolContext) -> str:  # noqa: N803
        """Ask the supervisor.

        Args:
            relevantContextFromLastUserMessage: The key facts from the user's last message.
        """
        session = ctx.session
        conversation: list[dict[str, Any]] = [
            {"role": m["role"], "content": m["content"]} for m in ctx.history()
            if m["role"] in ("user", "assistant") and m["content"]]
        conversation.append({"role": "user", "content": relevantContextFromLastUserMessage})
        session.log_local(ev.SupervisorRequest(call_id=ctx.call_id,
                                               context=relevantContextFromLastUserMessage))
        text, rounds = FALLBACK, 0
        for rounds in range(1, max_rounds + 1):  # noqa: B007
            response = await session.http.responses.create(
                model=model or session.text_model, instructions=instructions,
                tools=[t.to_wire() for t in tools], input=conversation)
            calls = [o for o in response.output if o.type == "function_call"]
            if not calls:
                text = response.output_text or FALLBACK
                break
            for call in calls:
                fn = by_name.get(call.name)
                output = await fn.run(call.arguments, ctx) if fn else json.dumps(
                    {"error": f"unknown supervisor tool {call.name}"})
                session.log_local(ev.SupervisorTool(call_id=ctx.call_id, name=call.name,
                                                    arguments=call.arguments, output=output))
                conversation.append({"type": "function_call", "call_id": call.call_id,
                                     "name": call.name, "arguments": call.arguments})
                conversation.append({"type": "function_call_output", "call_id": call.call_id,
                                     "output": output})
        session.log_local(ev.SupervisorResponse(call_id=ctx.call_id, text=text, rounds=rounds))
        return json.dumps({"nextResponse": text})

    return tool(ask, name=name, description=description, timeout=timeout)
