"""Input schemas' common ground: text that a database can store.

JSON allows the NUL character and lone surrogates in strings; PostgreSQL's text and jsonb do not, so
a body carrying them would fail at the database (a 500) instead of at validation (a 400 naming the
field). ``TextSchema`` refuses them in every string it loads, nested ones included. Where the text is
someone else's legitimate data (ingest: ticket text, page titles), ``storable`` cleans it instead.
"""

from __future__ import annotations

import math
import re
from typing import Any

from marshmallow import Schema, ValidationError, validate, validates_schema

#: Surrogate code points. A Python string holds one only where JSON had a surrogate escape that is not
#: half of a pair (``json`` joins pairs into one character); UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Deepest nesting `storable` follows; no payload Groundswell accepts comes near it.
MAX_DEPTH = 64


class TooDeep(ValueError):
    """A payload nested deeper than `MAX_DEPTH`."""


def storable_text(value: str) -> str:
    r"""``value`` without NUL characters and with each surrogate code point replaced by U+FFFD.

    >>> import json
    >>> storable_text("a\x00b"), storable_text(json.loads(r'"x\ud800y \ud83e\uddfe"'))
    ('ab', 'x\ufffdy \U0001f9fe')
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", value)


def storable(value: Any, depth: int = 0) -> Any:
    r"""A JSON value that PostgreSQL's jsonb stores as it is: every string, keys included, through
    `storable_text`, and NaN and the infinities (which Python's ``json`` reads) made null. For data
    that is legitimate even so, such as a customer's ticket text with a pasted NUL or half an emoji:
    refusing it would lose it. Raises `TooDeep` beyond `MAX_DEPTH` levels of arrays and objects.

    >>> storable({"k\x00": ["v\udc00", float("nan"), 1.5, True, None]})
    {'k': ['v\ufffd', None, 1.5, True, None]}
    """
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dict, list)):
        if depth >= MAX_DEPTH:
            raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, list):
            return [storable(v, depth + 1) for v in value]
        return {storable_text(k) if isinstance(k, str) else k: storable(v, depth + 1) for k, v in value.items()}
    return value


def _bad(value: str) -> bool:
    return "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def _walk(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    if isinstance(value, str):
        if _bad(value):
            errors.setdefault(path, []).append("Must not contain NUL characters or unpaired surrogates.")
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and _bad(k):
                errors.setdefault(path, []).append("Keys must not contain NUL characters or unpaired surrogates.")
            _walk(v, f"{path}.{k}" if path else str(k), errors)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk(v, f"{path}.{i}", errors)


class FullMatch(validate.Regexp):
    r"""``validate.Regexp`` over the whole value. Python's ``$`` also matches before a final newline, so
    ``re.match`` lets ``"acme\n"`` through ``^[a-z]+$``; the same pattern is published in the OpenAPI
    spec, where clients read ``$`` as the end of the string. Full matching gives both one meaning.

    >>> FullMatch(r"^[a-z]+$")("acme")
    'acme'
    >>> FullMatch(r"^[a-z]+$")("acme\n")
    Traceback (most recent call last):
    marshmallow.exceptions.ValidationError: String does not match expected pattern.
    """

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def person_name(value: Any, limit: int, default: str = "someone") -> str:
    r"""A name another service gave (a Slack user, a PagerDuty agent) as storable, printable text: control
    characters, NUL and unpaired surrogates dropped, runs of spaces made one, at most ``limit``
    characters; ``default`` when nothing is left.

    >>> person_name("  Ops\ud800 \x00Lead\n", 80), person_name(None, 80), person_name(7, 80)
    ('Ops Lead', 'someone', 'someone')
    """
    if not isinstance(value, str):
        return default
    text = " ".join("".join(ch for ch in value if ch.isprintable() or ch.isspace()).split())
    return text[:limit].strip() or default


class TextSchema(Schema):
    """A schema whose loaded strings are all storable text.

    >>> from marshmallow import fields
    >>> class S(TextSchema):
    ...     name = fields.String()
    >>> S().load({"name": "ok"})
    {'name': 'ok'}
    >>> S().validate({"name": "bad\\x00"})
    {'name': ['Must not contain NUL characters or unpaired surrogates.']}
    """

    @validates_schema(pass_original=True)
    def _storable_text(self, data: Any, original: Any, **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        _walk(original, "", errors)
        if errors:
            raise ValidationError(errors)
