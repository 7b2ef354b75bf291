"""Argument values from the user's words: numbers, phones, dates, emails, ids, places, names.

Everything here is pure and deterministic. Text from ASR is lower-case and spells
numbers out ("five five five", "nineteen ninety"), so :func:`normalize_numbers`
first rewrites number words as digits; the finders then work on that view.
"""

from __future__ import annotations

import re
from datetime import date


def word_list(text: str, sep: str | None = None) -> list[str]:
    """Split a compact data string into a list."""
    return text.split(sep)


_UNITS = {w: i for i, w in enumerate(word_list(
    "zero one two three four five six seven eight nine"))}
_TEENS = {w: i + 10 for i, w in enumerate(
    word_list("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"))}
_TENS = {w: (i + 2) * 10 for i, w in enumerate(
    word_list("twenty thirty forty fifty sixty seventy eighty ninety"))}
_TENS["fourty"] = 40
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ORDINALS = {w: i + 1 for i, w in enumerate(
    word_list("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
              "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"))}
_ORDINALS.update(twentieth=20, thirtieth=30)
_ZERO = {"oh", "o"}
_CORE = [*_UNITS, *_TEENS, *_TENS, *_SCALES, *_ORDINALS, "double", "triple"]
_ANY = _CORE + ["and", *_ZERO]


def _alt(words: list[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_RUN = re.compile(rf"\b(?:{_alt(_CORE)})\b(?:[\s,-]+(?:{_alt(_ANY)})\b(?!'))*", re.I)
_NUMBERISH = set(_UNITS) | set(_TEENS) | set(_TENS) | set(_SCALES)

MONTHS = {m: i + 1 for i, m in enumerate(word_list(
    "january february march april may june july august september october november december"))}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())}, sept=9)
_MONTH_RE = _alt(list(MONTHS))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _convert_run(words: list[str]) -> str:
    """Number words → digits. Restarting numbers concatenate: "nineteen ninety" → 1990."""
    out: list[str] = []
    pieces: list[str] = []
    total, cur, last = 0, None, ""

    def close() -> None:
        nonlocal total, cur, last
        if cur is not None or total:
            pieces.append(str(total + (cur or 0)))
        total, cur, last = 0, None, ""

    def flush() -> None:
        close()
        if pieces:
            out.append("".join(pieces))
            pieces.clear()

    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in ("double", "triple"):
            if nxt in _UNITS or nxt in _ZERO:
                close()
                pieces.append(str(_UNITS.get(nxt, 0)) * (2 if w == "double" else 3))
                i += 2
                continue
            flush()
            out.append(w)
        elif w in _ZERO:
            if pieces or cur is not None or total:
                close()
                pieces.append("0")
            else:
                out.append(w)
        elif w == "and":
            if last not in ("hundred", "scale") or nxt not in _NUMBERISH:
                flush()
                out.append(w)
        elif w in _ORDINALS:
            n = _ORDINALS[w]
            if last == "tens" and cur is not None and n < 10:
                n += total + cur
                total, cur, last = 0, None, ""
            flush()
            out.append(_ordinal(n))
        elif w in _UNITS or w in _TEENS or w in _TENS:
            v = _UNITS.get(w, _TEENS.get(w, _TENS.get(w, 0)))
            kind = "unit" if w in _UNITS else "teen" if w in _TEENS else "tens"
            joins = cur is None or last == "hundred" or (last == "tens" and kind == "unit")
            if not joins:
                close()
            cur = (cur or 0) + v
            last = kind
        elif w == "hundred":
            if cur is not None and cur < 100 and last in ("unit", "teen"):
                cur *= 100
            else:
                close()
                cur = 100
            last = "hundred"
        else:  # thousand / million
            if last == "scale":
                close()
            total += (cur if cur is not None else 1) * _SCALES[w]
            cur, last = None, "scale"
        i += 1
    flush()
    return " ".join(out)


def normalize_numbers(text: str, min_digits: int = 1) -> str:
    """Rewrite spelled-out numbers and ordinals as digits ("twenty third" → "23rd").

    With ``min_digits``, only runs that yield a number that long are rewritten."""
    def convert(m: re.Match) -> str:
        out = _convert_run(re.split(r"[\s,-]+", m.group(0).lower()))
        longest = max((len(t) for t in re.findall(r"\d+", out)), default=0)
        return out if longest >= min_digits else m.group(0)

    if min_digits <= 1:
        text = re.sub(r"\ba (?=hundred|thousand)", "one ", text, flags=re.I)
    return _RUN.sub(convert, text)


