"""Pages customers met friction on before writing (a part of :class:`~server.incidents.engine.Engine`):
which page an incident names, in its sentence and with a known-issue banner on it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from scipy import special

from server.incidents.state import IncidentState, _ts

#: Pages customers met friction on before writing: each page's usual share of tickets whose requester
#: met friction there first is learnt with this half-life (at most ``MAX_TRACKED_PAGES`` pages, the least
#: seen forgotten first). An incident names a page (in its sentence, and with a known-issue banner on it)
#: when at least two of its customers, and a third of them, met friction there first, and that many is
#: less likely than ``PAGE_ALPHA`` at the page's share (binomial tail): a page everyone fails on is no
#: clue to any one incident. The share it is judged at is the larger of the page's usual share and its
#: share among the other tickets of the last ``RECENT_PAGES`` (at most ``MAX_RECENT_PAGES`` of them, kept
#: from the first ticket with widget friction on): a page everyone is failing on right now, or a widget
#: installed after weeks of ticket history were read (whose usual shares are then near nought), is no
#: clue either; the incident's customers must have met it more than the customers writing beside them.
PAGE_HALFLIFE = 7 * 86400.0
MAX_TRACKED_PAGES = 2000
PAGE_ALPHA = 0.01
RECENT_PAGES = 6 * 3600.0
MAX_RECENT_PAGES = 5000


class PageClues:
    """The pages' usual and recent shares of tickets, and an incident's pages as evidence."""

    def _count_pages(self, ts: float, paths: set[str], ticket_id: str | None = None) -> None:
        """Fold one ticket into the pages' usual shares: decayed counts of tickets, and per page of those
        whose requester met friction there before writing; and, from the first ticket with friction on,
        into the recent tickets (``RECENT_PAGES``)."""
        total = self.__dict__.setdefault("page_total", [0.0, ts])  # absent from older checkpoints
        seen: dict[str, list[float]] = self.__dict__.setdefault("page_seen", {})
        for row in [total, *(seen.setdefault(p, [0.0, ts]) for p in paths)]:
            row[0] = row[0] * 0.5 ** (max(0.0, ts - row[1]) / PAGE_HALFLIFE) + 1.0
            row[1] = max(row[1], ts)
        while len(seen) > MAX_TRACKED_PAGES:
            del seen[min((p for p in seen if p not in paths),
                         key=lambda p: seen[p][0] * 0.5 ** ((ts - seen[p][1]) / PAGE_HALFLIFE))]
        recent = self.__dict__.get("page_recent")
        if recent is None:
            if not paths:
                return  # a tenant without the widget keeps no recent tickets
            recent = self.__dict__["page_recent"] = deque(maxlen=MAX_RECENT_PAGES)
        recent.append((ts, ticket_id, frozenset(paths)))
        while recent and recent[0][0] <= ts - RECENT_PAGES:
            recent.popleft()

    def recent_page_shares(self, now: float, exclude: set[str]) -> tuple[dict[str, float], int]:
        """Each page's share of the tickets of the last ``RECENT_PAGES`` whose requester met friction on
        it first, ``exclude``'s tickets (an incident's own) left out, with the same weak prior as
        :meth:`page_share`; and how many tickets that share is of. Pages absent have the prior's share
        (``0.1 / (n + 1)``)."""
        counts: dict[str, int] = {}
        n = 0
        for ts, ticket_id, paths in self.__dict__.get("page_recent") or ():
            if now - RECENT_PAGES < ts <= now and ticket_id not in exclude:
                n += 1
                for path in paths:
                    counts[path] = counts.get(path, 0) + 1
        return {path: _page_share(k, n) for path, k in counts.items()}, n

    def page_share(self, path: str, now: float, own: tuple[int, int] = (0, 0)) -> float:
        """The page's usual share of tickets whose requester met friction on it first, with a weak prior
        (a tenth of a ticket in one) so that a page never seen, or a tenant with little history, is not
        taken as certain. ``own``: an incident's own tickets on the page and in all, taken out, so that an
        incident is judged against the page's share without it (its tickets are recent: undecayed)."""
        def decayed(row: list[float] | None) -> float:
            return row[0] * 0.5 ** (max(0.0, now - row[1]) / PAGE_HALFLIFE) if row else 0.0

        seen = max(0.0, decayed(self.__dict__.get("page_seen", {}).get(path)) - own[0])
        total = max(0.0, decayed(self.__dict__.get("page_total")) - own[1])
        return _page_share(seen, total)

    def _pages_evidence(self, inc: IncidentState) -> list[dict[str, Any]]:
        """The pages the incident's customers met friction on first (most customers first, at most 10),
        each with its usual share, the tail probability of that many customers at it, and whether the
        incident names it (``PAGE_ALPHA``)."""
        now = self.watermark if self.watermark is not None else _ts(inc.detected_at)
        rows = []
        pages = inc.__dict__.get("pages") or {}
        recent, others = self.recent_page_shares(now, set(inc.ticket_ids)) if pages else ({}, 0)
        for path, (sessions, users) in pages.items():
            k, n = len(users), max(len(inc.requesters), len(users))
            usual = self.page_share(path, now, own=(k, len(inc.ticket_ids)))
            now_share = recent.get(path, _page_share(0, others))
            share = max(usual, now_share)
            p = float(special.bdtrc(k - 1, n, share)) if k else 1.0
            rows.append({"path": path, "sessions": len(sessions), "users": k, "usual_share": round(usual, 4),
                         "recent_share": round(now_share, 4), "recent_tickets": others,
                         "p_value": p, "associated": k >= 2 and 3 * k >= n and p <= PAGE_ALPHA})
        rows.sort(key=lambda r: (not r["associated"], -r["users"], -r["sessions"], r["path"]))
        return rows[:10]


def _page_share(seen: float, total: float) -> float:
    """A page's share of ``total`` tickets whose requester met friction on it first, ``seen`` of them, with
    a weak prior of a tenth of a ticket in one (a page never seen, or little history, is not certain)."""
    return min(1.0, (seen + 0.1) / (total + 1.0))
