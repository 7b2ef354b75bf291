"""A local, deterministic text moderation classifier for ``POST /v1/moderations``.

Small hand-written lexicons and word-bounded regexes per OpenAI moderation category.
Common idioms ("kill the process", "shoot me an email", "a steal", "dying to know") are
removed before matching. A category's score is the noisy-OR of its matched pattern
weights; it is flagged at 0.5. This is a keyword screen, not a model: it misses paraphrase
and context, and it contains no slurs.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
              "illicit/violent", "self-harm", "self-harm/intent", "self-harm/instructions",
              "sexual", "sexual/minors", "violence", "violence/graphic")
THRESHOLD = 0.5
FLOOR = 1e-5

_PEOPLE = (r"(?:you|u|him|her|them|everyone|everybody|someone|somebody|people|"
           r"my (?:wife|husband|boss|neighbou?r|teacher|mom|mother|dad|father|brother|sister|"
           r"ex|family|kids?|son|daughter|friend|classmates?|coworkers?)|the (?:president|teacher|"
           r"police|cops?|judge|kids?|children)|kids|children|cops|all of (?:you|them))")
_GROUPS = (r"(?:jews|jewish people|muslims|christians|hindus|sikhs|buddhists|atheists|black people|"
           r"blacks|white people|whites|asians|asian people|arabs|latinos|hispanics|mexicans|"
           r"immigrants|refugees|gays|gay people|lesbians|trans people|transgender people|"
           r"homosexuals|women|disabled people|the disabled|gypsies|roma|africans|chinese people|"
           r"indians|natives)")
_KILL = r"(?:kill|murder|stab|shoot|strangle|choke|behead|slaughter|butcher|hang|lynch|torture|" \
        r"assassinate|execute|massacre|burn|exterminate|eradicate|gas|wipe out)"
_SEX = (r"(?:porn\w*|sex|sexual(?:ly)?|nudes?|naked|nsfw|blowjobs?|orgasms?|erotic|xxx|horny|"
        r"masturbat\w*|sexting|genitals?|penis|vagina|boobs|tits|dick pics?|handjobs?|"
        r"intercourse|onlyfans)")
_MINOR = (r"(?:child|children|kids?|minors?|underage|under-age|preteens?|pre-teens?|toddlers?|"
          r"little (?:girls?|boys?)|schoolgirls?|schoolboys?|(?:[1-9]|1[0-7])[- ]?(?:years?|yrs?)"
          r"[- ]?old|young teens?|jailbait)")

#: Idioms that look violent or illicit but are not; removed before matching.
_BENIGN = re.compile("|".join((
    r"\bkill(?:s|ed|ing)?\s+(?:the\s+|this\s+|that\s+|a\s+|my\s+|all\s+|your\s+)?(?:process(?:es)?|"
    r"tasks?|jobs?|apps?|application|programs?|server|pid|threads?|containers?|sessions?|tabs?|"
    r"lights?|engine|music|noise|power|switch|time|the mood|bugs?|weeds?|germs?|bacteria|"
    r"mosquitos?|mosquitoes|flies|batteries|battery)\b",
    r"\bkilling it\b", r"\bkiller\s+(?:app|feature|deal|idea|view|workout|look|song|tune|"
    r"whales?|instinct|bees?)\b", r"\b(?:to die for|die hard)\b",
    r"\bdying\s+(?:to|for)\s+\w+", r"\bdying\s+(?:of\s+)?laugh\w*", r"\bdead\s*(?:line|lock|end|"
    r"tired|serious|on|set|beat)\b", r"\bdrop dead gorgeous\b",
    r"\bshoot(?:s|ing)?\s+(?:me\s+|us\s+|them\s+|him\s+|her\s+)?(?:an?\s+)?(?:email|e-mail|"
    r"message|text|note|line|dm|quick|reply|question|video|photos?|pictures?|films?|scenes?|"
    r"hoops|the breeze|for the stars|pool)\b", r"\bphoto\s*shoots?\b",
    r"\b(?:a|real|total|such a|absolute)\s+steal\b", r"\bsteal(?:s|ing)?\s+(?:the show|a glance|"
    r"a look|the spotlight|a kiss|bases?|the scene)\b",
    r"\bexecut(?:e|es|ed|ing)\s+(?:the|a|an|this|that|my|our|your)?\s*(?:script|command|query|"
    r"code|program|plan|order|trade|function|task|job|strategy|tests?|step)\w*",
    r"\b(?:murder (?:mystery|mysteries|board)|flu shot|booster shot|shot of espresso|"
    r"break a leg|blow(?:ing)? up my phone|bombed (?:the|my|that) (?:test|exam|interview|"
    r"audition)|the bomb|da bomb|photo bomb\w*|hang (?:out|on|up)|crush(?:ing)? (?:it|on))\b",
    r"\b(?:cut|cutting)\s+(?:myself\s+)?(?:a|the)\s+(?:slice|piece|deal|check)\b",
    r"\bkill\s+for\s+(?:a|an|some)\s+\w+", r"\bsex\s+(?:education|ed|offender registry)\b",
    r"\bgas\s+(?:station|prices?|bill|stove|tank|mileage)\b",
)), re.I)

_RULES: dict[str, list[tuple[str, float]]] = {
    "harassment": [
        (r"\byou(?:'re| are|r)?\s+(?:such\s+)?(?:an?\s+)?(?:stupid\s+|fucking\s+|worthless\s+|"
         r"pathetic\s+)*(?:idiot|moron|imbecile|loser|pathetic|worthless|ugly|dumb|stupid|"
         r"retard\w*|scum|trash|garbage|waste of space|piece of (?:shit|garbage|trash|crap))\b",
         0.85),
        (r"\b(?:fuck|screw)\s+(?:you|u|off)\b|\bstfu\b|\bshut\s+(?:the\s+fuck\s+)?up\b", 0.7),
        (r"\b(?:nobody|no one)\s+(?:likes|loves|cares about)\s+you\b|\byou\s+suck\b|"
         r"\bgo\s+to\s+hell\b|\bkill\s+yourself\b|\bkys\b", 0.75),
        (r"\b(?:idiot|moron|loser|bitch|asshole|bastard|dumbass|jerk)s?\b", 0.35),
    ],
    "harassment/threatening": [
        (rf"\b(?:i|we)(?:'m| am|'re| are)?\s+(?:going to|gonna|will|'ll|want to|wanna)\s+"
         rf"(?:\w+\s+)?(?:{_KILL}|hurt|beat|find|rape|destroy|end)\s+(?:you|u)\b", 0.9),
        (r"\byou(?:'re| are)\s+(?:dead|going to die|gonna die|next)\b|\bwatch your back\b|"
         r"\bi know where you live\b|\byou will (?:die|pay|regret)\b|\bkill\s+yourself\b", 0.85),
    ],
    "hate": [
        (rf"\b(?:all|those|these|the|most)?\s*{_GROUPS}\s+(?:are|is)\s+(?:all\s+)?(?:vermin|"
         r"animals|subhuman|inferior|disgusting|scum|parasites|a disease|a plague|evil|filth|"
         r"cockroaches|rats|savages|not human|trash|worthless)\b", 0.9),
        (rf"\bi\s+(?:hate|despise|loathe)\s+(?:all\s+)?{_GROUPS}\b", 0.85),
        (r"\b(?:subhuman|untermensch|master race|white power|ethnic cleansing|race traitors?|"
         r"go back to your (?:own )?country)\b", 0.7),
    ],
    "hate/threatening": [
        (rf"\b{_KILL}\s+(?:all\s+)?(?:the\s+|those\s+|these\s+)?{_GROUPS}\b", 0.9),
        (rf"\b{_GROUPS}\s+(?:should|must|deserve to|need to|ought to)\s+(?:all\s+)?(?:die|be "
         r"(?:killed|exterminated|shot|gassed|hanged|burned|wiped out|eliminated))\b", 0.9),
    ],
    "illicit": [
        (r"\bhow\s+(?:do|can|could|would|to)\s+(?:i|we|you|one)?\s*(?:make|cook|brew|grow|"
         r"synthesi[sz]e|buy|get|sell|smuggle|produce)\s+(?:some\s+)?(?:meth|methamphetamine|"
         r"cocaine|crack|heroin|fentanyl|lsd|mdma|ecstasy|illegal drugs|drugs)\b", 0.9),
        (r"\b(?:launder(?:ing)?\s+(?:the\s+)?money|money\s+laundering|counterfeit\s+(?:money|"
         r"bills|cash|currency)|credit\s+card\s+fraud|identity\s+theft|tax\s+evasion|"
         r"evade\s+(?:my\s+)?taxes|fake\s+(?:id|ids|passports?)|phishing\s+(?:emails?|sites?|"
         r"kits?|pages?))\b", 0.75),
        (r"\b(?:hack|break)\s+into\s+(?:someone'?s|somebody'?s|my\s+\w+'?s|his|her|their|a|an|"
         r"the)\s+(?:\w+\s+)?(?:account|email|phone|computer|bank|network|wifi)\b", 0.8),
        (r"\b(?:steal|shoplift)\w*\s+(?:a\s+|an\s+|some\s+|someone'?s\s+|from\s+)?(?:cars?|"
         r"identity|identities|credit\s+cards?|money|wallets?|purses?|stores?|shops?|people|"
         r"packages?|bikes?|phones?)\b|\bshoplift\w*\b|\bhotwire\s+a\s+car\b", 0.75),
        (r"\b(?:without\s+getting\s+caught|untraceable|avoid\s+the\s+police|dark\s*web)\b", 0.3),
    ],
    "illicit/violent": [
        (r"\b(?:make|build|assemble|create|construct)\w*\s+(?:a\s+|an\s+|my\s+own\s+)?(?:pipe\s+)?"
         r"(?:bomb|explosive|ied|molotov(?:\s+cocktail)?|grenade|ghost\s+gun|silencer)s?\b", 0.9),
        (r"\b(?:hire|find)\s+(?:a\s+)?(?:hitman|hit\s+man|contract\s+killer|assassin)\b|"
         r"\bhow\s+(?:do|can|to)\s+(?:i\s+)?poison\s+(?:someone|somebody|my|him|her|them)\b|"
         r"\bbuy\s+(?:a\s+)?gun\s+without\s+(?:a\s+)?background\s+check\b", 0.9),
    ],
    "self-harm": [
        (r"\b(?:kill(?:ing)?\s+myself|end(?:ing)?\s+my\s+(?:own\s+)?life|suicid\w*|self[- ]harm\w*|"
         r"cut(?:ting)?\s+myself|hurt(?:ing)?\s+myself|starv(?:e|ing)\s+myself|take\s+my\s+own\s+"
         r"life|want\s+to\s+die|better\s+off\s+dead|no\s+reason\s+to\s+live|end\s+it\s+all)\b",
         0.8),
        (r"\b(?:overdos\w*|od\s+on)\b", 0.45),
    ],
    "self-harm/intent": [
        (r"\bi(?:'m| am)?\s+(?:want|wanna|going|gonna|plan(?:ning)?|intend|about|ready|"
         r"thinking\s+about|decided)\s*(?:to\s+)?(?:kill\s+myself|end\s+(?:it\s+all|my\s+life)|"
         r"die|hurt\s+myself|cut\s+myself|commit\s+suicide|overdose|jump\s+off)\b", 0.9),
        (r"\bi(?:'ll| will)\s+(?:kill\s+myself|end\s+(?:it\s+all|my\s+life))\b|\bi\s+don'?t\s+"
         r"want\s+to\s+(?:live|be\s+alive)\b|\bi\s+want\s+to\s+die\b", 0.9),
    ],
    "self-harm/instructions": [
        (r"\bhow\s+(?:do|can|could|should|to)\s+(?:i\s+)?(?:kill\s+myself|commit\s+suicide|"
         r"cut\s+myself|hang\s+myself|overdose|end\s+my\s+life)\b", 0.9),
        (r"\b(?:best|easiest|quickest|fastest|painless|least\s+painful)\s+(?:way|ways|method|"
         r"methods)\s+to\s+(?:die|kill\s+myself|commit\s+suicide|end\s+my\s+life|overdose)\b",
         0.9),
        (r"\bhow\s+many\s+(?:pills|tablets|sleeping\s+pills)\s+(?:to|would|does\s+it\s+take\s+to)"
         r"\s+(?:die|overdose|kill)\b", 0.85),
    ],
    "sexual": [
        (rf"\b(?:have|having|had)\s+sex\b|\bsend\s+(?:me\s+)?nudes\b|\b{_SEX}\b", 0.6),
        (r"\b(?:sexy|seduce|kinky|fetish|strip\s*tease|make\s+out)\b", 0.3),
    ],
    "sexual/minors": [],
    "violence": [
        (rf"\b(?:i|we)(?:'m| am|'re| are)?\s*(?:going to|gonna|will|'ll|want to|wanna)\s+"
         rf"(?:\w+\s+)?{_KILL}\s+{_PEOPLE}\b", 0.9),
        (rf"\b{_KILL}(?:ed|ing|s)?\s+{_PEOPLE}\b", 0.65),
        (r"\b(?:mass\s+shooting|terror(?:ist)?\s+attack|bomb(?:ing)?\s+(?:the|a)\s+\w+|"
         r"school\s+shooting|blow\s+up\s+(?:the|a)\s+(?:building|school|car|plane|train)|"
         r"beat\s+(?:him|her|them|you)\s+(?:up|to\s+death)|stab(?:bed|bing)?\s+\w+)\b", 0.7),
        (r"\b(?:murder|massacre|assault|torture|genocide|slaughter)\w*\b", 0.35),
    ],
    "violence/graphic": [
        (r"\b(?:gore|gory|disembowel\w*|dismember\w*|decapitat\w*|mutilat\w*|entrails|"
         r"eviscerat\w*|severed\s+(?:head|limbs?|arm|leg|hand)|blood\s+(?:everywhere|spurting|"
         r"gushing|splatter\w*)|guts\s+(?:spilled|everywhere)|brains?\s+(?:splattered|blown\s+out)|"
         r"skull\s+(?:crushed|caved)|flayed)\b", 0.85),
    ],
}
_COMPILED = {c: [(re.compile(p, re.I), w) for p, w in rules] for c, rules in _RULES.items()}
_PARENT = {"harassment/threatening": "harassment", "hate/threatening": "hate",
           "illicit/violent": "illicit", "self-harm/intent": "self-harm",
           "self-harm/instructions": "self-harm", "sexual/minors": "sexual",
           "violence/graphic": "violence"}


@dataclass(frozen=True)
class ModerationResult:
    """One input's verdict, in OpenAI's category names."""

    flagged: bool
    categories: dict[str, bool] = field(default_factory=dict)
    category_scores: dict[str, float] = field(default_factory=dict)


def _noisy_or(weights: list[float]) -> float:
    p = 1.0
    for w in weights:
        p *= 1.0 - w
    return 1.0 - p


def classify(text: str) -> ModerationResult:
    """Score ``text`` on every category (scores in [0, 1]; flagged at 0.5)."""
    clean = _BENIGN.sub(" ", " ".join(str(text).replace("’", "'").split()))
    scores = {c: _noisy_or([w for pat, w in _COMPILED[c] if pat.search(clean)])
              for c in CATEGORIES}
    sexual_hits = re.search(rf"\b{_SEX}\b|\b(?:have|having)\s+sex\b", clean, re.I)
    if sexual_hits and re.search(rf"\b{_MINOR}\b", clean, re.I):
        scores["sexual/minors"] = 0.95
    scores["violence"] = max(scores["violence"], 0.9 * scores["harassment/threatening"],
                             0.9 * scores["hate/threatening"], 0.8 * scores["illicit/violent"])
    for child, parent in _PARENT.items():
        scores[parent] = max(scores[parent], scores[child])
    scores = {c: round(min(1.0, max(FLOOR, s)), 6) for c, s in scores.items()}
    categories = {c: s >= THRESHOLD for c, s in scores.items()}
    return ModerationResult(any(categories.values()), categories, scores)


def moderation_response(inputs: str | list[str], model: str) -> dict:
    """The OpenAI ``POST /v1/moderations`` response body for ``inputs``."""
    texts = [inputs] if isinstance(inputs, str) else list(inputs)
    digest = hashlib.sha256(json.dumps([model, texts]).encode()).hexdigest()[:24]
    results = []
    for text in texts:
        r = classify(text)
        results.append({"flagged": r.flagged, "categories": dict(r.categories),
                        "category_scores": dict(r.category_scores),
                        "category_applied_input_types": {c: ["text"] for c in CATEGORIES}})
    return {"id": f"modr-{digest}", "model": model, "results": results}
