"""Word error rate, for checking transcripts against what was said."""

from __future__ import annotations

import re

_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_WORD = re.compile(r"[a-z0-9']+")


def normalize(text: str) -> list[str]:
    """Lower-case words without punctuation; numbers become single digits.

    ``"Call 555-1234"`` and ``"call five five five one two three four"`` normalise alike.
    """
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    text = re.sub(r"(?<=\d)[,.](?=\d)", "", text)  # 4,567 → 4567
    out: list[str] = []
    for word in (w.strip("'") for w in _WORD.findall(text)):
        if word in _DIGITS:
            out.append(str(_DIGITS.index(word)))
        elif word.isdigit():
            out.extend(word)
        elif word:
            out.append(word)
    return out


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after normalising."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)
