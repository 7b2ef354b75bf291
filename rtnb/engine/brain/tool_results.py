"""Tool results read aloud: a short spoken summary of a function call's output, the
verbatim answer a supervisor returns, an error's gist, and a new agent's greeting after a
handoff.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...events import handoff_target, is_handoff
from .base import truncate_words
from .instructions import ask_clause, quoted_greeting

_VERBATIM = ("nextResponse", "message", "text", "response", "answer")


def humanize(name: str) -> str:
    """``haikuWriter`` → "haiku writer", ``Billing agent`` → "billing agent"."""
    return " ".join(w.upper() if len(w) <= 3 and w.isupper() else w.lower()
                    for w in re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").split())


def truncate_sentences(text: str, limit: int = 300) -> str:
    """Whole sentences up to ``limit`` characters (else a word-boundary cut)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    return out or truncate_words(text, limit)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        if all(isinstance(v, (str, int, float)) for v in value):
            vals = [_fmt(v) for v in value[:3]] + (["more"] if len(value) > 3 else [])
            return vals[0] if len(vals) == 1 else ", ".join(vals[:-1]) + " and " + vals[-1]
        return f"{len(value)} entries"
    if isinstance(value, dict):
        return f"{len(value)} fields"
    return str(value)


def _pairs(obj: dict) -> str:
    pairs = [f"{humanize(k)} {'are' if isinstance(v, list) else 'is'} {_fmt(v)}"
             for k, v in obj.items()
             if v not in (None, "", [], {}) and not isinstance(v, (dict, list))
             or isinstance(v, list) and v and all(isinstance(x, (str, int, float)) for x in v)]
    pairs = pairs[:4]
    if not pairs:
        return ""
    text = pairs[0] if len(pairs) == 1 else ", ".join(pairs[:-1]) + " and " + pairs[-1]
    return text[0].upper() + text[1:]


def _weather(obj: dict) -> str | None:
    low = {k.lower(): v for k, v in obj.items()}
    temp_key = next((k for k in low if "temp" in k), None)
    if temp_key is None or isinstance(low[temp_key], (dict, list)):
        return None
    temp = str(low[temp_key])
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*°?\s*([cCfF])?\s*", temp)
    unit = str(low.get("unit") or low.get("units") or (m.group(2) if m else "") or "")
    unit = {"c": " Celsius", "celsius": " Celsius", "f": " Fahrenheit",
            "fahrenheit": " Fahrenheit"}.get(unit.lower(), "")
    temp = f"{_fmt(float(m.group(1)))} degrees{unit}" if m else temp
    cond = next((low[k] for k in ("conditions", "condition", "description", "summary",
                                  "weather", "forecast", "sky") if isinstance(low.get(k), str)),
                None)
    place = next((low[k] for k in ("city", "location", "place", "name") if low.get(k)), None)
    head = f"The weather in {place} is {temp}" if place else f"It's {temp}"
    return f"{head} and {str(cond).lower()}." if cond else f"{head}."


def summarize(value: Any) -> str:
    """A short spoken summary of a JSON value."""
    if value is None or value == {} or value == []:
        return "Done."
    if isinstance(value, str):
        return truncate_sentences(value)
    if isinstance(value, bool):
        return "Done." if value else "That didn't work."
    if isinstance(value, (int, float)):
        return f"The result is {_fmt(value)}."
    if isinstance(value, list):
        noun = "result" if len(value) == 1 else "results"
        head = f"I found {len(value)} {noun}."
        first = summarize(value[0]) if isinstance(value[0], dict) else _fmt(value[:3]) + "."
        return truncate_sentences(f"{head} The first: {first[0].lower()}{first[1:]}"
                                  if isinstance(value[0], dict) else f"{head} {first}", 240)
    weather = _weather(value)
    if weather:
        return weather
    if set(value) <= {"success", "ok", "status"} and all(isinstance(v, bool) for v in
                                                           value.values()):
        return "Done." if all(value.values()) else "That didn't work."
    lists = [(k, v) for k, v in value.items() if isinstance(v, list) and v
             and isinstance(v[0], dict)]
    text = _pairs(value)
    nested = [v for v in value.values() if isinstance(v, dict) and v]
    if not text and not lists and len(nested) == 1:
        return summarize(nested[0])
    if lists and not text:
        key, items = lists[0]
        noun = humanize(key)
        first = _pairs(items[0])
        text = f"I found {len(items)} {noun}." + (f" The first: {first[0].lower()}{first[1:]}."
                                                  if first else "")
        return truncate_sentences(text, 240)
    return truncate_sentences(text + "." if text else "Done.", 240)


def _parse(output: str) -> Any:
    try:
        return json.loads(output)
    except (TypeError, ValueError):
        return output


def agent_greeting(agent: str, instructions: str) -> str:
    """What a newly handed-off agent says first."""
    quoted = quoted_greeting(instructions)
    if quoted:
        return quoted
    name = humanize(agent)
    roles = ("agent", "assistant", "bot", "writer", "desk", "team", "specialist", "expert",
             "helper", "concierge", "representative")
    if re.search(rf"\b(?:you are|you're|your name is|named|called)\s+{re.escape(agent)}\b",
                 instructions, re.I) and agent[:1].isupper() and " " not in agent:
        who = agent
    else:
        who = f"the {name}" if any(r in name.split() for r in roles) else f"the {name} agent"
    return f"Hi, this is {who}. {ask_clause(instructions) or 'How can I help?'}"


def speak_output(call_name: str, output: str, instructions: str) -> str:
    """What to say about one function_call_output."""
    value = _parse(output)
    if isinstance(value, dict):
        for key in _VERBATIM:
            if isinstance(value.get(key), str) and value[key].strip():
                return value[key].strip()
        agent = value.get("assistant")
        if isinstance(agent, str) and (is_handoff(call_name) or len(value) <= 2):
            return agent_greeting(agent, instructions)
        err = value.get("error")
        if err:
            gist = err.get("message") if isinstance(err, dict) else err
            gist = str(gist if gist is not True else "an error")
            gist = truncate_words(re.split(r"(?<=[.!?])\s", gist.strip())[0], 120)
            return f"Sorry, that didn't work: {gist.rstrip('.')}."
    if is_handoff(call_name):
        return agent_greeting(handoff_target(call_name), instructions)
    if isinstance(value, str):
        return truncate_sentences(value) or "Done."
    return summarize(value)
