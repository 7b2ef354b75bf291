"""The default brain: deterministic rules over the conversation, no language model.

It picks a function tool by TF-IDF similarity (word stems, a few synonym concepts and
character 3–5-grams) between the user's last words and each tool's name, description and
parameters (:mod:`.routing`); fills the arguments from what the user said (:mod:`.extract`);
asks for a missing required argument; reads tool results back (:mod:`.tool_results`); and
otherwise speaks short canned replies (:mod:`.talk`): greetings, an honest note about what it
is, a templated haiku. It reads greetings and filler phrases from the instructions
(:mod:`.instructions`) and sees each request through a :class:`.ConversationView`.
"""

from __future__ import annotations

import re

import numpy as np

from ...events import is_correction, is_handoff
from ...models import LOCAL
from .base import BrainReply, BrainRequest, ToolCall, item_text, truncate_words
from .conversation_view import ConversationView, call_key
from .extract import ask_for, clean_utterance, param_kind, values_for, words_of
from .images import describe_images
from .instructions import ask_clause, filler_phrases, quoted_greeting
from .routing import THRESHOLD, ToolIndex, catch_all_tool, features, tool_index
from .talk import (
    APOLOGY,
    FALLBACK,
    IDENTITY_REPLY,
    REPEAT_REQUEST,
    answer_like,
    haiku,
    haiku_topic,
    is_identity,
    is_no,
    is_yes,
    pick,
    small_talk,
    tool_hint,
)
from .tool_results import speak_output, truncate_sentences


