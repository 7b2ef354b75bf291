"""The default brain: deterministic rules over the conversation, no language model.

It picks a function tool by TF-IDF similarity (word stems, a few synonym concepts and
character 3–5-grams) between the user's last words and each tool's name, description and
parameters; fills the arguments from what the user said (:mod:`.extract`); asks for a
missing required argument; and otherwise speaks short canned replies: greetings, an honest
note about what it is, a spoken summary of tool outputs, a templated haiku.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np

from ...events import handoff_target, is_correction, is_handoff
from .base import BrainReply, BrainRequest, ToolCall, item_text
from .extract import (
    ask_for,
    clean_utterance,
    fill_arguments,
    find_date,
    find_email,
    find_phone,
    param_kind,
    split_identifier,
    stem,
    values_for,
    word_list,
    words_of,
)
from .images import describe_images

#: A tool is called when its similarity to the user's words reaches this (calibrated on
#: the weather, retail, telecom and triage tool sets in tests/test_brain.py).
THRESHOLD = 0.1
WORD_WEIGHT = 0.6

_STOP = set(word_list("""
a about above after again all also am an and any are as at be because been before being below
between both but by can could did do does doing don't down during each few for from further
had has have having he her here hers him his how i i'd i'll i'm i've if in into is it it's its
just let me more most my myself no nor not now of off on once only or other our ours out over
own please same she should so some such than that that's the their theirs them then there
these they this those through to too under until up very was we were what what's when where
which while who whom why will with would you your yours hi hello hey thanks thank okay ok um uh
like want wanted need needs know tell wonder wondering give get gets got make use using one
maybe well really actually today still something anything thing things lot much many way
user users tool tools function agent agents handoff hand transfer handle handles request
requests information info detail details provide respond response relevant given specified
current lookup look retrieve fetch check e.g eg etc can't cannot i'd you're yes yeah
last first next new recent right now able okay sure
"""))
_CONCEPTS = {
    "return": "return refund exchange | send back|money back",
    "buy": "buy purchase shop shopping sale sales deal discount promotion promo offer price "
           "pricing cost quote upgrade plan subscribe cart checkout | how much|sign up|new "
           "customer",
    "bill": "bill billing invoice charge payment pay paid fee refund receipt overcharged statement "
            "subscription balance debit",
    "tech": "technical tech broken error crash bug troubleshoot fix outage glitch fault faulty "
            "malfunction internet wifi router connection offline reboot restart slow | not working|"
            "doesn't work|does not work|won't work|stopped working|isn't working|won't turn on",
    "support": "support help assist assistance question general issue problem",
    "account": "account login password username profile verify verification authenticate "
               "identity | log in|sign in|locked out",
    "weather": "weather temperature forecast rain raining sunny snowing humid wind windy degree "
               "umbrella climate hot cold",
    "ship": "order package parcel shipment shipping ship delivery deliver track tracking arrive",
    "policy": "policy rule term warranty guarantee eligibility eligible",
    "cancel": "cancel cancellation terminate unsubscribe",
    "human": "human person representative operator someone | real person|live agent",
    "book": "book booking appointment schedule reservation reserve",
    "poem": "poem poetry haiku verse",
    "address": "address street move moved relocate",
}


def _compile_concepts() -> list[tuple[str, set[str], re.Pattern | None]]:
    out = []
    for name, spec in _CONCEPTS.items():
        singles, _, phrases = spec.partition("|")
        pat = re.compile(r"\b(?:" + "|".join(re.escape(p.strip()) for p in phrases.split("|"))
                         + r")\b") if phrases.strip() else None
        out.append((name, {stem(w) for w in singles.split()}, pat))
    return out


_CONCEPT_TABLE = _compile_concepts()


def _grams(token: str) -> list[str]:
    t = f"<{token}>"
    return [t[i:i + n] for n in (3, 4, 5) for i in range(len(t) - n + 1)]


def features(text: str) -> tuple[Counter, Counter]:
    """Word-stem + concept counts and character n-gram counts of a text."""
    low = re.sub(r"\bcheck(?:ing)?\s+out\b", "checkout", text.lower().replace("’", "'"))
    toks = [t for t in words_of(low) if t not in _STOP and not t.isdigit() and len(t) > 1]
    stems = [stem(t) for t in toks]
    words = Counter(stems)
    for name, singles, pat in _CONCEPT_TABLE:
        if any(s in singles for s in stems) or (pat is not None and pat.search(low)):
            words["@" + name] += 2
    return words, Counter(g for t in toks for g in _grams(t))


def _tool_text(tool: dict) -> tuple[str, str]:
    """(name words, everything else) for a function tool."""
    name = " ".join(split_identifier(tool.get("name", "")))
    desc = tool.get("description") or ""
    desc = re.sub(r"(?:^|(?<=[.!?]\s))(?:returns?|gets?|retrieves?|fetch(?:es)?|looks? up)\b",
                  "", desc, flags=re.I)
    parts = [desc]
    props = (tool.get("parameters") or {}).get("properties") or {}
    for pname, schema in props.items():
        if isinstance(schema, dict):
            parts += [" ".join(split_identifier(pname)), schema.get("description") or ""]
            parts += [" ".join(split_identifier(str(v))) for v in schema.get("enum") or []]
    return name, " ".join(parts)


class _Tfidf:
    """Sublinear TF × smoothed IDF vectors, L2-normalised; cosine against a query."""

    def __init__(self, docs: list[Counter]) -> None:
        vocab = sorted(set().union(*docs)) if docs else []
        self.index = {t: i for i, t in enumerate(vocab)}
        mat = np.zeros((len(docs), len(vocab)))
        for i, doc in enumerate(docs):
            for t, c in doc.items():
                mat[i, self.index[t]] = 1 + math.log(c)
        df = (mat > 0).sum(axis=0)
        self.idf = np.log((1 + len(docs)) / (1 + df)) + 1
        mat *= self.idf
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        self.mat = mat / np.where(norms == 0, 1, norms)

    def cosine(self, query: Counter) -> np.ndarray:
        vec = np.zeros(len(self.index))
        unknown = 0.0
        for t, c in query.items():
            w = 1 + math.log(c)
            j = self.index.get(t)
            if j is None:
                unknown += w * w
            else:
                vec[j] = w * self.idf[j]
        norm = math.sqrt(float(vec @ vec) + unknown)
        return self.mat @ vec / norm if norm else np.zeros(len(self.mat))


class ToolIndex:
    """Similarity of an utterance to each function tool."""

    def __init__(self, tools: list[dict]) -> None:
        self.tools = tools
        docs = []
        for tool in tools:
            name, rest = _tool_text(tool)
            nw, nc = features(name)
            rw, rc = features(rest)
            docs.append((nw + nw + rw, nc + nc + rc))
        self.words = _Tfidf([d[0] for d in docs])
        self.chars = _Tfidf([d[1] for d in docs])

    def scores(self, text: str) -> np.ndarray:
        w, c = features(text)
        if not self.tools:
            return np.zeros(0)
        return WORD_WEIGHT * self.words.cosine(w) + (1 - WORD_WEIGHT) * self.chars.cosine(c)


@lru_cache(maxsize=64)
def _index(key: str) -> ToolIndex:
    return ToolIndex(json.loads(key))


def tool_index(tools: list[dict]) -> ToolIndex:
    """A (cached) :class:`ToolIndex` for these tools."""
    return _index(json.dumps(tools, sort_keys=True, default=str))


# -- reading the instructions -----------------------------------------------------------------

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


def catch_all_tool(tools: list[dict], instructions: str) -> str | None:
    """A tool meant for everything: named in the instructions with "always"/"by default",
    or described as producing the next response."""
    for tool in tools:
        name = re.escape(tool["name"])
        if re.search(rf"(?:always|by default|every|for all)[^.\n]{{0,80}}\b{name}\b|\b{name}\b"
                     rf"[^.\n]{{0,60}}\b(?:always|by default|every)", instructions, re.I):
            return tool["name"]
    for tool in tools:
        desc = (tool.get("description") or "").lower()
        if not is_handoff(tool["name"]) and re.search(
                r"next response|whenever|any (?:question|request)|all (?:questions|requests)|"
                r"supervisor", desc):
            return tool["name"]
    return None


# -- tool outputs → speech -------------------------------------------------------------------

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


def truncate_words(text: str, limit: int) -> str:
    """Cut at a word boundary so that the result has at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit + 1]
    cut = cut.rsplit(None, 1)[0] if " " in cut.strip() else text[:limit]
    return cut[:limit].rstrip(" ,;:-")


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


