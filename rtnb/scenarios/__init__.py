"""Ready-made scenarios: the agent patterns of OpenAI's realtime-agents demo, plus triage.

Each scenario module has ``build() -> Scenario``. Agents are built fresh on every call, so
per-session state (a shopping cart, returns started) never leaks from one session into the
next. Look scenarios up with :func:`get` (``get("triage")``) or list them with :func:`names`.

Also here: :func:`company_policy_guardrail`, a deterministic keyword classifier that labels
what the assistant says as ``OFFENSIVE``, ``OFF_BRAND`` (disparaging a competitor),
``VIOLENCE`` or ``NONE``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..agents import Agent
from ..guardrails import GuardrailResult, OutputGuardrail, output_guardrail
from .data import SHOP_COMPETITORS, TELECOM_COMPETITORS

__all__ = ["Scenario", "SCENARIOS", "DEFAULT", "get", "names", "company_policy_guardrail",
           "classify_company_policy"]

DEFAULT = "chat_supervisor"


@dataclass(frozen=True)
class Scenario:
    """A named agent graph: ``root`` is where a session starts; the rest are reachable by
    handoffs. ``sample_lines`` are things a user might say, in order."""

    name: str
    title: str
    description: str
    root: Agent
    sample_lines: list[str] = field(default_factory=list)

    def agents(self) -> list[Agent]:
        """Every agent in the scenario, the root first."""
        return self.root.reachable()

    def agent(self, name: str) -> Agent:
        """The agent called ``name`` (``KeyError`` if there is none)."""
        for agent in self.agents():
            if agent.name == name:
                return agent
        raise KeyError(f"scenario {self.name!r} has no agent {name!r}; agents: "
                       f"{', '.join(a.name for a in self.agents())}")


def _builder(module: str) -> Callable[..., Scenario]:
    def build(**kwargs: Any) -> Scenario:
        return importlib.import_module(f"{__name__}.{module}").build(**kwargs)

    build.__name__ = build.__qualname__ = f"build_{module}"
    build.__doc__ = f"Build the {module!r} scenario (fresh agents on every call)."
    return build


#: Scenario name → builder. Modules are imported on first use.
SCENARIOS: dict[str, Callable[..., Scenario]] = {
    name: _builder(name)
    for name in ("chat_supervisor", "customer_service_retail", "simple_handoff", "triage")
}


def names() -> list[str]:
    """The scenario names, the default first."""
    return [DEFAULT, *sorted(n for n in SCENARIOS if n != DEFAULT)]


def _canonical(name: str) -> str:
    """``chatSupervisor`` / ``chat-supervisor`` → ``chat_supervisor``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip()).replace("-", "_").lower()


def get(name: str | None = None, **kwargs: Any) -> Scenario:
    """Build the scenario ``name`` (default :data:`DEFAULT`); the demo's camelCase names work
    too. Raises ``KeyError`` listing the valid names."""
    key = _canonical(name or DEFAULT)
    if key not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; choose one of: {', '.join(names())}")
    return SCENARIOS[key](**kwargs)


# -- company-policy guardrail -------------------------------------------------------------------

_WHO = r"(?:you|him|her|them|someone|somebody|people|anyone|everyone)"
_VIOLENCE = re.compile(
    rf"\b(?:(?:kill|murder|stab|strangle|slaughter)(?:s|ed|ing)?|"
    rf"(?:shoot|punch|hurt|attack|choke|beat)(?:s|ing)? {_WHO}(?: up)?|"
    rf"(?:weapons?|guns?|knives|knife|bombs?|explosives?))\b", re.I)
_VIOLENCE_BENIGN = re.compile(
    r"\bkill(?:s|ed|ing)? (?:the |this |that |my |your )?(?:app|process|time|battery|music|"
    r"engine|lights?)\b|\bkilling it\b|\bkiller (?:deal|price|app|feature|view)s?\b", re.I)
_OFFENSIVE = re.compile(
    r"\b(?:idiot|idiotic|moron|moronic|stupid|dumb|dumbass|imbecile|loser|shut up|"
    r"crap|crappy|damn|dammit|hell|shit|shitty|fuck|fucking|bitch|bastard|asshole|jerk|"
    r"screw you|piss off|pathetic)\b", re.I)
_DISPARAGING = re.compile(
    r"\b(?:worse|worst|terrible|awful|horrible|bad|lousy|junk|junky|garbage|trash|rubbish|"
    r"scam|scammers|rip[- ]?off|crooks?|shady|useless|joke|sucks?|inferior|cheap knock-?offs?|"
    r"knock-?offs?|unreliable|overpriced|never (?:buy|use|trust)|avoid|dishonest|liars?|"
    r"clowns?|amateurs?|falls? apart|don'?t bother)\b", re.I)


def _aliases(competitor: str) -> list[str]:
    first = competitor.split()[0]
    return [competitor] + ([first] if len(first) > 3 and first != competitor else [])


def classify_company_policy(text: str, competitors: Sequence[str] = (
        *TELECOM_COMPETITORS, *SHOP_COMPETITORS)) -> tuple[str, str]:
    """``(category, rationale)`` for ``text``: VIOLENCE, OFFENSIVE, OFF_BRAND or NONE.

    Keyword rules, checked in that order; OFF_BRAND needs a competitor's name and a
    disparaging word in the same sentence.
    """
    clean = " ".join(str(text).replace("’", "'").split())
    hit = _VIOLENCE.search(_VIOLENCE_BENIGN.sub(" ", clean))
    if hit:
        return "VIOLENCE", f"mentions violence ({hit.group(0)!r})"
    hit = _OFFENSIVE.search(clean)
    if hit:
        return "OFFENSIVE", f"uses offensive or insulting language ({hit.group(0)!r})"
    for sentence in re.split(r"(?<=[.!?])\s+", clean):
        for competitor in competitors:
            named = next((a for a in _aliases(competitor) if re.search(
                rf"\b{re.escape(a)}\b", sentence, re.I)), None)
            bad = _DISPARAGING.search(sentence) if named else None
            if bad:
                return "OFF_BRAND", (f"disparages competitor {competitor} ({bad.group(0)!r}); "
                                     "talk about our own products instead")
    return "NONE", "within company policy"


def company_policy_guardrail(competitors: Sequence[str] = (*TELECOM_COMPETITORS,
                                                           *SHOP_COMPETITORS), *,
                             name: str = "company_policy",
                             fail_closed: bool = False) -> OutputGuardrail:
    """An output guardrail that trips on OFFENSIVE, OFF_BRAND or VIOLENCE text.

    Deterministic and local (no model call), so it never errors in practice; ``fail_closed``
    still decides what an error would mean.
    """
    listed = tuple(competitors)

    def check(text: str) -> GuardrailResult:
        category, rationale = classify_company_policy(text, listed)
        return GuardrailResult(name, category != "NONE", category, rationale, text)

    return output_guardrail(check, name=name, fail_closed=fail_closed)
