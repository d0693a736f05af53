"""A tenant's widget configuration as plain data, with the defaults documented in docs/friction.md.

The API validates the stored JSON with ``WidgetSettingsSchema`` (server/widget/schemas.py); this
module turns it into a typed value for the detector stage and the decision code, and holds the two
helpers both sides share: a page path from a URL, and page-pattern matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

#: Longest page path kept (longer ones are cut).
MAX_PATH = 200

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}"
    r"|[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*\d[A-Za-z0-9_-]{18,})$")


def page_path(url: str) -> str:
    """The page a URL names: its path, with ids replaced by ``:id``; no query, fragment or host.

    Examples
    --------
    >>> page_path("https://app.example.com/invoices/12345/pay?token=abc#x")
    '/invoices/:id/pay'
    >>> page_path("https://x.io/u/3f2b6a1c-0c1d-4e5f-8a9b-0123456789ab")
    '/u/:id'
    >>> page_path("/demo/acme/billing/")
    '/demo/acme/billing'
    >>> page_path("not a url")
    '/'
    """
    try:
        path = urlsplit(url).path if "://" in url else url.split("?", 1)[0].split("#", 1)[0]
    except ValueError:
        return "/"
    if not path.startswith("/"):
        return "/"
    parts = [":id" if _ID_SEGMENT.match(p) else p for p in path.split("/") if p]
    cleaned = "/" + "/".join(parts)
    return cleaned[:MAX_PATH]


def path_matches(pattern: str, path: str) -> bool:
    """Whether a page pattern (``*`` for any run of characters) matches a page path.

    Examples
    --------
    >>> path_matches("/demo/acme/billing", "/demo/acme/billing")
    True
    >>> path_matches("/invoices/*", "/invoices/:id/pay"), path_matches("/invoices/*", "/settings")
    (True, False)
    """
    if pattern == path:
        return True
    return fnmatchcase(path, pattern.rstrip("/") or "/")


#: What a friction target is matched against, per signal (see ``target_matches``).
_METHOD = re.compile(r"^[A-Za-z]{3,10}$")


def target_matches(signal: str, pattern: str, target: str) -> bool:
    """Whether a trigger's target pattern (``*`` for any run of characters) names a friction target.

    The target of a failed request is ``METHOD path`` (ids as ``:id``); a pattern may leave the method
    out. A rejected form's is ``form/field``; a pattern may name the form alone. Clicks' is the element
    descriptor (``button#pay``), an abandoned flow's its name.

    Examples
    --------
    >>> target_matches("failed_request", "POST /api/pay", "POST /api/pay")
    True
    >>> target_matches("failed_request", "/api/invoices/*", "GET /api/invoices/:id/pdf")
    True
    >>> target_matches("failed_request", "GET /api/pay", "POST /api/pay")
    False
    >>> target_matches("form_error", "coupon", "coupon/code"), target_matches("form_error", "*/code", "coupon/code")
    (True, True)
    >>> target_matches("form_error", "card", "coupon/code")
    False
    """
    if signal == "failed_request":
        method, _, path = target.partition(" ")
        want, _, want_path = pattern.partition(" ")
        if not want_path or not _METHOD.match(want):
            want, want_path = "", pattern
        return (not want or want.upper() == method.upper()) and path_matches(want_path, path)
    if signal == "form_error":
        return fnmatchcase(target, pattern) or fnmatchcase(target.split("/", 1)[0], pattern)
    return fnmatchcase(target, pattern)


@dataclass(frozen=True)
class Trigger:
    """The friction a nudge answers: a signal, a target, or both (what the session met on the page)."""

    signal: str | None = None
    target: str | None = None

    def matches(self, signal: str, target: str) -> bool:
        if self.signal is not None and self.signal != signal:
            return False
        return self.target is None or target_matches(signal, self.target, target)


@dataclass(frozen=True)
class Nudge:
    """Help shown to a stuck session on matching pages; with ``when``, only for the friction it names."""

    id: str
    match: str
    title: str
    body: str
    link_url: str | None = None
    link_text: str | None = None
    when: tuple[Trigger, ...] = ()

    def answers(self, met: "Iterable[tuple[str, str, int]]") -> int:
        """How many of the page's friction events (``(signal, target, count)``) this nudge answers."""
        return sum(n for signal, target, n in met if any(t.matches(signal, target) for t in self.when))


@dataclass(frozen=True)
class DeclaredIssue:
    """A known issue an admin declares for matching pages."""

    id: str
    match: str
    message: str
    link_url: str | None = None


@dataclass(frozen=True)
class ColdStart:
    """When the classifier is not yet trusted, and the friction rule used instead (see ``stuck_pages``)."""

    enabled: bool = True
    min_outcomes: int = 200
    min_positives: int = 20
    repeat_failures: int = 3


@dataclass(frozen=True)
class FrictionSettings:
    """Per-page friction detectors: false alarms per week (all pages), least sessions, warm-up hours."""

    weekly_false_alarms: float = 1.0
    min_sessions: int = 3
    warmup_hours: int = 24


@dataclass(frozen=True)
class WidgetConfig:
    """Everything a tenant configures for the widget.

    Examples
    --------
    >>> c = WidgetConfig.from_dict({"threshold": 0.4, "nudges": [
    ...     {"id": "pay", "match": "/billing*", "title": "Trouble paying?", "body": "Try this."}]})
    >>> c.threshold, c.cap_per_session, c.nudge_for("/billing/invoices").id
    (0.4, 1, 'pay')
    >>> c.nudge_for("/settings") is None
    True
    """

    nudges: tuple[Nudge, ...] = ()
    known_issues: tuple[DeclaredIssue, ...] = ()
    threshold: float = 0.5
    cap_per_session: int = 1
    cap_per_day: int = 3
    holdout: float = 0.1
    identity_required: bool = False
    #: Where incident banners link ("Status and updates"), e.g. the product's status page; None: no link.
    status_page_url: str | None = None
    ticket_user_keys: tuple[str, ...] = ("email", "field:user_id")
    cold_start: ColdStart = field(default_factory=ColdStart)
    friction: FrictionSettings = field(default_factory=FrictionSettings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "WidgetConfig":
        d = dict(data or {})
        cs = d.get("cold_start") if isinstance(d.get("cold_start"), dict) else {}
        fr = d.get("friction") if isinstance(d.get("friction"), dict) else {}
        base = cls()
        return cls(
            nudges=tuple(_nudge(n) for n in d.get("nudges") or () if isinstance(n, dict)),
            known_issues=tuple(DeclaredIssue(**{k: i.get(k) for k in ("id", "match", "message", "link_url")})
                               for i in d.get("known_issues") or () if isinstance(i, dict)),
            threshold=float(d.get("threshold", base.threshold)),
            cap_per_session=int(d.get("cap_per_session", base.cap_per_session)),
            cap_per_day=int(d.get("cap_per_day", base.cap_per_day)),
            holdout=float(d.get("holdout", base.holdout)),
            identity_required=bool(d.get("identity_required", base.identity_required)),
            status_page_url=d.get("status_page_url") or None,
            ticket_user_keys=tuple(d.get("ticket_user_keys") or base.ticket_user_keys),
            cold_start=ColdStart(**{k: cs[k] for k in ("enabled", "min_outcomes", "min_positives", "repeat_failures")
                                    if k in cs}),
            friction=FrictionSettings(**{k: fr[k] for k in ("weekly_false_alarms", "min_sessions", "warmup_hours")
                                         if k in fr}),
        )

    def nudge_for(self, path: str, met: Iterable[tuple[str, str, int]] = ()) -> Nudge | None:
        """The nudge for a session on the page that met the friction ``met`` there (``(signal, target,
        count)``): of the nudges matching the page that name friction (``when``), the one answering most
        of what the session met (the first configured on a tie); else the first matching the page that
        names none (help for any trouble there); else None (nothing here answers what the session met).

        Examples
        --------
        >>> c = WidgetConfig.from_dict({"nudges": [
        ...     {"id": "pay", "match": "/billing", "title": "t", "body": "b",
        ...      "when": [{"signal": "failed_request", "target": "POST /api/pay"}]},
        ...     {"id": "coupon", "match": "/billing", "title": "t", "body": "b",
        ...      "when": [{"signal": "form_error", "target": "coupon"}]}]})
        >>> c.nudge_for("/billing", [("form_error", "coupon/code", 3)]).id
        'coupon'
        >>> c.nudge_for("/billing", [("failed_request", "POST /api/pay", 3), ("form_error", "coupon/code", 1)]).id
        'pay'
        >>> c.nudge_for("/billing", [("dead_click", "button#export", 3)]) is None
        True
        """
        pages = [n for n in self.nudges if path_matches(n.match, path)]
        met = list(met)
        best, most = None, 0
        for n in pages:
            if n.when and (score := n.answers(met)) > most:
                best, most = n, score
        return best or next((n for n in pages if not n.when), None)

    def issues_for(self, path: str) -> list[DeclaredIssue]:
        return [i for i in self.known_issues if path_matches(i.match, path)]


def _nudge(n: Mapping[str, Any]) -> Nudge:
    when = tuple(Trigger(t.get("signal") or None, t.get("target") or None)
                 for t in n.get("when") or () if isinstance(t, Mapping) and (t.get("signal") or t.get("target")))
    return Nudge(**{k: n.get(k) for k in ("id", "match", "title", "body", "link_url", "link_text")}, when=when)
