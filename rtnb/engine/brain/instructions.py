"""What the rule brain reads in an agent's instructions: a quoted greeting, filler phrases
to say before a tool call, and the question to ask first.
"""

from __future__ import annotations

import re

_QUOTE = r"(?:\"([^\"\n]{2,200})\"|“([^”\n]{2,200})”|(?<!\w)'([^\n]{2,200}?)'(?=[\s.,;:!?)]|$))"
_GREETING_RES = [re.compile(p + _QUOTE, re.I) for p in (
    r"\bgreet(?:s|ing)?\b(?:\s+(?:the\s+)?(?:user|caller|customer|them|people|everyone))?"
    r"\s*(?:with|by saying|saying|using|as follows|:)\s*:?\s*",
    r"\b(?:start|begin|open)\w*\b[^\n\"“']{0,40}?\b(?:with|by saying|saying)\s*:?\s*",
    r"\bintroduce yourself\b[^\n\"“']{0,20}?\b(?:as|with|by saying|saying)\s*:?\s*",
    r"(?:^|[\n.!]\s*|-\s+)(?:say|greeting)\s*:\s*",
)]


def _quotes(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in re.finditer(_QUOTE, text)]


def quoted_greeting(instructions: str) -> str | None:
    """A greeting the instructions quote, e.g. ``greet the user with "Hi, ..."``."""
    for pattern in _GREETING_RES:
        for m in pattern.finditer(instructions):
            text = next(g for g in m.groups() if g).strip()
            if len(text.split()) >= 2:
                return text
    return None


def filler_phrases(instructions: str) -> list[str]:
    """Short quoted phrases the instructions offer to say before calling a tool."""
    lines = instructions.splitlines()
    found: list[str] = []
    section = False
    for line in lines:
        if re.match(r"\s*#+\s", line):
            section = "filler" in line.lower()
        elif section:
            found += _quotes(line)
    if not found:
        for i, line in enumerate(lines):
            if not re.search(r"filler|before (?:you )?call|while (?:you )?wait", line, re.I):
                continue
            found += _quotes(line)
            for nxt in lines[i + 1:i + 8]:
                if not re.match(r"\s*(?:[-*•]|\d+[.)])\s", nxt):
                    break
                found += _quotes(nxt)
    out: list[str] = []
    for q in found:
        q = q.strip()
        if (0 < len(q) <= 60 and len(q.split()) <= 8 and "filler" not in q.lower()
                and not re.search(r"[(){}=_]", q) and q not in out):
            out.append(q)
    return out


def ask_clause(instructions: str) -> str | None:
    """The question the instructions tell the agent to ask first, as a spoken question."""
    who = r"(?:the user|them|the caller|the customer|him|her)"
    m = re.search(rf"\bask {who}?\s*(?:if|whether) (?:they|he|she)(?:'d| would) like "
                  rf"(?:(to \w+(?: \w+){{0,4}})|(a |an |some )?(\w+(?: \w+){{0,2}}))", instructions,
                  re.I)
    if m:
        rest = m.group(1) or (m.group(2) or "") + m.group(3)
        return f"Would you like {rest.lower().strip()}?"
    m = re.search(rf"\bask {who}\s+(?:for|about)\s+(a |an |the |their |his |her |your )?"
                  r"(\w+(?: \w+){0,2}?)(?=\s*[,.;]|\s+then\b|\s+and\b|$)", instructions, re.I)
    if m:
        thing = m.group(2).lower()
        if (m.group(1) or "").strip().lower() in ("their", "his", "her", "your"):
            return f"What's your {thing}?"
        return f"What {thing} would you like?"
    return None