def split_identifier(name: str) -> list[str]:
    """``getNextResponse`` / ``phone_number`` / ``last4Digits`` → lower-case words."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)
    name = re.sub(r"([A-Za-z])(\d)|(\d)([A-Za-z])", r"\1\3 \2\4", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", name.lower()) if w]


# -- numbers -------------------------------------------------------------------------------

_NUM = re.compile(r"(?<![\w.-])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\w)|(?<![\w.-])\d+(?:\.\d+)?(?!\w)")


def find_numbers(text: str) -> list[tuple[float | int, int, int]]:
    """Numbers (digits or words) as ``(value, start, end)`` in the normalised text."""
    found = []
    for m in _NUM.finditer(text):
        s = m.group(0).replace(",", "")
        found.append((float(s) if "." in s else int(s), m.start(), m.end()))
    return found


# -- phones, emails, digits ------------------------------------------------------------------

_PHONE = re.compile(r"(?<![\w/])\+?\(?\d[\d\s().-]{7,}\d(?![\w/])")


def find_phone(text: str) -> str | None:
    """The first run of 10–15 digits (spaces, dashes and brackets allowed), as digits."""
    for m in _PHONE.finditer(normalize_numbers(text)):
        digits = re.sub(r"\D", "", m.group(0))
        if 10 <= len(digits) <= 15:
            return digits
    return None


def format_like(example: str, digits: str) -> str:
    """Lay ``digits`` out like ``example`` ("(111) 222-3333")."""
    it = iter(digits)
    return "".join(next(it) if c.isdigit() else c for c in example)


def _fits(pattern: str | None, value: str) -> bool:
    try:
        return bool(pattern) and re.search(pattern, value) is not None
    except re.error:
        return False


def format_phone(digits: str, pattern: str | None = None, description: str = "") -> str:
    """Format per the schema ``pattern``, else like an example in ``description``."""
    national = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    forms = [digits, national]
    if len(national) == 10:
        a, b, c = national[:3], national[3:6], national[6:]
        forms += [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"+1{national}", f"{a} {b} {c}",
                  f"{a}.{b}.{c}", f"+1 {a}-{b}-{c}", f"+1 ({a}) {b}-{c}", f"+1 {a} {b} {c}"]
    if pattern:
        for form in forms:
            if _fits(pattern, form):
                return form
    for m in re.finditer(r"\+?\(?\d[\d\s().-]{6,}\d", description):
        n = sum(ch.isdigit() for ch in m.group(0))
        for d in (digits, national):
            if n == len(d):
                return format_like(m.group(0), d)
    return digits


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPOKEN_EMAIL = re.compile(
    r"\b([a-z0-9]+(?:(?:\s+dot\s+|\s+underscore\s+|[._])[a-z0-9]+)*)\s+at\s+"
    r"([a-z0-9-]+(?:(?:\s+dot\s+|\.)[a-z0-9-]+)+)\b")


def find_email(text: str) -> str | None:
    """A typed address, or a spoken one: "john dot doe at example dot com"."""
    m = _EMAIL.search(text)
    if m:
        return m.group(0).strip(".").lower()
    low = text.lower()
    for m in _SPOKEN_EMAIL.finditer(low):
        local = re.sub(r"\s+dot\s+", ".", m.group(1))
        local = re.sub(r"\s+underscore\s+", "_", local)
        domain = re.sub(r"\s+dot\s+", ".", m.group(2))
        if re.fullmatch(r"[a-z]{2,6}", domain.rsplit(".", 1)[-1]):
            return f"{local}@{domain}"
    return None


def find_last4(text: str) -> str | None:
    """Four digits after "last four" / "ending in", else a lone four-digit number."""
    norm = normalize_numbers(text)
    cue = re.search(r"\b(?:last\s+(?:4|four)|ending\s+(?:in|with)|ends?\s+(?:in|with))"
                    r"\D{0,40}?(?<!\d)(\d{4})(?!\d)", norm, re.I)
    if cue:
        return cue.group(1)
    if find_date(text) or find_phone(text):
        return None
    alone = re.findall(r"(?<![\d\w-])(\d{4})(?![\d\w-])", norm)
    return alone[0] if len(alone) == 1 else None


def find_zip(text: str) -> str | None:
    """A five-digit zip (optionally +4), preferring one after "zip"/"postal"."""
    norm = normalize_numbers(text)
    cue = re.search(r"\b(?:zip|postal)(?:\s*code)?\D{0,20}?(\d{5}(?:-\d{4})?)(?!\d)", norm, re.I)
    if cue:
        return cue.group(1)
    alone = re.findall(r"(?<![\d\w-])(\d{5}(?:-\d{4})?)(?![\d\w])", norm)
    return alone[0] if len(alone) == 1 else None


# -- dates ------------------------------------------------------------------------------------


def _year(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        return 2000 + n if n <= 30 else 1900 + n
    return n


def _date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d) if 1000 <= y <= 2999 else None
    except ValueError:
        return None


def find_date(text: str) -> date | None:
    """A full date: "1990-03-03", "3/3/1990", "March 3rd, 1990", "the third of march nineteen
    ninety". Numeric dates are read month first unless the first number exceeds 12."""
    norm = normalize_numbers(text).lower()
    m = re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", norm)
    if m:
        return _date(int(m[1]), int(m[2]), int(m[3]))
    m = re.search(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b", norm)
    if m:
        a, b, y = int(m[1]), int(m[2]), _year(m[3])
        return _date(y, a, b) if a <= 12 else _date(y, b, a)
    day = r"(\d{1,2})(?:st|nd|rd|th)?"
    m = re.search(rf"\b({_MONTH_RE})\.?\s+(?:the\s+)?{day},?\s+(?:of\s+)?(\d{{4}})\b", norm)
    if m:
        return _date(int(m[3]), MONTHS[m[1]], int(m[2]))
    m = re.search(rf"\b{day}\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+(?:of\s+)?(\d{{4}})\b", norm)
    if m:
        return _date(int(m[3]), MONTHS[m[2]], int(m[1]))
    return None


def format_date(d: date, pattern: str | None = None, description: str = "") -> str:
    """ISO by default; follows a ``MM/DD/YYYY``-style hint in the description or pattern."""
    forms = {"YYYY-MM-DD": d.isoformat(), "MM/DD/YYYY": d.strftime("%m/%d/%Y"),
             "DD/MM/YYYY": d.strftime("%d/%m/%Y"), "MM-DD-YYYY": d.strftime("%m-%d-%Y"),
             "DD-MM-YYYY": d.strftime("%d-%m-%Y"), "YYYY/MM/DD": d.strftime("%Y/%m/%d"),
             "DD.MM.YYYY": d.strftime("%d.%m.%Y")}
    if pattern and not _fits(pattern, forms["YYYY-MM-DD"]):
        for form in forms.values():
            if _fits(pattern, form):
                return form
    hint = re.search(r"\b(YYYY|MM|DD)([-/.])(YYYY|MM|DD)\2(YYYY|MM|DD)\b", description, re.I)
    if hint:
        a, sep, b, c = hint.groups()
        key = f"{a}{sep}{b}{sep}{c}".upper()
        for name, form in forms.items():
            if name == key:
                return form
    return forms["YYYY-MM-DD"]


# -- ids ---------------------------------------------------------------------------------------

ID_CUES = ("order", "item", "product", "ticket", "case", "reference", "confirmation", "account",
           "booking", "reservation", "invoice", "tracking", "sku", "customer", "offer")
_SPELLED_ID = re.compile(r"\b((?:[a-z]\s+){1,5}[a-z])(\s+(?:dash|hyphen)\s+|\s*-\s*|\s+)(\d{2,})\b",
                         re.I)
_ALNUM_ID = re.compile(r"(?<![\w@.-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
                       r"(?![\w@-])")
_NOT_ID = re.compile(r"\d+(?:st|nd|rd|th|am|pm|s|k|m|km|kg|mb|gb|c|f|x|h|min|mph|g|lbs?)", re.I)


def _id_case(token: str) -> str:
    return token.upper() if token == token.lower() else token


def find_ids(text: str, cues: tuple[str, ...] = ()) -> list[str]:
    """Id-like tokens, best first: numbers after one of ``cues`` ("order 42"), then
    letter-digit tokens ("SNB-1234", spoken "s n b dash one two"), then generic cues."""
    norm = normalize_numbers(text)
    cue_re = r"\b({})s?\s+(?:(?:number|no\.?|num|id|#)\s*)?(?:is\s+)?#?\s*(\d{{1,12}})(?![\w-])"
    first: list[str] = []
    if cues:
        first = [m[2] for m in re.finditer(cue_re.format(_alt(list(cues))), norm, re.I)]
    tokens: list[tuple[int, str]] = []
    for m in _SPELLED_ID.finditer(norm):
        sep = "-" if re.search(r"dash|hyphen|-", m[2], re.I) else ""
        tokens.append((m.start(), m[1].replace(" ", "").upper() + sep + m[3]))
    spelled_spans = [m.span() for m in _SPELLED_ID.finditer(norm)]
    for m in _ALNUM_ID.finditer(norm):
        tok = m.group(0)
        if len(tok) < 3 or _NOT_ID.fullmatch(tok):
            continue
        if any(a <= m.start() < b for a, b in spelled_spans):
            continue
        tokens.append((m.start(), _id_case(tok)))
    tokens += [(m.start(), m[1]) for m in re.finditer(r"#\s*(\d+)\b", norm)]
    generic = [m[2] for m in re.finditer(cue_re.format(_alt(list(ID_CUES))), norm, re.I)]
    seen: list[str] = []
    for tok in first + [t for _, t in sorted(tokens)] + generic:
        if tok not in seen:
            seen.append(tok)
    return seen


# -- places and names ------------------------------------------------------------------------

CITIES = word_list(
    "New York,Los Angeles,Chicago,Houston,Phoenix,Philadelphia,San Antonio,San Diego,Dallas,"
    "San Jose,Austin,Seattle,Denver,Boston,Miami,Atlanta,Portland,Las Vegas,Detroit,Nashville,"
    "San Francisco,Washington,Baltimore,Minneapolis,New Orleans,Salt Lake City,Orlando,Honolulu,"
    "Toronto,Vancouver,Montreal,Ottawa,Calgary,Mexico City,Havana,Bogota,Lima,Santiago,"
    "Buenos Aires,Sao Paulo,Rio de Janeiro,London,Paris,Berlin,Madrid,Barcelona,Lisbon,Rome,"
    "Milan,Naples,Venice,Florence,Amsterdam,Brussels,Vienna,Zurich,Geneva,Munich,Hamburg,"
    "Frankfurt,Prague,Warsaw,Budapest,Copenhagen,Stockholm,Oslo,Helsinki,Dublin,Edinburgh,"
    "Manchester,Athens,Istanbul,Moscow,Kyiv,Cairo,Lagos,Nairobi,Johannesburg,Cape Town,"
    "Casablanca,Dubai,Abu Dhabi,Doha,Riyadh,Tel Aviv,Jerusalem,Tehran,Mumbai,Delhi,New Delhi,"
    "Bangalore,Chennai,Kolkata,Karachi,Lahore,Dhaka,Bangkok,Singapore,Kuala Lumpur,Jakarta,"
    "Manila,Hanoi,Ho Chi Minh City,Hong Kong,Shanghai,Beijing,Shenzhen,Taipei,Seoul,Tokyo,"
    "Osaka,Kyoto,Sydney,Melbourne,Brisbane,Perth,Auckland,Wellington,Reykjavik,Marseille,Lyon,"
    "Nice,Oxford,Cambridge,Seville,Valencia,Porto,Krakow,Tallinn,Riga,Vilnius,Sofia,Bucharest",
    ",")
REGIONS = word_list(
    "United States,USA,US,America,Canada,Mexico,Brazil,Argentina,Chile,Colombia,Peru,"
    "United Kingdom,UK,England,Scotland,Wales,Ireland,France,Germany,Spain,Portugal,Italy,"
    "Netherlands,Belgium,Switzerland,Austria,Poland,Sweden,Norway,Denmark,Finland,Greece,"
    "Turkey,Russia,Ukraine,Egypt,Nigeria,Kenya,South Africa,Morocco,Israel,India,Pakistan,China,"
    "Japan,Korea,South Korea,Taiwan,Vietnam,Thailand,Indonesia,Philippines,Malaysia,Australia,"
    "New Zealand,Europe,Asia,Africa,North America,South America,Alabama,Alaska,Arizona,"
    "Arkansas,California,Colorado,Connecticut,Delaware,Florida,Georgia,Hawaii,Idaho,Illinois,"
    "Indiana,Iowa,Kansas,Kentucky,Louisiana,Maine,Maryland,Massachusetts,Michigan,Minnesota,"
    "Mississippi,Missouri,Montana,Nebraska,Nevada,New Hampshire,New Jersey,New Mexico,"
    "North Carolina,North Dakota,Ohio,Oklahoma,Oregon,Pennsylvania,Rhode Island,"
    "South Carolina,South Dakota,Tennessee,Texas,Utah,Vermont,Virginia,West Virginia,"
    "Wisconsin,Wyoming,Quebec,Ontario,British Columbia",
    ",")
_NOT_PLACE = {*(m.capitalize() for m in MONTHS), "Monday", "Tuesday", "Wednesday", "Thursday",
              "Friday", "Saturday", "Sunday", "I", "English", "Spanish", "French", "German",
              "The", "My", "A", "An", "It", "This", "That", "Today", "Tomorrow", "Fahrenheit",
              "Celsius", "Hi", "Hello", "Please", "Thanks", "Order", "Item", "Me", "Us"}


def _find_known(text: str, names: list[str]) -> tuple[int, str] | None:
    low = text.lower()
    best = None
    for name in sorted(names, key=len, reverse=True):
        flags = 0 if len(name) <= 3 and name.isupper() else re.I
        m = re.search(rf"\b{re.escape(name)}\b", text if flags == 0 else low, flags)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), name)
    return best