# -- small talk, identity, haiku ----------------------------------------------------------------

_SMALL = (
    ("greet", r"\b(?:hi|hello|hey|hiya|howdy|greetings|yo|good (?:morning|afternoon|evening|day))"
              r"\b"),
    ("how", r"\bhow(?:'s| is| are)? (?:you|u|it going|are things|have you been|do you do)"
            r"(?: doing)?\b|\bwhat'?s up\b|\bhow are you\b"),
    ("thanks", r"\b(?:thanks|thank you|thank u|thx|cheers|appreciate it|much appreciated)\b"),
    ("bye", r"\b(?:bye|goodbye|good bye|see you|see ya|talk (?:to you )?later|take care|"
            r"have a (?:good|great|nice) (?:day|one|night|evening)|good night|that'?s all)\b"),
)
_FILLER_WORDS = set(word_list("""there again so very much a lot for your the help assistant everyone all
guys folks ok okay oh um uh well and too you just bot friend buddy today this doing then it i am
i'm fine great good nice are is that's that by way now for now bye hi hello"""))
_YES = r"(?:yes|yeah|yep|yup|sure|ok|okay|alright|right|correct|please|please do|go ahead|" \
       r"sounds good|of course|absolutely|definitely|why not|let's do it|do it)"
_NO = r"(?:no|nope|nah|not really|no thanks|no thank you|never mind|nevermind|i'm good|" \
      r"that's ok|not now)"
