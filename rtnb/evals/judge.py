"""A text model that judges replies (``judge:`` checks) and plays goal-driven callers.

Where it comes from, in order: ``--judge URL#model`` (any OpenAI-compatible endpoint,
through chat completions; its key, if it needs one, from ``RTNB_JUDGE_KEY``), else
OpenAI's Responses API when ``OPENAI_API_KEY`` is set. With neither, the judge is
*unavailable*: judge checks and goal-driven calls are skipped with :attr:`Judge.reason`,
never passed. The key stays inside the SDK client (never in results or reprs).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from ..models import openai_model

UNAVAILABLE = ("no judge configured: set OPENAI_API_KEY or pass --judge URL#model "
               "(an OpenAI-compatible endpoint)")

JUDGE_PROMPT = """\
You check one turn of a phone conversation between a caller and a voice agent.
Criterion: {criterion}

Conversation so far (the last agent lines are the reply to judge):
{transcript}

Does the agent's reply meet the criterion? Answer with JSON only:
{{"verdict": "pass" or "fail", "reason": "one short sentence"}}"""

CALLER_PROMPT = """\
You play a caller phoning a voice agent. Your goal: {goal}
Speak as the caller would: one short, natural sentence per turn.
If the goal is met, or the agent cannot help any further, answer exactly DONE.

Conversation so far:
{transcript}

Your next line (or DONE):"""


def parse_spec(spec: str) -> tuple[str, str]:
    """``"http://host:port/v1#model"`` → (base URL, model); ValueError if malformed."""
    url, sep, model = spec.partition("#")
    if not sep or not model or not url.startswith(("http://", "https://")):
        raise ValueError(f"a judge is URL#model, e.g. http://127.0.0.1:11434/v1#llama3.2, "
                         f"not {spec!r}")
    return url.rstrip("/"), model


@dataclass
class Verdict:
    passed: bool
    reason: str


class Judge:
    """The judge a run uses; ``available`` says whether there is one, ``reason`` why not."""

    def __init__(self, spec: str | None = None) -> None:
        self.spec = spec
        self.reason = ""
        self._client: Any = None
        if spec:
            self.url, self.model = parse_spec(spec)
            self.api = "chat"
        elif os.environ.get("OPENAI_API_KEY"):
            self.url, self.model, self.api = "api.openai.com", openai_model("judge"), "responses"
        else:
            self.url = self.model = self.api = ""
            self.reason = UNAVAILABLE

    @property
    def available(self) -> bool:
        return not self.reason

    def __repr__(self) -> str:
        return (f"Judge({self.model} at {self.url})" if self.available
                else f"Judge(unavailable: {self.reason})")

    def client(self) -> Any:
        if self._client is None:
            from openai import AsyncOpenAI

            if self.api == "responses":
                self._client = AsyncOpenAI()
            else:
                self._client = AsyncOpenAI(base_url=self.url,
                                           api_key=os.environ.get("RTNB_JUDGE_KEY", "none"))
        return self._client

    async def complete(self, prompt: str) -> str:
        """The model's text answer to ``prompt``."""
        client = self.client()
        if self.api == "responses":
            response = await client.responses.create(model=self.model, input=prompt)
            return response.output_text
        completion = await client.chat.completions.create(
            model=self.model, messages=[{"role": "user", "content": prompt}], temperature=0)
        return completion.choices[0].message.content or ""

    async def verdict(self, criterion: str, transcript: str) -> Verdict:
        """Whether the last reply in ``transcript`` meets ``criterion``."""
        text = await self.complete(JUDGE_PROMPT.format(criterion=criterion,
                                                       transcript=transcript))
        return parse_verdict(text)

    async def next_line(self, goal: str, transcript: str) -> str | None:
        """The goal-driven caller's next line, or None when it is done."""
        text = (await self.complete(CALLER_PROMPT.format(
            goal=goal, transcript=transcript or "(the call has just started)"))).strip()
        text = text.strip().strip('"').strip()
        return None if not text or text.upper().rstrip(".") == "DONE" else text

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def parse_verdict(text: str) -> Verdict:
    """A model's answer → :class:`Verdict` (JSON ``{"verdict", "reason"}``, or a leading
    PASS/FAIL); an answer that is neither is a failed check that quotes it."""
    found = re.search(r"\{.*\}", text, re.S)
    if found:
        try:
            data = json.loads(found.group(0))
            verdict = str(data.get("verdict", data.get("passed", ""))).strip().lower()
            if verdict in ("pass", "true", "fail", "false"):
                return Verdict(verdict in ("pass", "true"), str(data.get("reason", "")))
        except (ValueError, AttributeError):
            pass
    word = text.strip().split(maxsplit=1)
    head = word[0].strip(".:,").lower() if word else ""
    if head in ("pass", "fail"):
        return Verdict(head == "pass", word[1] if len(word) > 1 else "")
    return Verdict(False, f"the judge's answer was not a verdict: {text[:200]!r}")