def find_place(text: str, kind: str = "city") -> str | None:
    """A city ("city") or a city/state/country ("region"), from a built-in list or a
    capitalised name after "in"/"for"/"at"/"to"/"from"/"near"."""
    lists = [CITIES] if kind == "city" else [REGIONS, CITIES]
    for names in lists:
        hit = _find_known(text, names)
        if hit:
            return hit[1]
    for m in re.finditer(r"\b(?:in|for|at|to|from|near)\s+((?:[A-Z][\w'.-]+)(?:\s+[A-Z][\w'.-]+)"
                         r"{0,2})", text):
        words = [w for w in m.group(1).split() if w not in _NOT_PLACE]
        if words and words[0] == m.group(1).split()[0]:
            return " ".join(words)
    return None


_COMMON = {"not", "just", "so", "very", "really", "calling", "looking", "trying", "going", "here",
           "wondering", "interested", "sorry", "fine", "good", "okay", "ok", "and", "the", "a",
           "an", "from", "with", "at", "in", "on", "to", "my", "your", "is", "am", "i", "it",
           "having", "wanting", "ready", "done", "back", "new", "sure"}


def find_name(text: str) -> str | None:
    """A person's name after "my name is", "call me", "name's", or a capitalised "I'm X"."""
    word = r"[A-Za-z][a-z'-]+"
    for cue, need_caps in ((r"my name is|my name's|name is|call me", False),
                           (r"this is|i'm|i am|it's", True)):
        for m in re.finditer(rf"\b(?:{cue})\s+({word})(?:\s+({word}))?", text, re.I):
            first, second = m.group(1), m.group(2)
            if first.lower() in _COMMON or (need_caps and not first[0].isupper()):
                continue
            parts = [first]
            if second and second.lower() not in _COMMON and (
                    not need_caps or second[0].isupper()) and second.lower() not in (
                    "and", "but", "my", "here", "calling", "please"):
                parts.append(second)
            return " ".join(p[0].upper() + p[1:] for p in parts)
    return None