APOLOGY = "Sorry, I shouldn't have said that. Is there anything else I can help with?"
_REPEAT = re.compile(r"\b(?:repeat (?:that|it|yourself|please|the last)|say (?:that|it) again|"
                     r"what did you (?:just )?say|come again|pardon(?: me)?|didn'?t (?:catch|"
                     r"hear) (?:that|you|it))\b", re.I)
_IDENTITY = re.compile(
    r"\b(?:who|what)\s+(?:are|r)\s+(?:you|u)\b|\bare\s+(?:you|u)\s+(?:a\s+|an\s+|the\s+)?"
    r"(?:real\s+)?(?:robot|bot|ai|a\.i\.?|human|person|machine|computer|chat\s?gpt|gpt[\w.-]*|"
    r"llm|language model|artificial|program|chatbot|real)\b|\b(?:what|which)\s+(?:ai\s+|"
    r"language\s+)?model\s+(?:are|do|is)\s+(?:you|this|powering|running)\b|\bwhat(?:'s| is)\s+"
    r"your\s+(?:model|name)\b|\bwho\s+(?:made|built|created|programmed)\s+you\b|"
    r"\bare you (?:using|running|powered by)\b", re.I)


def small_talk(text: str) -> set[str]:
    """Kinds of small talk when the utterance is nothing but small talk, else empty."""
    low = re.sub(r"[^\w\s']", " ", text.lower())
    kinds = set()
    for kind, pattern in _SMALL:
        if re.search(pattern, low):
            kinds.add(kind)
            low = re.sub(pattern, " ", low)
    if kinds and all(w in _FILLER_WORDS for w in low.split()):
        return kinds
    return set()


def _only(pattern: str, text: str) -> bool:
    low = re.sub(r"[^\w\s']", " ", text.lower()).strip()
    return bool(low) and re.fullmatch(rf"(?:(?:{pattern}|thanks|thank you|please)\s*)+", low) \
        is not None


def is_yes(text: str) -> bool:
    return _only(_YES, text)


def is_no(text: str) -> bool:
    return _only(_NO, text)


def is_identity(text: str) -> bool:
    return _IDENTITY.search(text) is not None


def _syllables(word: str) -> int:
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    n = len(re.findall(r"[aeiouy]+", w))
    if n > 1 and (w.endswith("e") and not w.endswith(("le", "ee")) or re.search(
            r"[^aeiouytdszxcgh]e[sd]$", w)):
        n -= 1
    return max(1, n)


