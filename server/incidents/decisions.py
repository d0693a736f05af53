"""People's decisions on incidents, as the engine keeps them (a part of
:class:`~server.incidents.engine.Engine`): marks (useful, noise), status changes, merges and their undoing.

People acknowledge, resolve, dismiss or reopen through the API; what was announced hears of each
(acknowledged, resolved, reopened) once; a dismissed key stays quiet for a day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.incidents.state import IncidentState, _Ticket, _ts

SUPPRESS_AFTER_DISMISS = 86400.0


class Decisions:
    """Mirrors what people decide through the API into the engine's state."""

    def feedback(self, incident_id: int, verdict: str, by: str | None = None, was: str | None = None) -> None:
        """A person's mark on an incident: ``noise`` raises the bar of its series and kind a step (at most
        three), ``useful`` takes one back. Each person's mark on an incident counts once: the same mark
        again changes nothing, and a changed mark first takes back the step the earlier one made (``was``:
        the mark it replaces, as the API recorded it, for a mark made before this engine kept them)."""
        inc = self.incidents.get(incident_id)
        if inc is None or verdict not in ("noise", "useful"):
            return
        key = (inc.series, inc.kind)
        marks: dict[str, tuple[str, int]] = inc.__dict__.setdefault("marks", {})  # absent from older checkpoints
        if by is not None and by not in marks and was in ("noise", "useful") and was != verdict:
            marks[by] = (was, 1 if was == "noise" else -1)  # made before marks were kept: a whole step
        if by is not None and by in marks:
            before, step = marks[by]
            if before == verdict:
                return
            self.noise[key] = min(3, max(0, self.noise.get(key, 0) - step))
            if before == "noise":
                inc.noise = max(0, inc.noise - 1)
            else:
                inc.useful = max(0, inc.useful - 1)
        level = self.noise.get(key, 0)
        if verdict == "noise":
            inc.noise += 1
            self.noise[key] = min(3, level + 1)
        else:
            inc.useful += 1
            self.noise[key] = max(0, level - 1)
        if by is not None:
            marks[by] = (verdict, self.noise[key] - level)

    def set_status(self, incident_id: int, status: str, by: str, at: datetime) -> None:
        """Mirror a person's status change (made through the API) into the engine's state."""
        inc = self.incidents.get(incident_id)
        if inc is None or inc.status == status:
            return
        key = (inc.series, inc.family)
        was_active, before = inc.active, inc.status
        inc.status, inc.status_by, inc.status_changed_at = status, by, at
        if "reopened" in inc.evidence:  # a person's decision since: the reopening is no longer news
            inc.evidence = {k: v for k, v in inc.evidence.items() if k != "reopened"}
        if status in ("resolved", "dismissed"):
            inc.resolved_at = at if status == "resolved" else inc.resolved_at
            if was_active and inc.notifications:  # close what was announced: the Slack thread, the PagerDuty alert
                self._queue_notification(inc, "resolved")
            led = {key, *(k for k, v in self.active.items() if v == incident_id)}
            self._release(incident_id)
            if status == "resolved" and was_active:  # a rise before it calms down reopens it
                held = self.__dict__.setdefault("held", {})
                for k in led:  # its own series, and those of incidents merged into it
                    held[k] = (incident_id, _ts(at), None)
            if status == "dismissed":  # quiet on every series that led to it (those merged into it too)
                for k in led:
                    self.suppressed[k] = _ts(at) + SUPPRESS_AFTER_DISMISS
        elif status in ("open", "acknowledged"):
            if status == "acknowledged" and was_active and inc.notifications:
                self._queue_notification(inc, "acknowledged")  # the thread and the PagerDuty alert: someone is on it
            elif (not was_active or before == "acknowledged") and inc.notifications:
                # a person says it is not over (the thread that said it ended hears so, PagerDuty alerts
                # again), or takes an acknowledgement back (the thread and its parent stop saying someone
                # is on it)
                self._queue_notification(inc, "reopened")
            inc.resolved_at = None
            inc.calm_since = None
            current = self.active.get(key)
            if current is None:
                self.active[key] = incident_id
                self.suppressed.pop(key, None)
        self._changed.add(incident_id)

    def merge_incidents(self, absorbed: int, into: int, by: str, at: datetime) -> None:
        """A person said incident ``absorbed`` is the same problem as ``into`` (both active, one family):
        ``into`` takes its tickets, customers, accounts and pages, and from now on what would have
        attached to ``absorbed`` (tickets on its series, a renewed rise there) attaches to ``into``,
        until ``into`` ends; ``absorbed`` is resolved by that person, saying where it went."""
        gone, keep = self.incidents.get(absorbed), self.incidents.get(into)
        if gone is None or not gone.active or absorbed == into:
            return  # the API checked this; a replay of a merge that no longer applies changes nothing
        if keep is None or not keep.active or gone.family != keep.family:
            # The other one ended (by itself) before the detector read the merge: the person's decision
            # about this one stands, as the API already wrote it; nothing moves.
            self._resolve_merged(gone, into, by, at)
            self._release(gone.id)
            self._changed.add(gone.id)
            return
        # What ``keep`` takes is written down, so that undoing the merge (``unmerge_incidents``) gives
        # back exactly that: the tickets, customers, accounts and pages it did not have, the series that
        # led to ``gone``, and (below, as they come) the tickets that join through those series.
        keep.__dict__.setdefault("own_first_seen", keep.first_seen_at)
        taken: dict[str, Any] = {
            "tickets": [t for t in gone.ticket_ids if t not in keep.ticket_ids],
            "requesters": gone.requesters - keep.requesters, "accounts": gone.accounts - keep.accounts,
            "pages": {}, "keys": [k for k, v in self.active.items() if v == gone.id], "later": []}
        self._take_tickets(keep, gone, at)
        for path, (sessions, users) in gone.__dict__.get("pages", {}).items():
            mine = keep.__dict__.setdefault("pages", {}).setdefault(path, (set(), set()))
            taken["pages"][path] = (sessions - mine[0], users - mine[1])
            mine[0].update(sessions)
            mine[1].update(users)
        keep.__dict__.setdefault("merged_from", {})[gone.id] = taken
        self.__dict__.setdefault("merge_records", set()).add(keep.id)
        keep.first_seen_at = min(keep.first_seen_at, gone.first_seen_at)
        keep.last_activity_at = at
        merged = sorted(set(keep.evidence.get("merged_incidents", [])) | {gone.id})
        keep.evidence = {**keep.evidence, "merged_incidents": merged}
        self._resolve_merged(gone, keep.id, by, at)
        bank = self.__dict__.get("bank")
        series = self.series.get(gone.series)
        for t in [*(bank.tickets if bank is not None else ()), *(series.recent if series is not None else ())]:
            if t.incident == gone.id:  # its tickets now draw the tickets close to them to the incident it joined
                t.incident = keep.id
        self._redirect(gone.id, keep.id)
        self._maybe_grew(keep)
        self._changed |= {keep.id, gone.id}

    def unmerge_incidents(self, absorbed: int, into: int, status: str, by: str, at: datetime) -> None:
        """A person undid the merge of ``absorbed`` into ``into``: ``absorbed`` is active again (in
        ``status``, as the API wrote it) with its own tickets, customers, accounts and pages, those that
        joined through its series while it was merged included; ``into`` gives back what it took, and the
        series that led to ``absorbed`` lead to it again."""
        gone, keep = self.incidents.get(absorbed), self.incidents.get(into)
        if gone is None or keep is None or gone.evidence.get("merged_into_incident") != into:
            return  # the API checked this; a replay of an undo that no longer applies changes nothing
        taken = keep.__dict__.get("merged_from", {}).pop(absorbed, None)
        merged = [i for i in keep.evidence.get("merged_incidents", []) if i != absorbed]
        keep.evidence = {k: v for k, v in keep.evidence.items() if k != "merged_incidents"}
        if merged:
            keep.evidence["merged_incidents"] = merged
        gone.evidence = {k: v for k, v in gone.evidence.items() if k not in ("merged_into_incident", "status_before_merge")}
        gone.status, gone.status_by, gone.status_changed_at, gone.resolved_at = status, by, at, None
        gone.calm_since, gone.last_activity_at = None, at
        keys = [(gone.series, gone.family)]
        if taken is not None:
            later = [tid for tid, _who, _account in taken["later"]]
            back = set(taken["tickets"]) | set(later)
            keep.ticket_ids = [t for t in keep.ticket_ids if t not in back]
            # Attachments to ``keep`` not yet written (a merge and its undo in one batch) are dropped; those
            # written before are detached. The writer applies detachments before attachments.
            self._attached = [a for a in self._attached if not (a[0] == keep.id and a[1] in back)]
            self.__dict__.setdefault("_detached", []).extend((keep.id, t) for t in sorted(back))
            keep.requesters -= taken["requesters"]
            keep.accounts -= taken["accounts"]
            for path, (sessions, users) in taken["pages"].items():
                mine = keep.__dict__.get("pages", {}).get(path)
                if mine is not None:
                    mine[0].difference_update(sessions)
                    mine[1].difference_update(users)
                    if not mine[0] and not mine[1]:
                        del keep.__dict__["pages"][path]
            for tid, who, account in taken["later"]:  # they joined through its series: they are its
                if tid not in gone.ticket_ids:
                    gone.ticket_ids.append(tid)
                    self._attached.append((gone.id, tid, at))
                gone.requesters.add(who)
                if account:
                    gone.accounts.add(account)
            bank = self.__dict__.get("bank")
            for t in [*(bank.tickets if bank is not None else ()),
                      *(t for s in {keep.series, gone.series} if s in self.series for t in self.series[s].recent)]:
                if t.incident == keep.id and t.ticket_id in back:
                    t.incident = gone.id
            keys += [tuple(k) for k in taken["keys"]]
        own = keep.__dict__.get("own_first_seen", keep.first_seen_at)
        others = [self.incidents[i].first_seen_at for i in keep.__dict__.get("merged_from", {}) if i in self.incidents]
        keep.first_seen_at = min([own, *others])
        if not keep.__dict__.get("merged_from"):
            self.__dict__.get("merge_records", set()).discard(keep.id)
        if status in ("open", "acknowledged"):
            for k in dict.fromkeys(keys):  # back to it, unless another incident took the series meanwhile
                if k != (keep.series, keep.family) and self.active.get(k) in (None, keep.id):
                    self.active[k] = gone.id
                    self.suppressed.pop(k, None)
        if gone.notifications:  # its thread said it was merged away: it hears that it is back
            self._queue_notification(gone, "reopened")
        self._changed |= {keep.id, gone.id}

    @staticmethod
    def _fresh(inc: IncidentState, t: _Ticket) -> tuple[bool, bool, bool]:
        """Whether ``t``, its writer and its account are new to ``inc`` (before attaching it)."""
        return (t.ticket_id not in inc.ticket_ids, t.who not in inc.requesters,
                bool(t.account) and t.account not in inc.accounts)

    def _through_merge(self, inc: IncidentState, key: tuple[str, str], t: _Ticket,
                       fresh: tuple[bool, bool, bool]) -> None:
        """A ticket that joined ``inc`` through the series ``key`` of an incident merged into it goes
        back with that incident if the merge is undone (with its writer and account, when they were
        new to ``inc``)."""
        if not fresh[0]:
            return
        for taken in inc.__dict__.get("merged_from", {}).values():
            if key in taken["keys"]:
                taken["later"].append((t.ticket_id, t.who, t.account))
                if fresh[1]:
                    taken["requesters"].add(t.who)
                if fresh[2]:
                    taken["accounts"].add(t.account)
                return

    def _take_tickets(self, keep: IncidentState, gone: IncidentState, at: datetime) -> None:
        """``keep`` takes ``gone``'s tickets (attached at ``at``), customers and accounts."""
        for tid in gone.ticket_ids:
            if tid not in keep.ticket_ids:
                keep.ticket_ids.append(tid)
                self._attached.append((keep.id, tid, at))
        keep.requesters |= gone.requesters
        keep.accounts |= gone.accounts

    def _resolve_merged(self, gone: IncidentState, into: int, by: str, at: datetime) -> None:
        before = gone.status
        gone.status, gone.status_by, gone.status_changed_at, gone.resolved_at = "resolved", by, at, at
        gone.evidence = {**gone.evidence, "merged_into_incident": into, "status_before_merge": before}
        if gone.notifications:  # close what was announced about it
            self._queue_notification(gone, "resolved")

    def _redirect(self, gone: int, keep: int) -> None:
        """Every series that led to incident ``gone`` leads to ``keep`` now."""
        for k in [k for k, v in self.active.items() if v == gone]:
            self.active[k] = keep
