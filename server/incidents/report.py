"""How detection went over a period: the support lead's "how many incidents, how many were real, how fast
did we respond" (``GET /api/v1/incidents/report``, the incidents page's Report section).

Over the incidents detected in ``[since, until)``:

- how many, by kind and by their status now; how many people merged into another;
- people's verdicts: an incident counts as ``useful`` when its useful votes outnumber or equal its
  noise votes (and it has one), as ``noise`` when its noise votes outnumber its useful ones, else
  ``unrated``; ``precision`` is useful / (useful + noise), null before any verdict;
- response: the time from detection to the first thing a person did about the incident (acknowledging,
  resolving or dismissing it, or merging it into another), from the control events people's changes append to the log;
  and the time from detection to its resolution, for incidents resolved (not merged) so far, by the
  detector or a person. Detection times are the tickets' clock and people's changes the server's, so
  a negative difference (a clock running behind Zendesk's) counts as zero;
- the same counts per week (weeks start on Monday, UTC), for the chart;
- the series (topic, channel, form, page) with the most incidents, with their noise verdicts.

The incidents' scalar columns are read (never their evidence), and the tenant's control events (people's
decisions: few) through the (tenant, source) index, kept from ``since`` on.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import datetime, timedelta, timezone  # noqa: F401  (timezone: the doctests use it)
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.eventlog.log import as_utc
from server.eventlog.models import Event
from server.incidents.models import KINDS, STATUSES, Incident
from server.incidents.service import topic_labels
from server.widget.features import SIGNAL_NOUNS

#: The longest period one report covers, and the default one.
MAX_SPAN = timedelta(days=366)
DEFAULT_SPAN = timedelta(days=28)
#: Series listed in ``top_series``.
TOP_SERIES = 10
#: People's status changes that answer a detection (a reopen does not).
RESPONSES = ("acknowledged", "resolved", "dismissed")


def _week() -> dict[str, Any]:
    return {"incidents": 0, "by_kind": Counter(), "useful": 0, "noise": 0}


def _minutes(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() / 60.0)


def _summary(values: list[float]) -> dict[str, Any]:
    """Count, median and 90th percentile (nearest rank) in minutes, rounded; nulls without values."""
    if not values:
        return {"count": 0, "median_minutes": None, "p90_minutes": None}
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {"count": len(ordered), "median_minutes": round(statistics.median(ordered), 1),
            "p90_minutes": round(p90, 1)}


def verdict(useful: int, noise: int) -> str:
    """``useful``, ``noise`` or ``unrated`` from an incident's votes.

    >>> verdict(2, 1), verdict(1, 1), verdict(0, 1), verdict(0, 0)
    ('useful', 'useful', 'noise', 'unrated')
    """
    if noise > useful:
        return "noise"
    return "useful" if useful else "unrated"


def week_start(at: datetime) -> datetime:
    """The Monday 00:00 UTC that starts ``at``'s week.

    >>> week_start(datetime(2026, 12, 4, 15, 30, tzinfo=timezone.utc)).isoformat()
    '2026-11-30T00:00:00+00:00'
    """
    day = as_utc(at).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _first_responses(session: Session, tenant_id: int, since: datetime) -> tuple[dict[int, datetime], set[int]]:
    """Per incident, when a person first changed its status or merged it (the earliest control event),
    and the incidents people merged into another (and did not take back out)."""
    first: dict[int, datetime] = {}
    merged: set[int] = set()
    rows = session.execute(
        select(Event.event_time, Event.kind, Event.payload)
        .where(Event.tenant_id == tenant_id, Event.source == "control",
               Event.kind.in_(("control.status", "control.merge", "control.unmerge")), Event.received_at >= since)
        .order_by(Event.offset))
    for at, kind, payload in rows:
        incident_id = payload.get("incident_id") if isinstance(payload, dict) else None
        if not isinstance(incident_id, int) or isinstance(incident_id, bool):
            continue
        if kind == "control.unmerge":  # an undone merge was a response all the same (its time stays)
            merged.discard(incident_id)
            continue
        if kind == "control.status" and payload.get("status") not in RESPONSES:
            continue  # reopening is no response to the incident's detection
        at = as_utc(at)
        if incident_id not in first or at < first[incident_id]:
            first[incident_id] = at
        if kind == "control.merge":
            merged.add(incident_id)
    return first, merged


def _labels(session: Session, tenant_id: int, series: Iterable[str]) -> dict[str, str]:
    """A readable name per series: the topic's name (agents') or label, an organization's name (``Kestrel
    Logistics (organization 900002)``), ``/invoices (rage clicks)`` for a page's friction, ``channel
    email`` and so on."""
    from server.accounts.models import Organization

    series = list(series)
    names = topic_labels(session, tenant_id,
                          (int(s[6:]) for s in series if s.startswith("topic:") and s[6:].isdigit()))
    orgs = [s[13:] for s in series if s.startswith("organization:")]
    org_names = dict(session.execute(
        select(Organization.zendesk_id, Organization.name)
        .where(Organization.tenant_id == tenant_id, Organization.zendesk_id.in_(orgs)))
        .all()) if orgs else {}
    out = {}
    for s in series:
        head, _, rest = s.partition(":")
        if head == "topic" and rest.isdigit() and int(rest) in names:
            out[s] = names[int(rest)]
        elif head == "organization" and org_names.get(rest):  # as the incident's title names it
            out[s] = f"{org_names[rest]} (organization {rest})"
        elif head == "page" and rest.rpartition(":")[2] in SIGNAL_NOUNS:  # page:<path>:<signal>
            path, _, signal = rest.rpartition(":")
            out[s] = f"{path} ({SIGNAL_NOUNS[signal]})"
        else:
            out[s] = f"{head} {rest}".strip() if rest else ("all tickets" if s == "all" else s)
    return out


def incident_report(session: Session, tenant_id: int, *, since: datetime, until: datetime) -> dict[str, Any]:
    """The report of incidents detected in ``[since, until)``; see the module docstring."""
    since, until = as_utc(since), as_utc(until)
    rows = session.execute(
        select(Incident.id, Incident.kind, Incident.status, Incident.series, Incident.detected_at,
               Incident.resolved_at, Incident.useful_count, Incident.noise_count)
        .where(Incident.tenant_id == tenant_id, Incident.detected_at >= since, Incident.detected_at < until)
    ).all()
    first, merged = _first_responses(session, tenant_id, since)
    by_kind: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    weeks: dict[datetime, dict[str, Any]] = {}
    series: dict[str, Counter[str]] = {}
    respond: list[float] = []
    resolve: list[float] = []
    for r in rows:
        detected = as_utc(r.detected_at)
        v = verdict(r.useful_count or 0, r.noise_count or 0)
        by_kind[r.kind] += 1
        by_status[r.status] += 1
        verdicts[v] += 1
        week = weeks.setdefault(week_start(detected), _week())
        week["incidents"] += 1
        week["by_kind"][r.kind] += 1
        if v != "unrated":
            week[v] += 1
        s = series.setdefault(r.series, Counter())
        s["incidents"] += 1
        s[v] += 1
        if r.id in first:
            respond.append(_minutes(first[r.id] - detected))
        if r.status == "resolved" and r.resolved_at is not None and r.id not in merged:
            resolve.append(_minutes(as_utc(r.resolved_at) - detected))
    rated = verdicts["useful"] + verdicts["noise"]
    start, week_list = week_start(since), []
    while start < until:  # every week of the period, empty ones too, so the chart's axis is time
        w = weeks.get(start) or _week()
        week_list.append({"start": start, "incidents": w["incidents"], "by_kind": dict(sorted(w["by_kind"].items())),
                          "useful": w["useful"], "noise": w["noise"]})
        start += timedelta(days=7)
    top = sorted(series.items(), key=lambda kv: (-kv[1]["incidents"], kv[0]))[:TOP_SERIES]
    labels = _labels(session, tenant_id, [k for k, _ in top])
    return {
        "since": since, "until": until, "incidents": len(rows),
        "by_kind": {k: by_kind[k] for k in KINDS if by_kind[k]},
        "by_status": {k: by_status[k] for k in STATUSES if by_status[k]},
        "merged": sum(1 for r in rows if r.id in merged),
        "feedback": {"useful": verdicts["useful"], "noise": verdicts["noise"], "unrated": verdicts["unrated"],
                     "precision": round(verdicts["useful"] / rated, 3) if rated else None},
        "time_to_respond": _summary(respond),
        "time_to_resolve": _summary(resolve),
        "weeks": week_list,
        "top_series": [{"series": k, "label": labels[k], "incidents": c["incidents"], "useful": c["useful"],
                        "noise": c["noise"]} for k, c in top],
    }