_HAIKU_TAILS = {4: "in the morning", 3: "at first light", 2: "at dawn", 1: "now", 0: ""}
_HAIKU_ENDS = (
    ("quiet thoughts drift like slow clouds", "the world holds its breath"),
    ("a soft wind carries the sound", "of something to come"),
    ("small light on the water shines", "and then it is gone"),
    ("old stories hum in the dark", "the night listens close"),
)
_NOT_TOPIC = {"write", "haiku", "poem", "about", "compose", "create", "another", "some", "short",
              "little", "make", "yes", "sure", "topic", "could", "would", "please", "me", "us"}


def haiku_topic(text: str) -> str:
    m = re.search(r"\babout\s+(.+)", text, re.I)
    source = m.group(1) if m else text
    words = [w for w in words_of(source) if w not in _STOP and w not in _NOT_TOPIC
             and not w.isdigit()]
    return " ".join(words[:3]) or "this quiet moment"


def haiku(topic: str) -> str:
    """A deterministic 5-7-5 haiku about ``topic`` from templates."""
    count = sum(_syllables(w) for w in topic.split())
    tail = _HAIKU_TAILS.get(5 - count, "") if count < 5 else ""
    first = f"{topic} {tail}".strip()
    second, third = _HAIKU_ENDS[zlib.crc32(topic.encode()) % len(_HAIKU_ENDS)]
    return f"{first[0].upper()}{first[1:]},\n{second},\n{third}."


def pick(options: list[str], key: str) -> str:
    """Choose deterministically (crc32 of ``key``)."""
    return options[zlib.crc32(key.encode("utf-8", "replace")) % len(options)]


IDENTITY_REPLY = ("I'm rtnb's local rule-based engine, not a language model. I answer with "
                  "simple rules{tools}.")
FALLBACK = "I'm a simple offline engine, so I can't answer that myself."
DEFAULT_GREETING = "Hello! How can I help you today?"
_GENERIC_NAME_WORDS = {"get", "set", "lookup", "look", "up", "retrieve", "fetch", "check", "find",
                       "transfer", "to", "the", "a", "of", "for", "by", "and", "from", "next",
                       "new", "do", "run", "make", "create", "add", "update", "list", "search",
                       "agent", "user", "information", "info", "current", "initiate"}


def tool_hint(tools: list[dict]) -> str:
    """ "Try asking about weather, orders or billing." from the tool names."""
    topics: list[str] = []
    for tool in tools:
        words = [w for w in split_identifier(tool["name"]) if w not in _GENERIC_NAME_WORDS]
        topic = " ".join(words[:2])
        if topic and topic not in topics:
            topics.append(topic)
    if not topics:
        return ""
    topics = topics[:4]
    joined = topics[0] if len(topics) == 1 else ", ".join(topics[:-1]) + " or " + topics[-1]
    return f"Try asking about {joined}."


# -- the brain --------------------------------------------------------------------------------


def _kind(item: dict) -> str:
    return item.get("type") or ("message" if item.get("role") else "")


def _args(item: dict) -> dict:
    raw = item.get("arguments")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(item: dict) -> str:
    try:
        return item_text(item)
    except (AttributeError, TypeError):
        return ""


def _canon(name: str, args: dict) -> str:
    return name + json.dumps(args, sort_keys=True, default=str)