def find_bool(text: str, words: list[str] | None = None) -> bool | None:
    """yes/no, or whether the parameter's words are mentioned with or without a negation."""
    low = text.lower()
    if words:
        key = r"\s+".join(re.escape(w) for w in words)
        m = re.search(rf"(\b(?:no|not|don'?t|without|never)\b\W+(?:\w+\W+){{0,2}})?\b{key}", low)
        if m:
            return m.group(1) is None
    if re.search(r"\b(?:no|nope|nah|don'?t|do not|negative|not really|never mind)\b", low):
        return False
    if re.search(r"\b(?:yes|yeah|yep|yup|sure|correct|right|affirmative|please do|ok|okay|"
                 r"absolutely|definitely|of course)\b", low):
        return True
    return None


# -- words --------------------------------------------------------------------------------------


def stem(word: str) -> str:
    """A light suffix stripper: refunds/refunded/refunding → refund, charges → charg."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def words_of(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept inside words)."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


# -- filling a JSON schema ----------------------------------------------------------------------

FREE_TEXT = {"context", "question", "query", "topic", "message", "text", "request", "reason",
             "description", "details", "summary", "prompt", "input", "search", "keywords",
             "keyword", "note", "notes", "comment", "feedback", "problem", "issue", "content",
             "instruction", "instructions", "utterance", "transcript", "body", "subject",
             "explanation", "action", "intent", "concern", "complaint", "situation", "task"}
_ITEMISH = {"item", "product", "category", "type", "model", "kind", "brand", "color", "colour",
            "size", "style", "flavor", "plan", "service", "device", "genre", "cuisine"}
_PERSONAL = {"phone", "email", "last4", "zip", "date", "person", "address"}
_ENUM_SYNONYMS = {
    "credit card": ("card", "credit", "visa", "mastercard"), "ssn": ("social security", "social"),
    "accept": ("yes", "sure", "yeah", "ok"), "declin": ("no", "nope", "not interest"),
    "remind me later": ("later", "remind"), "celsius": ("centigrade", "metric"),
    "fahrenheit": ("imperial",), "apparel": ("cloth", "jacket", "pant", "shirt", "hoodie"),
    "snowboard": ("board",),
}
_GENERIC_ENUM = {"any", "all", "other", "none", "default", "unknown", "auto"}


def _kind_from(words: set[str]) -> str | None:
    if words & {"phone", "mobile", "cell", "telephone", "tel"}:
        return "phone"
    if words & {"email", "mail"}:
        return "email"
    if words & {"last4", "lastfour"} or ("last" in words and words & {"4", "four", "digit",
                                                                        "digits"}):
        return "last4"
    if words & {"zip", "postal", "postcode", "zipcode"}:
        return "zip"
    if words & {"dob", "birthday", "birthdate", "birth", "date"}:
        return "date"
    if words & {"city", "town"}:
        return "city"
    if words & {"location", "region", "country", "state", "place", "area", "destination"}:
        return "region"
    if words & {"address", "street"}:
        return "address"
    if words & {"id", "ids", "sku", "ref", "reference", "confirmation"} or (
            words & {"number", "no", "code", "num"} and words & set(ID_CUES)
            and "of" not in words):
        return "id"
    if words & {"name", "firstname", "lastname", "fullname", "surname"} and not words & (
            _ITEMISH | {"file", "tool", "agent", "company", "business", "store", "city"}):
        return "person"
    if words & {"topic", "keyword", "keywords", "search", "query", "term", "terms", "subject"}:
        return "topic"
    if words & FREE_TEXT:
        return "text"
    if words & _ITEMISH:
        return "item"
    return None


def param_kind(name: str, schema: dict) -> str:
    """What kind of value a parameter wants, from its type, name and description."""
    if "enum" in schema:
        return "enum"
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), None)
    if typ in ("boolean", "array", "object"):
        return {"boolean": "bool"}.get(typ, typ)
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "email":
        return "email"
    kind = _kind_from(set(split_identifier(name)))
    if typ in ("integer", "number") and kind not in ("phone", "zip", "last4", "id"):
        return "number"
    if kind:
        return kind
    first = re.split(r"(?<=[.!?])\s", schema.get("description") or "")[0]
    return _kind_from({stem(w) for w in words_of(first)} | set(words_of(first))) or "unknown"


def clean_utterance(text: str) -> str:
    """The user's words minus greetings and hesitations at the ends."""
    text = re.sub(r"^\s*(?:(?:hi|hello|hey|hiya|um+|uh+|er+|so|well|okay|ok|oh|yeah)\b[\s,.!]*)+",
                  "", text.strip(), flags=re.I)
    text = re.sub(r"[\s,]*\b(?:please|thanks|thank you)[.!]*\s*$", "", text, flags=re.I)
    return text.strip() or ""


