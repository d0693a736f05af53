"""An incident in words: its title ("Spike: 'invoice pdf · blank'") and the sentence that gives its evidence
("17 tickets from 15 customers in 2 h about 'invoice pdf · blank'; expected 1.2 customers; first seen 23:04 UTC,
40 min after release 2.31"), as the engine writes them into each snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone  # noqa: F401  (timedelta: the doctests)
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.incidents.state import IncidentState

#: What a reopened incident's evidence and sentence say.
STILL_UNUSUAL = "still unusual after it was resolved"
RISING_AGAIN = "unusual again after it had calmed"
_TITLES = {"spike": "Spike", "new_topic": "New topic", "drop": "Drop", "sentiment": "Sentiment falling",
           "concentration": "Concentrated rise"}


def title(kind: str, label: str, *, quoted: bool = True) -> str:
    """Short headline: ``Spike: 'invoice pdf · blank'`` for a topic (its label quoted: keywords, not a
    name), ``Sentiment falling: Kestrel Logistics (organization 900002)`` for another series."""
    return f"{_TITLES.get(kind, kind)}: '{label}'" if quoted else f"{_TITLES.get(kind, kind)}: {label}"


def series_words(series: str) -> str:
    """A series without a known name, as people read it: ``channel web``, ``organization 123``,
    ``all tickets``.

    >>> series_words("channel:web"), series_words("all"), series_words("plan:pro")
    ('channel web', 'all tickets', 'plan pro')
    """
    if series == "all":
        return "all tickets"
    dim, _, value = series.partition(":")
    return f"{dim} {value}" if value else series


def label_of(inc: IncidentState) -> str:
    """What the incident is about: its topic's label, its segment's name, or its series in words."""
    ev = inc.evidence
    return ev.get("topic_label") or ev.get("series_label") or (
        f"topic {inc.topic_id}" if inc.topic_id is not None else series_words(inc.series))


def _span(minutes: float) -> str:
    if minutes < 90:
        return f"{round(minutes)} min"
    hours = minutes / 60.0
    return f"{hours:.0f} h" if hours >= 10 or hours == int(hours) else f"{hours:.1f} h"


def _clock(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%H:%M")


def sentence(inc: IncidentState, tone: dict[str, float] | None = None,
             pages: list[dict[str, Any]] | None = None) -> str:
    """The evidence as one human sentence.

    Examples
    --------
    >>> from server.incidents.state import IncidentState
    >>> t = datetime(2026, 3, 2, 23, 4, tzinfo=timezone.utc)
    >>> inc = IncidentState(id=1, kind="spike", series="topic:7", topic_id=7, first_seen_at=t,
    ...                     detected_at=t + timedelta(minutes=50), ticket_ids=[str(i) for i in range(17)],
    ...                     requesters={str(i) for i in range(15)},
    ...                     evidence={"expected": 1.2, "observed": 15, "window_tickets": 17, "window_minutes": 120, "topic_label": "invoice pdf · blank",
    ...                               "release": {"version": "2.31", "minutes_before": 40}})
    >>> sentence(inc)
    "17 tickets from 15 customers in 2 h about 'invoice pdf · blank'; expected 1.2 customers; first seen 23:04 UTC, 40 min after release 2.31"
    """
    return _sentence(inc, tone, pages) + _reopened_clause(inc.evidence.get("reopened"))


def _reopened_clause(reopened: Any) -> str:
    """``; reopened at 10:20 UTC: still unusual after it was resolved at 10:05 UTC``, for an incident a
    person resolved before its series calmed down; empty otherwise."""
    if not isinstance(reopened, dict):
        return ""
    try:
        at, resolved = (datetime.fromisoformat(str(reopened[k])) for k in ("at", "resolved_at"))
    except (KeyError, ValueError):
        return ""
    return f"; reopened at {_clock(at)} UTC: {reopened.get('reason') or STILL_UNUSUAL} at {_clock(resolved)} UTC"


def _sentence(inc: IncidentState, tone: dict[str, float] | None,
              pages: list[dict[str, Any]] | None) -> str:
    ev = inc.evidence
    label = label_of(inc)
    window = _span(ev.get("window_minutes", 60))
    release = ev.get("release")
    after = f", {_span(release['minutes_before'])} after release {release['version']}" if release else ""
    first = f"first seen {_clock(inc.first_seen_at)} UTC{after}"
    expected = ev.get("expected", 0.0)
    if inc.kind == "drop":
        return (f"{ev.get('observed', 0)} tickets in {window} on {label}; expected {expected:.1f} "
                f"(at least {ev.get('lower', 0)} in a normal {window}); since {_clock(inc.first_seen_at)} UTC{after}")
    if inc.kind == "sentiment":
        # The window's mean tone is ``observed``; evidence stored before it was carried it as a segment.
        old = [s.get("value") for s in ev.get("segments") or [] if s.get("name") == "mean_sentiment"]
        observed = ev.get("observed")
        mean = old[0] if old else f"{observed:+.2f}" if isinstance(observed, (int, float)) else "?"
        held = f"; {len(inc.ticket_ids)} tickets below the usual tone so far" if inc.ticket_ids else ""
        return (f"{ev.get('window_tickets', 0)} tickets in {window} on {label} with mean sentiment "
                f"{mean} on a -1 to +1 scale; usually {expected:+.2f}; {first}{held}")
    customers = ev.get("observed", len(inc.requesters))
    tickets = ev.get("window_tickets", len(inc.ticket_ids))
    where, whose = "", ""
    for seg in ev.get("segments") or []:
        who = f"{seg['label']} ({seg['name']} {seg['value']})" if seg.get("label") else f"{seg['name']} {seg['value']}"
        if inc.kind == "concentration" and "baseline_share" in seg:
            # every one of the window's tickets is the segment's; its share is of the whole topic's
            whose = f" in {who}"
            where = (f", {round(100 * seg['share'])}% of the topic's tickets then "
                     f"(usually {round(100 * seg['baseline_share'])}%)")
        else:
            where = f", {round(100 * seg['share'])}% from {who}"
        break
    # The window's figures say why it opened; the incident's whole size since, as its card counts it.
    people = len(inc.requesters)
    more = (f"; {len(inc.ticket_ids)} tickets from {people} customer{'s' if people != 1 else ''} so far"
            if len(inc.ticket_ids) > tickets else "")
    return (f"{tickets} tickets from {customers} customer{'s' if customers != 1 else ''}{whose} in {window} "
            f"about '{label}'{where}; expected {expected:.1f} customer{'' if f'{expected:.1f}' == '1.0' else 's'}; "
            f"{first}{more}{_page_clause(inc, pages)}"
            + (f"; sentiment {tone['mean']:+.2f}, usually {tone['usual']:+.2f}" if tone else ""))


def _page_clause(inc: IncidentState, pages: list[dict[str, Any]] | None) -> str:
    """Where the incident's customers met friction in the product before writing, when the incident names
    a page (``Engine._pages_evidence``: enough of its customers, far more than the page's usual share):
    the agent's first clue to the cause.

    >>> from server.incidents.state import IncidentState
    >>> from server.incidents.state import IncidentState
    >>> t = datetime(2026, 3, 2, 23, 4, tzinfo=timezone.utc)
    >>> inc = IncidentState(id=1, kind="spike", series="topic:7", topic_id=7, first_seen_at=t, detected_at=t,
    ...                     requesters={"a", "b", "c", "d"})
    >>> _page_clause(inc, [{"path": "/billing", "users": 2, "associated": True}])
    '; 2 of its 4 customers met friction on /billing first'
    >>> _page_clause(inc, [{"path": "/upgrade", "users": 3, "associated": False}])  # everyone fails there
    ''
    """
    for row in pages or ():
        if row.get("associated"):
            n = row["users"]
            return f"; {n} of its {max(len(inc.requesters), n)} customers met friction on {row['path']} first"
    return ""