class _Turn:
    """One request, read once: who said what, which calls were made, what was answered."""

    def __init__(self, request: BrainRequest) -> None:
        self.items = [i for i in request.history if isinstance(i, dict)]
        self.instructions = request.instructions or ""
        self.tools = [t for t in request.tools or [] if isinstance(t, dict) and t.get("name")
                      and t.get("type", "function") == "function"]
        self.users = [(i, _text(it)) for i, it in enumerate(self.items)
                      if _kind(it) == "message" and it.get("role") == "user" and _text(it)]
        self.users.reverse()  # newest first
        self.user_texts = [t for _, t in self.users]
        self.last = self.user_texts[0] if self.users else None
        self.calls = [(i, it.get("name") or "", _args(it)) for i, it in enumerate(self.items)
                      if _kind(it) == "function_call"]
        self.prior_args = [a for _, _, a in reversed(self.calls)]
        self.first_turn = not any(_kind(it) == "message" and it.get("role") == "assistant"
                                  and _text(it) for it in self.items)

    def outputs(self) -> list[tuple[str, str]]:
        """Trailing function_call_outputs (with their call's name), oldest first."""
        names = {it.get("call_id"): it.get("name") or "" for it in self.items
                 if _kind(it) == "function_call"}
        found = []
        for it in reversed(self.items):
            kind = _kind(it)
            if kind == "function_call_output":
                out = it.get("output")
                found.append((names.get(it.get("call_id"), ""),
                              out if isinstance(out, str) else json.dumps(out)))
            elif kind != "function_call":
                break
        return found[::-1]

    def assistant_question_before(self, pos: int) -> str:
        for it in reversed(self.items[:pos]):
            if _kind(it) == "message" and it.get("role") == "assistant":
                text = _text(it)
                return text if text.rstrip().endswith("?") else ""
            if _kind(it) == "message" and it.get("role") == "user":
                return ""
        return ""

    def last_assistant(self) -> str:
        """What the assistant said last (before the user's latest message)."""
        end = self.users[0][0] if self.users else len(self.items)
        return next((_text(it) for it in reversed(self.items[:end]) if _kind(it) == "message"
                     and it.get("role") == "assistant" and _text(it)), "")

    def tool(self, name: str) -> dict | None:
        return next((t for t in self.tools if t["name"] == name), None)

    def fill(self, tool: dict, texts: list[str] | None = None
             ) -> tuple[dict, tuple[str, dict] | None]:
        params = tool.get("parameters") if isinstance(tool.get("parameters"), dict) else {}
        return fill_arguments(params, texts if texts is not None else self.user_texts,
                              self.prior_args)

    def greeting(self) -> str:
        ask = ask_clause(self.instructions)
        return quoted_greeting(self.instructions) or (f"Hello! {ask}" if ask else DEFAULT_GREETING)


def _answer_like(text: str) -> bool:
    return (is_yes(text) or len(words_of(text)) <= 6 or bool(re.search(r"\d", text))
            or find_phone(text) is not None or find_email(text) is not None
            or find_date(text) is not None)


