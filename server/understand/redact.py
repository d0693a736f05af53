"""PII redaction for ticket text, before it is stored for display, embedded or sent to an LLM.

``redact`` replaces:

================  ================================================================================
``[secret]``      PEM private keys; well-known key shapes (``sk-…``, ``sk_live_…``, ``ghp_…``,
                  ``github_pat_…``, ``xox[abposr]-…``, ``AKIA…``/``ASIA…``, ``AIza…``, ``glpat-…``,
                  JWTs ``eyJ….eyJ….…``); ``Bearer``/``Token`` followed by a 16+ character
                  credential with a digit; ``password: …``, ``pwd=…``, ``api_key: …``,
                  ``Authorization: Basic …`` (the label stays, the value goes).
``[url-secret]``  in any ``scheme://`` URL: the ``user:password@`` userinfo, and values of query or
                  fragment parameters named like a credential (``token``, ``access_token``,
                  ``api_key``, ``key``, ``secret``, ``password``, ``signature``, ``sig``, ``auth``,
                  ``code``, ``session``, ``X-Amz-Signature``, …). The rest of the URL stays.
``[email]``       e-mail addresses (RFC 5322 dot-atom local parts).
``[iban]``        IBANs of a registered country with that country's length, spaced or not, only
                  when the ISO 13616 mod-97 check passes. IBAN-shaped strings that fail it stay
                  untouched, and no later rule redacts parts of them.
``[card]``        13–19 digits, single spaces or dashes between groups, not starting with 0, only
                  when the Luhn check passes. A longer run of digits is left whole.
``[ip]``          valid IPv4 (four octets, not part of ``1.2.3.4.5``, not right after "version",
                  "build", "release", "firmware" or "rev") and valid IPv6 (``ipaddress`` decides).
``[phone]``       ``+CC …`` numbers with 8–15 digits; otherwise 10–15 digits grouped by spaces,
                  dashes, dots (dots only as 3.3.4) or ``(area)`` parentheses, or ungrouped right
                  after "phone", "call me at", "tel:", … Never dates, thousands groupings, serials
                  of 4-digit groups, or numbers right after "order", "invoice", "ticket", "ref",
                  "tracking", "account", "id", "serial", "isbn", ….
``[address]``     "221B Baker Street", "123 Main St., Apt 4" (number, one to four capitalised
                  words, a street suffix from a fixed list), "Hauptstraße 5", "Berliner Straße 12",
                  "12 rue de la Paix". A capitalised word that is not a suffix ("3 Main issues") is
                  no address.
================  ================================================================================

The rules run in this order: private keys, URL credentials, key shapes and bearer tokens, e-mails,
``password:`` phrases, IBANs, cards, IPs, phones, addresses; a placeholder shields its text from
the rules after it.

Redaction is idempotent: placeholders contain no digits, ``@`` or ``:``, so no rule matches them,
and all rules run again until a round changes nothing (a placeholder can free a neighbour that a
look-behind refused, as in ``a@x.com555-123-4567b@y.org``). It never raises on a string.

Speed: every pattern is compiled once, anchored by look-behinds so that no scan backtracks over
more than a bounded window, and skipped when a cheap test says it cannot match (no ``@``, no
``://``, no digit). Measured on the development machine (CPython 3.11): about 0.06 ms for 600
characters of prose and 0.5 ms for 5,000; 0.8 ms for 600 characters dense with personal data and
7 ms for 5,000 characters holding some 140 items; 100,000-character adversarial inputs stay under a
second (tests/understand/test_redact.py).

Why hand-written rules: no well-kept library does this offline for us. Presidio (maintained) needs
a spaCy language model of hundreds of megabytes, which this product does not download; scrubadub's
last release was in 2023 and its address and name detectors need the same NER models; the
``phonenumbers`` port of libphonenumber is good at phones alone but is not installed and needs a
region per ticket. The rules are checked by a table of hard cases, including text that must stay
(order numbers, versions, dates, amounts), in tests/understand/test_redact.py.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

__all__ = ["KINDS", "Redacted", "iban_ok", "luhn_ok", "redact"]

#: Placeholder kinds, in the order the rules run.
KINDS = ("secret", "url-secret", "email", "iban", "card", "ip", "phone", "address")


@dataclass(frozen=True)
class Redacted:
    """Redacted text and how many replacements of each kind (kinds with none are absent).

    Examples
    --------
    >>> Redacted("call [phone]", {"phone": 1}).counts["phone"]
    1
    """

    text: str
    counts: dict[str, int] = field(default_factory=dict)


# --- Secrets -----------------------------------------------------------------------------------

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)", re.S)
_KNOWN_TOKEN = re.compile(
    r"(?<![\w-])(?:sk-(?:proj-|ant-[a-z0-9]{2,8}-)?[A-Za-z0-9_-]{20,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|"
    r"whsec_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|"
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,}|"
    r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)(?![\w-])")
_BEARER = re.compile(
    r"(?<![\w-])((?i:bearer|token)[ \t]+)(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{16,}=*(?![\w-])")
_SECRET_LABEL = (r"password|passwort|passwd|passcode|pwd|pin|secret|client[ _-]?secret|api[ _-]?key|apikey|"
                 r"access[ _-]?key|secret[ _-]?key|private[ _-]?key|access[ _-]?token|auth[ _-]?token|"
                 r"refresh[ _-]?token|token|authorization|mot de passe|contraseña|kennwort")
_AUTH_SCHEME = r"(?i:basic|bearer|token|digest)[ \t]+"
_SECRET_PHRASE = re.compile(
    rf"(?<![\w-])((?i:{_SECRET_LABEL})[\"']?[ \t]*[:=][ \t]*[\"']?(?:{_AUTH_SCHEME})?)"
    rf"(?!\[[a-z-]+\])(?!{_AUTH_SCHEME})[^\s\"']+")

# --- URLs --------------------------------------------------------------------------------------

_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s<>\"'`]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s:]*:[^/?#@\s]+)@")
_PARAM = re.compile(r"([?&;#])([^=&;#\s]{1,64})=([^&;#\s]*)")
_SECRET_PARAMS = frozenset({
    "token", "access_token", "refresh_token", "id_token", "auth_token", "api_key", "apikey", "api-key", "key",
    "secret", "client_secret", "password", "passwd", "pwd", "pass", "signature", "sig", "auth", "authorization",
    "code", "session", "sessionid", "session_id", "sid", "jsessionid", "phpsessid", "jwt", "otp", "x-amz-signature",
    "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential"})
_SECRET_PARAM_ENDINGS = ("token", "secret", "password", "signature", "apikey", "api_key", "sessionid", "credential")

# --- Personal data -----------------------------------------------------------------------------

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_EMAIL = re.compile(
    rf"(?<![{_ATEXT}.])[{_ATEXT}.]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,24}|[Xx][Nn]--[A-Za-z0-9-]{1,59})(?![A-Za-z-])")

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})\d\d")
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30}

_CARD = re.compile(r"(?<![\w.,/+-])(?<!\d[ -])\d(?:[ -]?\d){12,18}(?!\w|[ .,/-]\d)")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\w)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?"
                   r"(?:%[A-Za-z0-9._-]{1,20})?(?![\w:]|\.\w)")
_VERSION_BEFORE = re.compile(r"(?i)\b(?:version|ver|release|build|firmware|fw|rev|revision|v)\.?[ \t:]*$")

_PHONE = re.compile(r"""
    (?<![\w+\#$€£¥@/.,-])(?<!\d[ .-])(?<!\d:)(?<![$€£¥][ ])
    (?:\+[ ]?)?
    (?:\(\d{1,5}\)[ .-]?\d{1,15}|\d{1,15})
    (?:[ .-]\d{1,15}|[ ]?\(\d{1,5}\)[ .-]?\d{1,15}){0,7}
    (?!\w|[ .,:/-]\d|[ ]?\()
""", re.X)
_DATE = re.compile(r"(?<!\d)(?:(?:19|20)\d\d[-. ](?:0?[1-9]|1[0-2])[-. ](?:0?[1-9]|[12]\d|3[01])|"
                   r"(?:0?[1-9]|[12]\d|3[01])[-. ](?:0?[1-9]|1[0-2])[-. ](?:19|20)\d\d)(?!\d)")
_NOT_PHONE_BEFORE = re.compile(
    r"(?i)(?<![\w\[-])(?:order|invoice|inv|ticket|case|ref|reference|po|tracking|account|acct|id|sku|serial|"
    r"transaction|txn|version|ver|build|isbn|iban|bic|swift|nr|no)\b[\s#:.-]*"
    r"(?:(?:number|no|nr|id)\b[\s#:.-]*)?$")
_PHONE_BEFORE = re.compile(
    r"(?i)(?<![\w\[-])(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text|reach)\b"
    r"(?:[\s:.#+-]|\b(?:me|us|at|on|number|no|nr|is|via|my)\b){0,12}$")

_STREET_SUFFIX = (r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Parkway|Pkwy|"
                  r"Place|Pl|Square|Sq|Terrace|Ter|Highway|Hwy|Crescent|Cres|Close|Circle|Cir|Strasse|Straße")
_NAME_WORD = r"(?:[A-Z][A-Za-zÀ-ÖØ-öø-ÿ'’.-]*|\d{1,3}(?:st|nd|rd|th))"
_ADDRESS = re.compile(
    # 221B Baker Street, 123 Main St., Apt 4
    rf"(?<![\w.,#$/-])\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}})?[ \t]+(?:{_NAME_WORD}[ \t]+){{1,4}}(?:{_STREET_SUFFIX})\b\.?"
    r"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    r"(?:,?[ \t]*(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm)\b\.?[ \t]*#?[ \t]*[A-Za-z0-9-]{1,6}\b"
    r"|,?[ \t]*#[ \t]*\d{1,5}\b)?"
    # Hauptstraße 5, Berliner Straße 12
    r"|(?<![\w-])(?:[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ]?[a-zäöüß]+)*(?:straße|strasse|str\.|weg|gasse|allee|damm)"
    r"|[A-ZÄÖÜ][a-zäöüß]+[ \t]+(?:Straße|Strasse|Str\.|Allee))[ \t]+\d{1,4}[a-z]?(?!\w)"
    # 12 rue de la Paix
    r"|(?<![\w.,#$/-])\d{1,4}(?:[ \t]?(?:bis|ter))?,?[ \t]+"
    r"(?i:rue|avenue|boulevard|bd|place|allée|chemin|impasse|quai|cours)[ \t]+"
    r"(?:(?:de|du|des|la|le|l'|d')[ \t]*)*[A-ZÀ-Ý][\w'’-]*(?:[ \t]+[A-ZÀ-Ý][\w'’-]*){0,3}")

_DIGITS = re.compile(r"\d+")

Step = Callable[[str, dict[str, int]], str]


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number given as digits.

    Examples
    --------
    >>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN (spaces allowed), with the country's registered length.

    Examples
    --------
    >>> iban_ok("GB82 WEST 1234 5698 7654 32"), iban_ok("GB82 WEST 1234 5698 7654 33")
    (True, False)
    """
    s = candidate.replace(" ", "").upper()
    if len(s) != _IBAN_LENGTHS.get(s[:2], -1) or not s[2:4].isdigit() or not (s.isascii() and s.isalnum()):
        return False
    return int("".join(str(int(ch, 36)) for ch in s[4:] + s[:4])) % 97 == 1


@lru_cache(maxsize=8)
def _iban_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of IBAN-shaped text: a known country, then its length in letters and digits, single spaces."""
    spans: list[tuple[int, int]] = []
    end = 0
    for m in _IBAN_START.finditer(text):
        length = _IBAN_LENGTHS.get(m.group(1).upper())
        if length is None or m.start() < end:
            continue
        j, count = m.start(), 0
        while j < len(text) and count < length:
            ch = text[j]
            if ch.isascii() and ch.isalnum():
                count += 1
            elif not (ch == " " and count and j + 1 < len(text) and text[j + 1].isascii() and text[j + 1].isalnum()):
                break
            j += 1
        if count == length and not (j < len(text) and text[j].isalnum()):
            spans.append((m.start(), j))
            end = j
    return tuple(spans)


def _overlaps(start: int, end: int, spans: tuple[tuple[int, int], ...]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _bump(counts: dict[str, int], kind: str) -> None:
    counts[kind] = counts.get(kind, 0) + 1


def _rule(pattern: re.Pattern[str], kind: str,
          replace: Callable[[re.Match[str], str], str | None] = lambda m, text: None) -> Step:
    """A step replacing each match with ``replace(match, text)``, or ``[kind]`` when that is None.

    ``replace`` returns the match itself to keep it.
    """
    def step(text: str, counts: dict[str, int]) -> str:
        def one(m: re.Match[str]) -> str:
            new = replace(m, text)
            if new is None:
                new = f"[{kind}]"
            if new != m.group(0):
                _bump(counts, kind)
            return new
        return pattern.sub(one, text)
    return step


def _url_secrets(text: str, counts: dict[str, int]) -> str:
    def one(m: re.Match[str]) -> str:
        url, tail = m.group(0), ""
        while url and (url[-1] in ".,;:!?'\"}>" or (url[-1] == ")" and url.count(")") > url.count("("))
                       or (url[-1] == "]" and url.count("]") > url.count("[")
                           and not url.endswith("[url-secret]"))):  # a placeholder is never cut in two
            url, tail = url[:-1], url[-1] + tail
        if _USERINFO.match(url):
            _bump(counts, "url-secret")
            url = _USERINFO.sub(r"\1[url-secret]@", url, count=1)

        def param(p: re.Match[str]) -> str:
            name, value = p.group(2).lower().strip("[]"), p.group(3)
            if not value or value == "[url-secret]" or not (
                    name in _SECRET_PARAMS or name.endswith(_SECRET_PARAM_ENDINGS)):
                return p.group(0)
            _bump(counts, "url-secret")
            return f"{p.group(1)}{p.group(2)}=[url-secret]"
        return _PARAM.sub(param, url) + tail
    return _URL.sub(one, text)


def _iban(text: str, counts: dict[str, int]) -> str:
    out, last = [], 0
    for start, end in _iban_spans(text):
        if iban_ok(text[start:end]):
            out += [text[last:start], "[iban]"]
            last = end
            _bump(counts, "iban")
    return "".join(out) + text[last:]


def _card(m: re.Match[str], text: str) -> str | None:
    groups = _DIGITS.findall(m.group(0))
    digits = "".join(groups)
    if (digits[0] == "0" or not luhn_ok(digits) or any(len(g) < 3 for g in groups[:-1])
            or _overlaps(m.start(), m.end(), _iban_spans(text))):
        return m.group(0)
    return None


def _ipv4(m: re.Match[str], text: str) -> str | None:
    return m.group(0) if _VERSION_BEFORE.search(text, max(0, m.start() - 24), m.start()) else None


def _ipv6(m: re.Match[str], text: str) -> str | None:
    candidate, tail = m.group(0), ""
    if candidate.endswith(":") and not candidate.endswith("::"):
        candidate, tail = candidate[:-1], ":"
    address = candidate.split("%", 1)[0]
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return m.group(0)
    groups = [g for g in address.split(":") if g]
    if not any(ch.isdigit() for ch in address) or (len(groups) < 2 and not address.startswith("::")):
        return m.group(0)
    return "[ip]" + tail


def _phone(m: re.Match[str], text: str) -> str | None:
    s = m.group(0)
    groups = _DIGITS.findall(s)
    digits = sum(len(g) for g in groups)
    before = text[max(0, m.start() - 32):m.start()]
    said_phone = _PHONE_BEFORE.search(before)  # "phone no. …" beats "no. …"
    if (_DATE.search(s) or (not said_phone and _NOT_PHONE_BEFORE.search(before))
            or _overlaps(m.start(), m.end(), _iban_spans(text))):
        return s
    if s.startswith("+"):
        return None if 8 <= digits <= 15 else s
    if not 10 <= digits <= 15:
        return s
    separators = set(_DIGITS.sub("", s))
    if not separators:
        return None if said_phone else s
    if separators == {"."}:
        return None if [len(g) for g in groups] == [3, 3, 4] else s
    if sum(len(g) == 4 for g in groups) >= 3:  # 1234-5678-9012: a serial or a card fragment
        return s
    if "(" not in s and len(groups) >= 3 and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        return s  # 1 000 000 000: an amount
    return None


#: Rounds of all rules at most; a round that changes nothing ends redaction. A placeholder can
#: free a neighbour that a rule's look-behind refused in the round before ("a@x.com555-123-4567b@y.org").
_MAX_ROUNDS = 4

_has_digit = re.compile(r"\d").search
_LABEL_WORDS = ("pass", "pwd", "pin", "secret", "key", "token", "auth", "mot de passe", "contraseña", "kennwort")


def _has_secret_label(text: str) -> bool:
    if ":" not in text and "=" not in text:
        return False
    low = text.lower()
    return any(word in low for word in _LABEL_WORDS)


#: Each rule with a cheap test of whether it can match at all (most tickets have no "@" or "://").
_STEPS: tuple[tuple[Step, Callable[[str], object]], ...] = (
    (_rule(_PRIVATE_KEY, "secret"), lambda t: "PRIVATE KEY-----" in t),
    (_url_secrets, lambda t: "://" in t),
    (_rule(_KNOWN_TOKEN, "secret"), lambda t: True),
    (_rule(_BEARER, "secret", lambda m, _t: m.group(1) + "[secret]"), _has_digit),
    (_rule(_EMAIL, "email"), lambda t: "@" in t),
    (_rule(_SECRET_PHRASE, "secret", lambda m, _t: m.group(1) + "[secret]"), _has_secret_label),
    (_iban, _has_digit),
    (_rule(_CARD, "card", _card), _has_digit),
    (_rule(_IPV6, "ip", _ipv6), lambda t: t.count(":") >= 2),
    (_rule(_IPV4, "ip", _ipv4), lambda t: "." in t and _has_digit(t)),
    (_rule(_PHONE, "phone", _phone), _has_digit),
    (_rule(_ADDRESS, "address"), _has_digit),
)


def redact(text: str) -> Redacted:
    """Replace personal data and secrets in ``text`` with placeholders such as ``[email]``.

    Examples
    --------
    >>> r = redact("Card 4111 1111 1111 1111, mail ana@example.com, call +44 20 7946 0958, order 123456789")
    >>> r.text
    'Card [card], mail [email], call [phone], order 123456789'
    >>> sorted(r.counts.items())
    [('card', 1), ('email', 1), ('phone', 1)]
    >>> redact("https://app.acme.com/reset?token=abc123&lang=en v2.31.0").text
    'https://app.acme.com/reset?token=[url-secret]&lang=en v2.31.0'
    """
    if not isinstance(text, str):
        raise TypeError(f"redact() needs a str, not {type(text).__name__}")
    counts: dict[str, int] = {}
    for _ in range(_MAX_ROUNDS):
        before = text
        for step, may_match in _STEPS:
            if may_match(text):
                text = step(text, counts)
        if text == before:
            break
    return Redacted(text, counts)
