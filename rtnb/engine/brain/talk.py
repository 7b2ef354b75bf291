"""The rule brain's own words: small talk, yes and no, "repeat that", who it is, a
templated haiku, and the canned replies it falls back on.
"""

from __future__ import annotations

import re
import zlib

from .extract import find_date, find_email, find_phone, split_identifier, word_list, words_of
from .routing import STOP_WORDS

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
REPEAT_REQUEST = re.compile(r"\b(?:repeat (?:that|it|yourself|please|the last)|say (?:that|it) again|"
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
    words = [w for w in words_of(source) if w not in STOP_WORDS and w not in _NOT_TOPIC
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


def answer_like(text: str) -> bool:
    """Words that could answer a question: yes, a few words, a number, a phone, an email, a date."""
    return (is_yes(text) or len(words_of(text)) <= 6 or bool(re.search(r"\d", text))
            or find_phone(text) is not None or find_email(text) is not None
            or find_date(text) is not None)