_TOPIC_STOP = set(word_list(
    "a an the my your our their this that these those is are was what what's whats how do does "
    "can could would you i me we tell about please know want need like to of on for in any some "
    "there it its it's with and or info information details more is there"))


def topic_of(text: str) -> str:
    """The subject of an utterance: "what is your policy on roaming fees" → "roaming fees"."""
    text = clean_utterance(text).rstrip(" ?.!")
    m = re.search(r"\b(?:about|on|regarding|concerning|for)\s+((?:\S+\s*){1,6})$", text, re.I)
    source = m.group(1) if m else text
    words = [w for w in re.findall(r"[\w'-]+", source) if w.lower() not in _TOPIC_STOP]
    return " ".join(words[:6]) or text


def _examples(description: str) -> list[str]:
    out = []
    for m in re.finditer(r"(?:e\.g\.|for example|such as|like)[,:]?\s*([^.)]+)", description, re.I):
        for part in re.split(r",|\bor\b|\band\b", m.group(1)):
            part = part.strip(" '\"`")
            if 0 < len(part) <= 30:
                out.append(part)
    return out


def match_enum(values: list, text: str) -> object | None:
    """The enum value the text mentions (stems and a few synonyms count)."""
    toks = words_of(normalize_numbers(text))
    low = " " + " ".join(stem(w) for w in toks) + " "
    nums = {v for v, _, _ in find_numbers(normalize_numbers(text))}
    best: tuple[bool, int, int] | None = None
    choice = None
    for i, v in enumerate(values):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if v in nums:
                return v
            continue
        base = " ".join(stem(w) for w in split_identifier(str(v)))
        if not base:
            continue
        forms = [base, *(" ".join(stem(w) for w in s.split()) for s in _ENUM_SYNONYMS.get(base, ()))]
        for form in forms:
            pos = low.find(f" {form} ")
            if pos >= 0:
                key = (base in _GENERIC_ENUM, pos, i)
                if best is None or key < best:
                    best, choice = key, v
    return choice


