"""Incidents from alerts (a part of :class:`~server.incidents.engine.Engine`).

One per problem: the key is (series, family), the families being volume (spike, new_topic,
concentration), sentiment and drop. An alert on a key with an active incident updates it; matching
tickets attach to it; it notifies again only when it grows materially (twice the customers it had at the
last notification, and at least five more). It resolves itself once the series has been back inside its
band for ``resolve_after_minutes``, and reopens if the same rise comes back within ``REOPEN_AFTER``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.incidents.state import (FAMILY, HOUR, Alert, Describe, IncidentState, _dt, _Series, _Ticket, _ts)
from server.incidents.stats import band, surprise, upper_tail
from server.incidents.words import RISING_AGAIN, STILL_UNUSUAL, label_of, sentence, title

#: Most tickets (and their details) an incident keeps for evidence; all ids are kept.
MAX_REPRESENTATIVES = 3
#: An incident the detector resolved reopens when its series rises again within this long.
REOPEN_AFTER = 12 * 3600.0
#: After a person resolved an incident, a rise on its series reopens it (it was not over) until the
#: series has been calm this long in a row, or REOPEN_AFTER has passed; after that a rise is new.
CALM_TO_CLOSE = 2 * 3600.0
#: Evidence keys that record merges (a stronger alert refreshes the rest of the evidence, not these).
MERGE_MARKS = ("merged_incidents", "merged_into_incident")


class Lifecycle:
    """Opening, updating, reopening and resolving incidents, their evidence, and what the writer and the
    notifier take (``take_changes``)."""

    def _alert(self, alert: Alert, now: float, describe: Describe) -> None:
        family = FAMILY[alert.kind]
        key = (alert.series, family)
        inc_id = self.active.get(key)
        at = _dt(now)
        if inc_id is not None:
            inc = self.incidents[inc_id]
            if alert.p < inc.p_value:
                inc.p_value = alert.p
                self._fill_evidence(inc, alert, describe)
            for t in alert.tickets:
                fresh = self._fresh(inc, t)
                self._attach(inc, t, at)
                self._through_merge(inc, key, t, fresh)
            inc.calm_since = None
            inc.last_activity_at = at
            self._maybe_grew(inc)
            self._changed.add(inc.id)
            return
        if self.suppressed.get(key, -1.0) > now:
            return
        if self._reopen(key, alert, now, describe):
            return
        first = self._onset(alert, now)
        topic_id = int(alert.series.split(":", 1)[1]) if alert.series.startswith("topic:") else None
        inc = IncidentState(id=self.next_id, kind=alert.kind, series=alert.series, topic_id=topic_id,
                            first_seen_at=_dt(first), detected_at=at, status_changed_at=at,
                            last_activity_at=at, p_value=alert.p, direction=alert.direction)
        self.next_id += 1
        self.incidents[inc.id] = inc
        self.active[key] = inc.id
        for t in alert.tickets:
            self._attach(inc, t, at)
        self._fill_evidence(inc, alert, describe)
        inc.notified_requesters = len(inc.requesters)
        self._queue_notification(inc, "opened")
        self._changed.add(inc.id)

    def _reopen(self, key: tuple[str, str], alert: Alert, now: float, describe: Describe) -> bool:
        """A rise on a key whose incident the detector resolved less than REOPEN_AFTER ago is that
        incident coming back: it reopens (and says so) instead of opening another."""
        held = self.__dict__.get("held", {}).pop(key, None)  # a person resolved it before it calmed down
        if held is not None and now - held[1] <= REOPEN_AFTER:
            inc = self.incidents[held[0]]
            if inc.status == "resolved" and _ts(inc.status_changed_at) == held[1]:
                # The writer takes this reopening only over the very resolve it names (a person's later
                # decision, not yet read here, stands).
                inc.evidence = {**inc.evidence, "reopened": {
                    "at": _dt(now).isoformat(), "resolved_at": _dt(held[1]).isoformat(),
                    "resolved_by": inc.status_by, "reason": STILL_UNUSUAL}}
                return self._reopened(inc, key, alert, now, describe)
        last = self.__dict__.setdefault("auto_resolved", {}).pop(key, None)  # absent from older checkpoints
        if last is None or now - last[1] > REOPEN_AFTER:
            return False
        inc = self.incidents[last[0]]
        if inc.status != "resolved" or inc.status_by != "detector":
            return False
        inc.evidence = {**inc.evidence, "reopened": {
            "at": _dt(now).isoformat(), "resolved_at": _dt(last[1]).isoformat(), "resolved_by": "detector",
            "reason": RISING_AGAIN}}
        return self._reopened(inc, key, alert, now, describe)

    def _reopened(self, inc: IncidentState, key: tuple[str, str], alert: Alert, now: float,
                  describe: Describe) -> bool:
        at = _dt(now)
        inc.status, inc.status_by, inc.status_changed_at, inc.resolved_at = "open", "detector", at, None
        inc.calm_since, inc.last_activity_at = None, at
        self.active[key] = inc.id
        if alert.p < inc.p_value:
            inc.p_value = alert.p
            self._fill_evidence(inc, alert, describe)
        for t in alert.tickets:
            self._attach(inc, t, at)
        inc.notified_requesters = len(inc.requesters)
        self._queue_notification(inc, "reopened")
        self._changed.add(inc.id)
        return True

    def _onset(self, alert: Alert, now: float) -> float:
        """When the rise began: of the window's tickets, the one from which on the count is least likely
        under the baseline (for a drop, the start of its window)."""
        tickets = sorted(alert.tickets, key=lambda t: t.ts)
        series = self.series.get(alert.series)
        if not tickets or series is None or alert.direction != "up" or not alert.series.startswith("topic:"):
            return min((t.ts for t in tickets), default=now - alert.window)
        best, best_p = tickets[0].ts, 2.0
        who: set[str] = set()
        for t in reversed(tickets):
            who.add(t.who)
            mu, phi = self.forecast(series, t.ts - 1.0, now)
            p = upper_tail(len(who), mu, phi)
            if p <= best_p:
                best, best_p = t.ts, p
        return best

    def _attach(self, inc: IncidentState, t: _Ticket, at: datetime) -> None:
        if t.ticket_id in inc.ticket_ids:
            return
        inc.ticket_ids.append(t.ticket_id)
        if inc.family == "volume":
            t.claimed, t.incident = True, inc.id
        inc.requesters.add(t.who)
        if t.account:
            inc.accounts.add(t.account)
        if len(inc.representatives) < MAX_REPRESENTATIVES and t.text:
            inc.representatives.append({"ticket_id": t.ticket_id, "text": t.text[:300]})
        if inc.family == "volume":  # its tickets' tone, against the topic's usual (``tone``)
            n_tone, sum_tone = inc.__dict__.get("tone", (0, 0.0))
            inc.__dict__["tone"] = (n_tone + 1, sum_tone + t.sentiment)
        for path, session_id in getattr(t, "pages", ()):  # widget friction before the ticket, per page
            sessions, users = inc.__dict__.setdefault("pages", {}).setdefault(path, (set(), set()))
            sessions.add(session_id)
            users.add(t.who)
        self._attached.append((inc.id, t.ticket_id, at))

    def _attach_to_active(self, topic: _Series, ticket: _Ticket, at: datetime) -> None:
        for family in ("volume", "sentiment"):
            inc_id = self.active.get((topic.key, family))
            if inc_id is None:
                continue
            inc = self.incidents[inc_id]
            if family == "sentiment" and ticket.sentiment >= inc.evidence.get("expected", 0.0):
                continue
            fresh = self._fresh(inc, ticket)
            self._attach(inc, ticket, at)
            self._through_merge(inc, (topic.key, family), ticket, fresh)
            inc.last_activity_at = at
            self._maybe_grew(inc)
            self._changed.add(inc_id)

    def _maybe_grew(self, inc: IncidentState) -> None:
        n = len(inc.requesters)
        if n >= 2 * inc.notified_requesters and n >= inc.notified_requesters + 5:
            inc.notified_requesters = n
            self._queue_notification(inc, "grew")

    def _queue_notification(self, inc: IncidentState, event: str) -> None:
        if not self.live:
            return
        self._notify.append((inc.id, event, inc.notifications))
        inc.notifications += 1

    def _calm(self, inc: IncidentState, now: float) -> bool:
        """Whether the incident's series is back within its band over the last hour."""
        series = self.series.get(inc.series)
        if inc.family == "sentiment":
            return self._sentiment_calm(inc, now)
        if series is None:
            return True
        mu, phi = self.forecast(series, now - HOUR, now)
        lo, hi = band(mu, phi)
        if inc.kind == "drop":
            return self._count_since(series, now - HOUR, now) >= lo
        return len({t.who for t in series.in_window(now, HOUR)}) <= max(hi, 1)

    def _check_resolve(self, inc: IncidentState, now: float) -> None:
        calm = self._calm(inc, now)
        if not calm:
            inc.calm_since = None
            return
        if inc.calm_since is None:
            inc.calm_since = now
        if now - inc.calm_since >= self.settings.resolve_after_minutes * 60.0:
            at = _dt(now)
            inc.status, inc.status_by, inc.status_changed_at, inc.resolved_at = "resolved", "detector", at, at
            inc.last_activity_at = at
            self._release(inc.id)
            resolved = self.__dict__.setdefault("auto_resolved", {})
            resolved[(inc.series, inc.family)] = (inc.id, now)
            for k in [k for k, (_i, ts) in resolved.items() if now - ts > REOPEN_AFTER]:
                del resolved[k]
            self._queue_notification(inc, "resolved")
            self._changed.add(inc.id)

    def _release(self, incident_id: int) -> None:
        """The incident ended: every series leading to it (its own, and those of incidents merged into
        it) is free for a new incident."""
        for k in [k for k, v in self.active.items() if v == incident_id]:
            del self.active[k]

    def _release_before(self, ts: float) -> dict[str, Any] | None:
        best = None
        for rts, version, description in self.releases:
            if rts <= ts and ts - rts <= 86400.0:
                best = (rts, version, description)
        if best is None:
            return None
        rts, version, description = best
        return {"version": version, "deployed_at": _dt(rts).isoformat(), "description": description,
                "minutes_before": round((ts - rts) / 60.0)}

    def _fill_evidence(self, inc: IncidentState, alert: Alert, describe: Describe) -> None:
        info = dict(describe(inc.topic_id)) if inc.topic_id is not None else {}
        label = info.get("name") or info.get("label") or self.label(inc.series)
        release = self._release_before(_ts(inc.first_seen_at))
        # what people merged, and a reopening after a person's resolve, stay said
        kept = {k: inc.evidence[k] for k in (*MERGE_MARKS, "reopened") if k in inc.evidence}
        inc.evidence = {**kept,
            "observed": alert.observed,
            "expected": round(alert.expected, 3),
            "lower": alert.lower,
            "upper": alert.upper,
            "window_minutes": round(alert.window / 60.0),
            "p_value": alert.p,
            "surprise": round(surprise(alert.p), 2),
            "direction": alert.direction,
            "measure": "tickets" if alert.kind == "drop" else ("mean sentiment (VADER compound, -1 to 1)"
                                                                if alert.kind == "sentiment" else "customers"),
            "segments": alert.segments,
            "top_terms": list(info.get("keywords") or [])[:8],
            "topic_label": label if inc.topic_id is not None else None,
            "series_label": label if inc.topic_id is None and label != inc.series else None,
            "release": release,
            "window_tickets": len(alert.tickets) if alert.window_tickets is None else alert.window_tickets,
        }

    def _hour_so_far(self, inc: IncidentState) -> dict[str, Any] | None:
        """An active incident's series in its open hour: what came so far against the whole hour's
        expectation and band. Closed hours are written as volume points; this is the one a chart would
        otherwise miss while the incident is live. An incident that ended within the open hour keeps it
        (its rise would otherwise leave its chart until the hour closes); one that ended before, none."""
        series = self.series.get(inc.series)
        if series is None or self.watermark is None:
            return None
        ended = inc.resolved_at or inc.status_changed_at
        if not inc.active and (ended is None or not series.bucket <= _ts(ended) < series.bucket + HOUR):
            return None
        start = series.bucket
        mu, phi = self.forecast(series, start, start + HOUR)
        lo, hi = band(mu, phi)
        return {"start": _dt(start).isoformat(), "as_of": _dt(min(self.watermark, start + HOUR)).isoformat(),
                "tickets": series.tickets, "requesters": len(series.who), "expected": round(mu, 4),
                "lower": float(lo), "upper": float(hi)}

    def snapshot(self, inc: IncidentState) -> dict[str, Any]:
        """The incident as the writer stores it (and the notifier shows it)."""
        ev = dict(inc.evidence)
        ev["representatives"] = list(inc.representatives)
        ev["requesters"] = len(inc.requesters)
        ev["accounts"] = len(inc.accounts)
        hour = self._hour_so_far(inc)
        if hour is not None:
            ev["hour_so_far"] = hour
        if inc.__dict__.get("pages"):
            ev["pages"] = self._pages_evidence(inc)
        mood = self.tone(inc)
        if mood is not None:
            ev["sentiment"] = mood
        quoted = inc.topic_id is not None or bool(ev.get("topic_label"))
        return {
            "id": inc.id, "kind": inc.kind, "status": inc.status, "status_by": inc.status_by,
            "status_changed_at": inc.status_changed_at or inc.detected_at, "series": inc.series,
            "topic_id": inc.topic_id, "title": title(inc.kind, label_of(inc), quoted=quoted)[:300], "sentence": sentence(inc, mood, ev.get("pages")),
            "direction": inc.direction, "first_seen_at": inc.first_seen_at, "detected_at": inc.detected_at,
            "last_activity_at": inc.last_activity_at or inc.detected_at, "resolved_at": inc.resolved_at,
            "ticket_count": len(inc.ticket_ids), "requester_count": len(inc.requesters),
            "account_count": len(inc.accounts), "p_value": inc.p_value, "surprise": round(surprise(inc.p_value), 2),
            "evidence": ev, "useful_count": inc.useful, "noise_count": inc.noise,
        }

    def take_changes(self) -> dict[str, list[Any]]:
        """What changed since the last call: incident snapshots, attachments, closed hours, notifications."""
        out = {
            "incidents": [self.snapshot(self.incidents[i]) for i in sorted(self._changed)],
            "attached": self._attached,
            "detached": self.__dict__.pop("_detached", []),
            "points": self._points,
            "notifications": [(i, event, gen, self.snapshot(self.incidents[i])) for i, event, gen in self._notify],
        }
        self._changed, self._attached, self._points, self._notify = set(), [], [], []
        return out
