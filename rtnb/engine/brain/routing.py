"""Which function tool the user's words ask for: TF-IDF similarity between an utterance and
each tool's name, description and parameters (word stems, a few synonym concepts, and
character 3–5-grams), plus the catch-all tool an agent's instructions name.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import lru_cache

import numpy as np

from ...events import is_handoff
from .extract import split_identifier, stem, word_list, words_of

#: A tool is called when its similarity to the user's words reaches this (calibrated on
#: the weather, retail, telecom and triage tool sets in tests/brain/test_rules.py).
THRESHOLD = 0.1
WORD_WEIGHT = 0.6

STOP_WORDS = set(word_list("""
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
    toks = [t for t in words_of(low) if t not in STOP_WORDS and not t.isdigit() and len(t) > 1]
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