class RuleBrain:
    """Deterministic rule-based brain: tool routing by lexical similarity, no LLM."""

    name = LOCAL
    #: The same request always gets the same reply, at no cost: the engine may ask ahead,
    #: in the silence window, to prepare the reply's first audio.
    predictable = True

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold

    async def respond(self, request: BrainRequest) -> BrainReply:
        return self.decide(request)

    def decide(self, request: BrainRequest) -> BrainReply:
        """The reply for ``request``; the same request always gets the same reply."""
        last = request.history[-1] if request.history else {}
        if last.get("role") == "user" and is_correction(last, item_text(last)):
            return BrainReply(APOLOGY)
        image = describe_images(last) if last.get("role") == "user" else None
        reply = BrainReply(image) if image else self._decide(ConversationView(request),
                                                             request.tool_choice)
        limit = request.max_output_chars
        if reply.text and limit is not None:
            reply = BrainReply(truncate_words(reply.text, max(limit, 0)) or None,
                               reply.tool_calls)
        return reply

    # -- decision ---------------------------------------------------------------------------

    def _decide(self, view: ConversationView, choice: str | dict) -> BrainReply:
        outputs = view.outputs()
        if outputs:
            said = [speak_output(n, o, view.instructions) for n, o in outputs]
            return BrainReply(truncate_sentences(" ".join(said), 600))
        if choice == "none":
            view.tools = []
        forced = None
        if isinstance(choice, dict):
            forced = choice.get("name") or (choice.get("function") or {}).get("name")
        if forced:
            tool = view.tool(forced)
            return self._calling(view, [ToolCall(forced, view.fill(tool)[0] if tool else {})])
        if choice == "required" and view.tools:
            return self._calling(view, [self._best_call(view)])
        if view.last is None:
            return BrainReply(view.greeting() if view.first_turn
                              else "Is there anything I can help with?")
        if REPEAT_REQUEST.search(view.last) and len(words_of(view.last)) <= 8:
            said = view.last_assistant()
            if said:
                return BrainReply(said)
        talk = small_talk(view.last)
        if talk:
            return BrainReply(self._small_talk(view, talk))
        if view.tools:
            catch = catch_all_tool(view.tools, view.instructions)
            plan = self._route(view)
            if plan is not None and not (is_identity(view.last) and all(
                    c.name == catch for c in plan.tool_calls)):
                return plan
            if catch and not is_identity(view.last):
                plan = self._plan(view, view.tool(catch), view.users[0][0])
                if plan is not None:
                    return plan
        return BrainReply(self._chat(view))

    def _calling(self, view: ConversationView, calls: list[ToolCall]) -> BrainReply:
        fillers = filler_phrases(view.instructions)
        return BrainReply(pick(fillers, view.last or "") if fillers else None, calls)

    def _best_call(self, view: ConversationView) -> ToolCall:
        scores = tool_index(view.tools).scores(view.last or "")
        best = int(np.argmax(scores))
        if scores[best] < self.threshold:
            catch = catch_all_tool(view.tools, view.instructions)
            best = next((i for i, t in enumerate(view.tools) if t["name"] == catch), best)
        tool = view.tools[best]
        return ToolCall(tool["name"], view.fill(tool)[0])

    def _route(self, view: ConversationView) -> BrainReply | None:
        index = tool_index(view.tools)
        last = view.last or ""
        calls = self._clauses(view, index, last)
        if calls:
            return self._calling(view, calls)
        scores = index.scores(last)
        start = view.users[0][0]
        if scores.max() < self.threshold and not is_no(last) and answer_like(last):
            context = [last, view.assistant_question_before(start)]
            for pos, text in view.users[1:3]:
                context.append(text)
                start = pos
            scores = index.scores(" ".join(context))
        best = int(np.argmax(scores))
        if scores[best] < self.threshold:
            return None
        return self._plan(view, view.tools[best], start)

    def _plan(self, view: ConversationView, tool: dict | None, start: int) -> BrainReply | None:
        if tool is None:
            return None
        args, missing = view.fill(tool)
        if missing:
            return BrainReply(ask_for(*missing))
        calls = self._repeated(tool, args, view.last or "") or [ToolCall(tool["name"], args)]
        recent = {call_key(n, a) for i, n, a in view.calls if i > start}
        if any(call_key(c.name, c.arguments) in recent for c in calls):
            return BrainReply("Is there anything else I can help with?")
        return self._calling(view, calls)

    def _repeated(self, tool: dict, args: dict, last: str) -> list[ToolCall] | None:
        """One call per value when the user clearly asks for several ("Paris and Rome")."""
        props = (tool.get("parameters") or {}).get("properties") or {}
        if len(props) != 1 or not re.search(r"\band\b|,", last):
            return None
        name, schema = next(iter(props.items()))
        if not isinstance(schema, dict) or param_kind(name, schema) not in (
                "city", "region", "enum", "id"):
            return None
        values = values_for(name, schema, last)
        if len(values) < 2:
            return None
        return [ToolCall(tool["name"], {**args, name: v}) for v in values[:3]]

    def _clauses(self, view: ConversationView, index: ToolIndex, last: str) -> list[ToolCall] | None:
        """Separate calls for clearly separate requests joined by "and"/"then"/"also"."""
        parts = [p for p in re.split(r"[;,]?\s*\b(?:and then|and also|also|then|and)\b\s*|;",
                                     last, flags=re.I) if len(features(p)[0]) >= 1]
        if len(parts) < 2:
            return None
        chosen: list[tuple[dict, str]] = []
        for part in parts:
            scores = index.scores(part)
            best = int(np.argmax(scores))
            if scores[best] >= self.threshold and all(t is not view.tools[best]
                                                      for t, _ in chosen):
                chosen.append((view.tools[best], part))
        if len(chosen) < 2 or any(is_handoff(t["name"]) for t, _ in chosen):
            return None
        calls = []
        for tool, part in chosen[:3]:
            args, missing = view.fill(tool, [part, *view.user_texts])
            if missing:
                return None
            calls.append(ToolCall(tool["name"], args))
        return calls

    # -- talk ---------------------------------------------------------------------------------

    def _small_talk(self, view: ConversationView, kinds: set[str]) -> str:
        ask = ask_clause(view.instructions) or "How can I help?"
        well = "I'm doing well, thanks for asking."
        if "greet" in kinds and view.first_turn:
            quoted = quoted_greeting(view.instructions)
            if quoted:
                return quoted
            return f"Hi! {well} {ask}" if "how" in kinds else view.greeting()
        if "bye" in kinds:
            return "You're welcome, goodbye!" if "thanks" in kinds else "Goodbye, have a great day!"
        if "thanks" in kinds:
            return "You're welcome! Is there anything else I can help with?"
        if "how" in kinds:
            return f"{'Hi! ' if 'greet' in kinds else ''}{well} {ask}"
        return f"{pick(['Hi there!', 'Hello again!', 'Hi!'], view.last or '')} {ask}"

    def _chat(self, view: ConversationView) -> str:
        last = view.last or ""
        if is_identity(last):
            how = " and pick tools by matching your words to their descriptions" if view.tools \
                else ""
            return IDENTITY_REPLY.format(tools=how)
        low = last.lower()
        wants_poem = re.search(r"\b(?:haiku|poem)s?\b", low) is not None
        if "haiku" in view.instructions.lower() and (wants_poem or not view.tools) and not (
                is_yes(last) or is_no(last)):
            return haiku(haiku_topic(clean_utterance(last) or last))
        if is_no(last):
            return "Okay, no problem. Is there anything else I can help with?"
        if is_yes(last):
            return "Okay! What would you like to do?"
        hint = tool_hint(view.tools) if view.tools else ""
        return f"{FALLBACK} {hint}".strip()