def _near_number(text: str, words: list[str]) -> float | int | None:
    norm = normalize_numbers(text)
    nums = [n for n in find_numbers(norm) if len(str(n[0])) < 7]
    stems = {stem(w) for w in words}
    for value, start, end in nums:
        around = words_of(norm[max(0, start - 20):start])[-1:] + words_of(norm[end:end + 20])[:2]
        if stems & {stem(w) for w in around}:
            return value
    return nums[0][0] if nums else None


def _noun_after_det(text: str) -> str | None:
    skip = {"new", "old", "recent", "last", "broken", "damaged", "favorite", "own", "other",
            "first", "second", "same", "current", "whole", "little", "big", "small", "good"}
    for m in re.finditer(r"\b(?:my|the|a|an|this|these|those|some|our)\s+([a-z][\w-]*)"
                         r"(?:\s+([a-z][\w-]*))?", text.lower()):
        word = m.group(2) if m.group(1) in skip and m.group(2) else m.group(1)
        if word not in skip and len(word) > 2:
            return word
    return None


def extract(kind: str, name: str, schema: dict, text: str) -> object | None:
    """One value of ``kind`` for parameter ``name`` from one utterance, or None."""
    words = split_identifier(name)
    desc = schema.get("description") or ""
    pattern = schema.get("pattern")
    if kind == "enum":
        return match_enum(schema["enum"], text)
    if kind == "phone":
        digits = find_phone(text)
        return format_phone(digits, pattern, desc) if digits else None
    if kind == "email":
        return find_email(text)
    if kind == "last4":
        return find_last4(text)
    if kind == "zip":
        return find_zip(text)
    if kind == "date":
        d = find_date(text)
        return format_date(d, pattern, desc) if d else None
    if kind in ("city", "region"):
        return find_place(text, kind)
    if kind == "address":
        m = re.search(r"\b\d+\s+(?:[A-Za-z]+\s+){0,3}(?:street|st|avenue|ave|road|rd|boulevard|"
                      r"blvd|lane|ln|drive|dr|way|court|ct|place|pl|parkway)\b\.?",
                      normalize_numbers(text), re.I)
        return m.group(0).title() if m else None
    if kind == "person":
        full = find_name(text)
        if full and " " in full and "first" in words:
            return full.split()[0]
        if full and "last" in words:
            return full.split()[-1] if " " in full else None
        return full
    if kind == "id":
        cues = tuple(w for w in words if w not in ("id", "ids", "number", "no", "num", "code"))
        ids = find_ids(text, cues)
        return ids[0] if ids else None
    if kind == "number":
        return _near_number(text, words)
    if kind == "bool":
        return find_bool(text, [w for w in words if w not in ("is", "should", "do", "include")])
    if kind == "text":
        return clean_utterance(normalize_numbers(text, min_digits=4)) or None
    if kind == "topic":
        return topic_of(text) or None
    examples = _examples(desc)
    if examples:
        hit = match_enum(examples, text)
        if hit is not None:
            return hit
    if kind == "item":
        return _noun_after_det(text)
    key = r"\s+".join(map(re.escape, words))
    m = re.search(rf"\b{key}\s+(?:is|are|=|:|of)\s+([\w .'-]{{1,40}}?)(?:[.,;!?]|\s+and\b|$)",
                  text, re.I)
    return m.group(1).strip() if m else None


