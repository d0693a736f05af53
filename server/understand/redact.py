"""PII redaction for ticket text, before it is stored for display, embedded or sent to an LLM.

Replaces e-mail addresses, phone numbers, payment card numbers (Luhn-checked), IBANs (mod-97
checked), IP addresses, secrets (URL credentials and token parameters, bearer tokens, well-known key
shapes, "password: …" phrases) and street addresses with placeholders such as ``[email]``.

Why hand-written: the maintained libraries that do this (Presidio) need a spaCy language model that
this product cannot download at run time, and the lighter ones are unmaintained. These rules run in
microseconds per ticket and are checked by a table of hard cases in tests/understand/test_redact.py,
including text that must stay (order numbers, versions, dates, amounts).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: dict[str, int] = field(default_factory=dict)


_URL_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^\s/@:]+):([^\s/@]+)@", re.I)
_URL_SECRET_PARAM = re.compile(
    r"([?&#;](?:access_token|refresh_token|id_token|token|api[_-]?key|apikey|key|secret|client_secret|password|"
    r"passwd|pwd|signature|sig|auth|authorization|code|session|sessionid|sid|jwt|x-amz-signature|x-amz-credential)=)"
    r"([^&#\s\"'<>]+)", re.I)
_BEARER = re.compile(r"\b(bearer|token)\s+([A-Za-z0-9\-._~+/]{16,}=*)", re.I)
_KNOWN_TOKENS = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{16,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|pk_(?:live|test)_[A-Za-z0-9]{16,}|"
    r"gh[pousr]_[A-Za-z0-9]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}|"
    r"gs_(?:sk|pk)_[A-Za-z0-9_\-]{16,}|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})")
_PASSWORD_PHRASE = re.compile(r"\b(password|passwd|pwd|passcode|pin|api key|secret)(\s*(?:is|=|:)\s*)(\S{3,})", re.I)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?)\b")
_CARD = re.compile(r"(?<![\w.-])(\d(?:[ -]?\d){12,18})(?![\w.-]|\.\d)")
_IPV4 = re.compile(r"(?<![\w.])((?:\d{1,3}\.){3}\d{1,3})(?![\w.]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])([0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})(?![\w:])", re.I)
_PHONE = re.compile(
    r"(?<![\w+#/.-])("
    r"\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}"      # +44 20 7946 0958, +1-555-123-4567
    r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}"                              # (555) 123-4567
    r"|\d{3}[\s.-]\d{3}[\s.-]\d{4}"                               # 555-123-4567
    r"|0\d{2,4}[\s-]\d{3,4}[\s-]?\d{3,4}"                         # 07700 900123, 020 7946 0958
    r")(?![\w-]|\.\d)")
_STREET_SUFFIX = (r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Parkway|Pkwy|Place|Pl|"
                  r"Square|Sq|Terrace|Highway|Hwy|Crescent|Close|Row|Strasse|Straße|Weg|Allee|Platz")
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][a-zäöüß]+\.?\s+){{1,4}}(?:{_STREET_SUFFIX})\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor)\.?\s*#?\s*\w+)?"
    rf"|\b[A-Z][a-zäöüß]+(?:strasse|straße|weg|allee|platz)\s+\d{{1,4}}[a-z]?\b")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number.

    Examples
    --------
    >>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (True, False)
    """
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN.

    Examples
    --------
    >>> iban_ok("GB82 WEST 1234 5698 7654 32"), iban_ok("GB82 WEST 1234 5698 7654 33")
    (True, False)
    """
    s = candidate.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def redact(text: str) -> Redacted:
    """Replace personal data and secrets in ``text`` with placeholders.

    Examples
    --------
    >>> r = redact("Card 4111 1111 1111 1111, mail ana@example.com, order 123456789, v2.31.0")
    >>> r.text
    'Card [card], mail [email], order 123456789, v2.31.0'
    >>> r.counts
    {'email': 1, 'card': 1}
    """
    counts: dict[str, int] = {}

    def sub(pattern: re.Pattern[str], kind: str, s: str, repl=None, check=None) -> str:  # type: ignore[no-untyped-def]
        def one(m: re.Match[str]) -> str:
            if check is not None and not check(m):
                return m.group(0)
            counts[kind] = counts.get(kind, 0) + 1
            return repl(m) if repl else f"[{kind}]"
        return pattern.sub(one, s)

    if not text:
        return Redacted("", {})
    s = sub(_URL_USERINFO, "url-secret", text, repl=lambda m: f"{m.group(1)}[url-secret]@")
    s = sub(_URL_SECRET_PARAM, "url-secret", s, repl=lambda m: f"{m.group(1)}[url-secret]",
            check=lambda m: m.group(2) != "[url-secret]")
    s = sub(_KNOWN_TOKENS, "secret", s)
    s = sub(_BEARER, "secret", s, repl=lambda m: f"{m.group(1)} [secret]")
    s = sub(_PASSWORD_PHRASE, "secret", s, repl=lambda m: f"{m.group(1)}{m.group(2)}[secret]",
            check=lambda m: not m.group(3).startswith("["))
    s = sub(_EMAIL, "email", s)
    s = sub(_IBAN, "iban", s, check=lambda m: iban_ok(m.group(1)))
    s = sub(_CARD, "card", s, check=lambda m: luhn_ok(re.sub(r"\D", "", m.group(1)))
            and 13 <= len(re.sub(r"\D", "", m.group(1))) <= 19)
    s = sub(_IPV4, "ip", s, check=lambda m: _valid_ip(m.group(1)))
    s = sub(_IPV6, "ip", s, check=lambda m: _valid_ip(m.group(1)))
    s = sub(_PHONE, "phone", s, check=lambda m: 7 <= len(re.sub(r"\D", "", m.group(1))) <= 15)
    s = sub(_ADDRESS, "address", s)
    return Redacted(s, counts)


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