class RuleBrain:
    """Deterministic rule-based brain: tool routing by lexical similarity, no LLM."""

    name = "rtnb-local"

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
        reply = BrainReply(image) if image else self._decide(_Turn(request),
                                                             request.tool_choice)
        limit = request.max_output_chars
        if reply.text and limit is not None:
            reply = BrainReply(truncate_words(reply.text, max(limit, 0)) or None,
                               reply.tool_calls)
        return reply

    # -- decision ---------------------------------------------------------------------------

    def _decide(self, turn: _Turn, choice: str | dict) -> BrainReply:
        outputs = turn.outputs()
        if outputs:
            said = [speak_output(n, o, turn.instructions) for n, o in outputs]
            return BrainReply(truncate_sentences(" ".join(said), 600))
        if choice == "none":
            turn.tools = []
        forced = None
        if isinstance(choice, dict):
            forced = choice.get("name") or (choice.get("function") or {}).get("name")
        if forced:
            tool = turn.tool(forced)
            return self._calling(turn, [ToolCall(forced, turn.fill(tool)[0] if tool else {})])
        if choice == "required" and turn.tools:
            return self._calling(turn, [self._best_call(turn)])
        if turn.last is None:
            return BrainReply(turn.greeting() if turn.first_turn
                              else "Is there anything I can help with?")
        if _REPEAT.search(turn.last) and len(words_of(turn.last)) <= 8:
            said = turn.last_assistant()
            if said:
                return BrainReply(said)
        talk = small_talk(turn.last)
        if talk:
            return BrainReply(self._small_talk(turn, talk))
        if turn.tools:
            catch = catch_all_tool(turn.tools, turn.instructions)
            plan = self._route(turn)
            if plan is not None and not (is_identity(turn.last) and all(
                    c.name == catch for c in plan.tool_calls)):
                return plan
            if catch and not is_identity(turn.last):
                plan = self._plan(turn, turn.tool(catch), turn.users[0][0])
                if plan is not None:
                    return plan
        return BrainReply(self._chat(turn))

    def _calling(self, turn: _Turn, calls: list[ToolCall]) -> BrainReply:
        fillers = filler_phrases(turn.instructions)
        return BrainReply(pick(fillers, turn.last or "") if fillers else None, calls)

    def _best_call(self, turn: _Turn) -> ToolCall:
        scores = tool_index(turn.tools).scores(turn.last or "")
        best = int(np.argmax(scores))
        if scores[best] < self.threshold:
            catch = catch_all_tool(turn.tools, turn.instructions)
            best = next((i for i, t in enumerate(turn.tools) if t["name"] == catch), best)
        tool = turn.tools[best]
        return ToolCall(tool["name"], turn.fill(tool)[0])

    def _route(self, turn: _Turn) -> BrainReply | None:
        index = tool_index(turn.tools)
        last = turn.last or ""
        calls = self._clauses(turn, index, last)
        if calls:
            return self._calling(turn, calls)
        scores = index.scores(last)
        start = turn.users[0][0]
        if scores.max() < self.threshold and not is_no(last) and _answer_like(last):
            context = [last, turn.assistant_question_before(start)]
            for pos, text in turn.users[1:3]:
                context.append(text)
                start = pos
            scores = index.scores(" ".join(context))
        best = int(np.argmax(scores))
        if scores[best] < self.threshold:
            return None
        return self._plan(turn, turn.tools[best], start)

    def _plan(self, turn: _Turn, tool: dict | None, start: int) -> BrainReply | None:
        if tool is None:
            return None
        args, missing = turn.fill(tool)
        if missing:
            return BrainReply(ask_for(*missing))
        calls = self._repeated(tool, args, turn.last or "") or [ToolCall(tool["name"], args)]
        recent = {_canon(n, a) for i, n, a in turn.calls if i > start}
        if any(_canon(c.name, c.arguments) in recent for c in calls):
            return BrainReply("Is there anything else I can help with?")
        return self._calling(turn, calls)

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

    def _clauses(self, turn: _Turn, index: ToolIndex, last: str) -> list[ToolCall] | None:
        """Separate calls for clearly separate requests joined by "and"/"then"/"also"."""
        parts = [p for p in re.split(r"[;,]?\s*\b(?:and then|and also|also|then|and)\b\s*|;",
                                     last, flags=re.I) if len(features(p)[0]) >= 1]
        if len(parts) < 2:
            return None
        chosen: list[tuple[dict, str]] = []
        for part in parts:
            scores = index.scores(part)
            best = int(np.argmax(scores))
            if scores[best] >= self.threshold and all(t is not turn.tools[best]
                                                      for t, _ in chosen):
                chosen.append((turn.tools[best], part))
        if len(chosen) < 2 or any(is_handoff(t["name"]) for t, _ in chosen):
            return None
        calls = []
        for tool, part in chosen[:3]:
            args, missing = turn.fill(tool, [part, *turn.user_texts])
            if missing:
                return None
            calls.append(ToolCall(tool["name"], args))
        return calls

    # -- talk ---------------------------------------------------------------------------------

    def _small_talk(self, turn: _Turn, kinds: set[str]) -> str:
        ask = ask_clause(turn.instructions) or "How can I help?"
        well = "I'm doing well, thanks for asking."
        if "greet" in kinds and turn.first_turn:
            quoted = quoted_greeting(turn.instructions)
            if quoted:
                return quoted
            return f"Hi! {well} {ask}" if "how" in kinds else turn.greeting()
        if "bye" in kinds:
            return "You're welcome, goodbye!" if "thanks" in kinds else "Goodbye, have a great day!"
        if "thanks" in kinds:
            return "You're welcome! Is there anything else I can help with?"
        if "how" in kinds:
            return f"{'Hi! ' if 'greet' in kinds else ''}{well} {ask}"
        return f"{pick(['Hi there!', 'Hello again!', 'Hi!'], turn.last or '')} {ask}"

    def _chat(self, turn: _Turn) -> str:
        last = turn.last or ""
        if is_identity(last):
            how = " and pick tools by matching your words to their descriptions" if turn.tools \
                else ""
            return IDENTITY_REPLY.format(tools=how)
        low = last.lower()
        wants_poem = re.search(r"\b(?:haiku|poem)s?\b", low) is not None
        if "haiku" in turn.instructions.lower() and (wants_poem or not turn.tools) and not (
                is_yes(last) or is_no(last)):
            return haiku(haiku_topic(clean_utterance(last) or last))
        if is_no(last):
            return "Okay, no problem. Is there anything else I can help with?"
        if is_yes(last):
            return "Okay! What would you like to do?"
        hint = tool_hint(turn.tools) if turn.tools else ""
        return f"{FALLBACK} {hint}".strip()