def values_for(name: str, schema: dict, text: str) -> list:
    """Every value for ``name`` in one utterance (for arrays and repeated calls)."""
    kind = param_kind(name, schema)
    if kind == "enum":
        return [v for v in schema["enum"] if match_enum([v], text) is not None]
    if kind == "id":
        words = split_identifier(name)
        return find_ids(text, tuple(w for w in words if w not in ("id", "ids", "number")))
    if kind in ("city", "region"):
        names = CITIES if kind == "city" else REGIONS + CITIES
        low = text.lower()
        hits = sorted((m.start(), n) for n in names
                      for m in re.finditer(rf"\b{re.escape(n.lower())}\b", low))
        out: list[str] = []
        for _, n in hits:
            if not any(n.lower() in o.lower() or o.lower() in n.lower() for o in out):
                out.append(n)
        return out
    value = extract(kind, name, schema, text)
    return [] if value is None else [value]


def _norm_key(name: str) -> str:
    return "".join(split_identifier(name))


def _coerce(value: object, schema: dict) -> object:
    typ = schema.get("type")
    try:
        if typ == "integer" and not isinstance(value, bool):
            return int(float(str(value)))
        if typ == "number" and not isinstance(value, bool):
            f = float(str(value))
            return int(f) if f.is_integer() else f
    except ValueError:
        return None
    if typ == "string" and not isinstance(value, str):
        return str(value)
    return value


