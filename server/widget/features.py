"""Friction features of one widget session, folded event by event.

Counted per session and per page: rage clicks, dead clicks, error clicks (a click followed within
2 s by a JS error or a failed request: the widget marks that error with ``data.error_click`` and the
click's target; an ``error_click`` event or a ``click`` whose data carries ``error_click`` or ``error``
count too), failed requests by ``METHOD path status``, JS errors, form errors by form (``data.form``),
flow abandonments, page views and time on page; and the help tips the person closed (``nudge_dismissed``
without ``left_page``), which are not offered again in the session. Pure code: the event's time comes in,
never the clock.

The **cold-start rule** (``stuck_on``) says a session is stuck on a page when, on that page, the same
action failed ``repeat`` times (the same request failing, the same form rejecting input, or the same
element error-clicked), or a rage click came together with a failed request or an error click.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from server.widget.settings import page_path

#: Friction signals counted per page (also the per-page detectors' signals).
SIGNALS = ("rage_click", "dead_click", "error_click", "failed_request", "js_error", "form_error", "form_abandon")
#: How people read each signal, plural (incident titles, sentences, Slack messages).
SIGNAL_NOUNS = {
    "rage_click": "rage clicks", "dead_click": "dead clicks", "error_click": "error clicks",
    "failed_request": "failed requests", "js_error": "JavaScript errors", "form_error": "rejected form submits",
    "form_abandon": "abandoned flows",
}


def and_list(words: list[str]) -> str:
    """Words as a sentence lists them.

    >>> and_list(["a"]), and_list(["a", "b"]), and_list(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
#: Most pages kept per session, and most distinct failures per page.
MAX_PAGES = 20
MAX_KEYS = 20
#: Longest gap between two events that still counts as time on the page.
MAX_GAP_MS = 5 * 60 * 1000
#: Most help tips remembered as closed per session (the newest kept).
MAX_DISMISSED = 20


def _key(value: Any, limit: int = 120) -> str:
    return str(value)[:limit] if value not in (None, "") else "?"


@dataclass
class PageFriction:
    """Friction counts of one session on one page."""

    views: int = 0
    time_ms: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # "GET /api/pay 500" -> n
    forms: dict[str, int] = field(default_factory=dict)  # form selector -> rejected submits
    error_targets: dict[str, int] = field(default_factory=dict)  # element -> error clicks
    #: "signal target" -> n: what each friction event happened to (``met``), for choosing the nudge.
    targets: dict[str, int] = field(default_factory=dict)

    def met_table(self) -> dict[str, int]:
        return self.__dict__.setdefault("targets", {})  # checkpoints from before nudges named friction

    def met(self) -> list[tuple[str, str, int]]:
        """The friction met on the page: (signal, target, count); the target may be empty.

        >>> p = PageFriction()
        >>> p.bump(p.met_table(), "form_error coupon/code"); p.bump(p.met_table(), "js_error ")
        >>> p.met()
        [('form_error', 'coupon/code', 1), ('js_error', '', 1)]
        """
        return [(k.partition(" ")[0], k.partition(" ")[2], n) for k, n in self.met_table().items()]

    def bump(self, table: dict[str, int], key: str) -> None:
        if key in table or len(table) < MAX_KEYS:
            table[key] = table.get(key, 0) + 1

    def count(self, signal: str) -> int:
        return self.counts.get(signal, 0)

    def stuck(self, repeat: int) -> bool:
        """The cold-start rule on this page.

        Examples
        --------
        >>> p = PageFriction()
        >>> for _ in range(3):
        ...     p.bump(p.failures, "POST /api/pay 500")
        >>> p.stuck(3), PageFriction(counts={"rage_click": 1, "failed_request": 1}).stuck(3)
        (True, True)
        >>> PageFriction(counts={"rage_click": 2}).stuck(3)
        False
        """
        repeated = max([0, *self.failures.values(), *self.forms.values(), *self.error_targets.values()])
        rage_with_failure = self.count("rage_click") > 0 and (
            self.count("failed_request") > 0 or self.count("error_click") > 0)
        return repeated >= repeat or rage_with_failure

    def to_json(self) -> dict[str, Any]:
        return {"views": self.views, "time_ms": self.time_ms, "counts": dict(sorted(self.counts.items())),
                "failures": dict(sorted(self.failures.items())), "forms": dict(sorted(self.forms.items())),
                "error_targets": dict(sorted(self.error_targets.items())),
                "met": dict(sorted(self.met_table().items()))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PageFriction":
        """A page as ``to_json`` wrote it (rows written before a table existed lack it: empty).

        >>> p = PageFriction(views=1, counts={"form_error": 3}, forms={"coupon": 3})
        >>> PageFriction.from_json(p.to_json()) == p, PageFriction.from_json({}).stuck(3)
        (True, False)
        """
        def table(key: str) -> dict[str, int]:
            t = data.get(key)
            return {str(k): v for k, v in t.items() if isinstance(v, int)} if isinstance(t, Mapping) else {}
        views, time_ms = data.get("views"), data.get("time_ms")
        return cls(views=views if isinstance(views, int) else 0, time_ms=time_ms if isinstance(time_ms, int) else 0,
                   counts=table("counts"), failures=table("failures"), forms=table("forms"),
                   error_targets=table("error_targets"), targets=table("met"))


@dataclass
class SessionFeatures:
    """What one session did, as the classifier and the decisions see it.

    Examples
    --------
    >>> s = SessionFeatures("s1", started_ms=0)
    >>> s.add({"type": "page_view", "url": "https://a.io/billing"}, 0)
    'page_view'
    >>> s.add({"type": "failed_request", "url": "https://a.io/billing",
    ...        "data": {"method": "POST", "path": "/api/pay", "status": 500}}, 1000)
    'failed_request'
    >>> s.add({"type": "rage_click", "url": "https://a.io/billing", "target": "button#pay"}, 2000)
    'rage_click'
    >>> s.stuck_on(3), s.totals["failed_request"], s.pages["/billing"].time_ms
    (['/billing'], 1, 2000)
    """

    session_id: str
    started_ms: int
    last_ms: int = 0
    user_id: str | None = None
    account_id: str | None = None
    verified: bool = False
    events: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    pages: dict[str, PageFriction] = field(default_factory=dict)
    last_path: str | None = None
    #: Help tips (nudge ids) the person closed in this session, oldest first: not offered again in it.
    dismissed: list[str] = field(default_factory=list)

    def dismissed_tips(self) -> list[str]:
        return self.__dict__.setdefault("dismissed", [])  # checkpoints from before closed tips were kept

    def dismiss(self, nudge_id: str) -> None:
        """Remember a tip the person closed (at most ``MAX_DISMISSED``, the newest)."""
        tips = self.dismissed_tips()
        if nudge_id in tips:
            tips.remove(nudge_id)
        tips.append(nudge_id)
        del tips[:-MAX_DISMISSED]

    def page(self, path: str) -> PageFriction | None:
        if path not in self.pages and len(self.pages) >= MAX_PAGES:
            return None
        return self.pages.setdefault(path, PageFriction())

    def add(self, ev: Mapping[str, Any], at_ms: int) -> str | None:
        """Fold one widget event (its logged payload) at event time ``at_ms``; returns the friction signal
        or event type it counted, or None for events that say nothing about friction."""
        self.events += 1
        path = page_path(str(ev.get("url") or ""))
        page = self.page(path)
        if self.last_path is not None and self.last_path in self.pages and at_ms > self.last_ms:
            gap = at_ms - self.last_ms
            if gap <= MAX_GAP_MS:
                self.pages[self.last_path].time_ms += gap
        self.last_ms = max(self.last_ms, at_ms)
        self.last_path = path
        etype = str(ev.get("type") or "")
        data = ev.get("data") if isinstance(ev.get("data"), Mapping) else {}
        if etype == "nudge_dismissed":
            # Closed by the person: a refusal. Closed because they left its page (``left_page``): not one.
            if data.get("nudge_id") not in (None, "") and data.get("left_page") not in (True, "true"):
                self.dismiss(str(data["nudge_id"])[:64])
                return etype
            return None
        if page is None:
            return None
        signal: str | None = None
        target = ""
        if etype == "page_view" or etype == "navigation":
            page.views += 1
            return etype
        if etype in ("rage_click", "dead_click", "js_error", "form_abandon"):
            signal = etype
            target = _key(data.get("flow")) if etype == "form_abandon" else \
                "" if etype == "js_error" else _key(ev.get("target"))
        elif etype == "failed_request":
            signal = etype
            request = page_path(str(data.get("path") or ""))  # ids and query dropped here too
            target = f"{_key(data.get('method'), 8).upper()} {request[:120]}"
            page.bump(page.failures, f"{target} {_key(data.get('status'), 4)}")
        elif etype == "form_error" or (etype == "form_submit" and data.get("valid") is False):
            signal = "form_error"
            form = _key(data.get("form") or ev.get("target"))
            page.bump(page.forms, form)
            target = f"{form}/{_key(data.get('field'), 60)}" if data.get("field") else form
        elif etype == "error_click" or (etype == "click" and (data.get("error_click") or data.get("error"))):
            signal = "error_click"
            target = _key(ev.get("target"))
            page.bump(page.error_targets, target)
        if signal is None:
            return None
        self._count(page, signal)
        page.bump(page.met_table(), f"{signal} {target}")
        if signal in ("js_error", "failed_request") and data.get("error_click"):  # the widget tied it to a click
            page.bump(page.error_targets, _key(ev.get("target")))
            page.bump(page.met_table(), f"error_click {_key(ev.get('target'))}")
            self._count(page, "error_click")
        return signal

    def _count(self, page: PageFriction, signal: str) -> None:
        page.counts[signal] = page.counts.get(signal, 0) + 1
        self.totals[signal] = self.totals.get(signal, 0) + 1

    def stuck_on(self, repeat: int) -> list[str]:
        """Pages on which the cold-start rule says this session is stuck."""
        return sorted(p for p, f in self.pages.items() if f.stuck(repeat))

    def vector(self) -> dict[str, float]:
        """Numeric features for the classifier (counts log-scaled, so one frantic session does not dominate)."""
        x = {s: math.log1p(self.totals.get(s, 0)) for s in SIGNALS}
        x["pages"] = math.log1p(len(self.pages))
        x["page_views"] = math.log1p(sum(p.views for p in self.pages.values()))
        x["minutes"] = math.log1p(max(0, self.last_ms - self.started_ms) / 60000)
        x["repeat_failure"] = math.log1p(max([0, *(v for p in self.pages.values() for v in p.failures.values())]))
        x["stuck"] = 1.0 if self.stuck_on(3) else 0.0
        x["account"] = 1.0 if self.account_id else 0.0
        return x

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "totals": dict(sorted(self.totals.items())),
                "pages": {p: f.to_json() for p, f in self.pages.items()}, "dismissed": list(self.dismissed_tips())}