def _from_prior(name: str, schema: dict, prior: list[dict]) -> object | None:
    key = _norm_key(name)
    if schema.get("type") == "array":
        single = _norm_key(re.sub(r"(?i)(ids|s)$", lambda m: m.group(0)[:-1], name))
        out: list = []
        for args in reversed(prior):
            for k, v in args.items():
                nk = _norm_key(k)
                vals = v if isinstance(v, list) else [v]
                if nk in (key, single):
                    out += [x for x in vals if x not in out]
        return out or None
    for args in prior:
        for k, v in args.items():
            if _norm_key(k) == key and v not in (None, "", []):
                return v
    return None


def fill_arguments(parameters: dict, texts: list[str], prior: list[dict] | None = None
                   ) -> tuple[dict, tuple[str, dict] | None]:
    """Fill a JSON schema from user utterances (newest first) and earlier call arguments
    (newest first). Returns the arguments and the first missing required parameter."""
    props = parameters.get("properties") or {}
    required = [r for r in parameters.get("required") or [] if r in props]
    args: dict = {}
    prior = prior or []
    for name, schema in props.items():
        if not isinstance(schema, dict):
            continue
        kind = param_kind(name, schema)
        value: object | None = None
        if kind == "object":
            sub, missing = fill_arguments(schema, texts, [
                a.get(name) for a in prior if isinstance(a.get(name), dict)])
            value = sub if sub and not missing else None
        elif kind == "array":
            items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
            sub_schema = {**items, "description": schema.get("description", "")}
            for text in texts[:1] if param_kind(name, sub_schema) == "text" else texts:
                vals = values_for(name, sub_schema, text)
                if vals:
                    value = [_coerce(v, items) for v in vals]
                    break
        else:
            scope = texts[:1] if kind in ("text", "topic", "bool") else texts
            for text in scope:
                value = extract(kind, name, schema, text)
                if value is not None:
                    break
        if value is None and kind not in ("text", "topic", "bool"):
            value = _from_prior(name, schema, prior)
        if value is None and name in required and "default" in schema:
            value = schema["default"]
        if value is None and name in required and len(schema.get("enum") or []) == 1:
            value = schema["enum"][0]
        if value is not None and kind not in ("object", "array"):
            value = _coerce(value, schema)
        if value is not None:
            args[name] = value
    missing = next((r for r in required if r not in args), None)
    return args, (missing, props[missing]) if missing else None


def _phrase(name: str) -> str:
    return " ".join("ID" if w in ("id", "ids") else w for w in split_identifier(name))


def ask_for(name: str, schema: dict) -> str:
    """One short question asking the user for a missing parameter."""
    kind = param_kind(name, schema)
    words = _phrase(name)
    desc = (schema.get("description") or "").lower()
    if kind == "enum" and 1 < len(schema["enum"]) <= 5:
        opts = [" ".join(split_identifier(str(v))) for v in schema["enum"]]
        return f"Which {words}: {', '.join(opts[:-1])} or {opts[-1]}?"
    fixed = {"phone": "What's your phone number?", "email": "What's your email address?",
             "zip": "What's your zip code?", "city": "Which city?", "address":
             "What's your address?", "text": "Could you tell me a bit more about what you need?",
             "topic": "What topic should I look up?"}
    if kind in fixed:
        return fixed[kind]
    if kind == "last4":
        of = " of your social security number" if "ssn" in desc + name.lower() or (
            "social" in desc) else " of your card" if "card" in desc else ""
        return f"What are the last four digits{of}?"
    if kind == "date" and ("birth" in words or "dob" in words or "birth" in desc):
        return "What's your date of birth?"
    if kind == "number":
        nouns = [w for w in split_identifier(name) if w not in ("num", "number", "of", "count")]
        if nouns and nouns[-1].endswith("s"):
            return f"How many {' '.join(nouns)}?"
    if kind in _PERSONAL:
        return f"What's your {words}?"
    first = re.split(r"(?<=[.!?])\s", schema.get("description") or "")[0].rstrip(".")
    first = re.sub(r"^(?:the\s+)?(?:user|customer)'s\s+", "your ", first, flags=re.I)
    first = re.sub(r"\btheir\b", "your", first).replace("(s)", "s")
    if first.lower().startswith("your ") and len(first.split()) <= 8:
        return f"What's {first}?"
    return f"Which {words}?" if kind in ("item", "region") else f"What's the {words}?"
