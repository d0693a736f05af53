"""Incident summaries written by Claude when an API key is configured (the on-call reader's "what is
going on", beside the detector's own sentence of numbers).

A background worker in the detector process asks Claude, through the same client and hourly budget
as the topic summaries (server/topics/summaries.py), what the customers of an active incident are
running into: the incident's sentence and top terms, and its representative tickets, whose text was
redacted before the detector kept it. An incident is summarised once it holds at least
``MIN_TICKETS`` tickets, and again when it has twice as many as when last summarised. The answer is
stored on the incident (``llm_summary``) and shown everywhere as untrusted plain text: the incident
API and page, the sidebar, Slack messages and webhook bodies sent after it (Slack's thread parent is
redrawn with it at once in Web API mode). Incidents without ticket text (drops, friction) are not
summarised; neither are incidents of tenants outside the detector's partition. A failed call (or a
spent budget) ends the pass, and the worker waits a minute before the next, doubling up to half an hour
while calls keep failing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from server.db import Database
from server.incidents.models import ACTIVE, Incident
from server.topics.summaries import ticket_lines
from server.workers import start_periodic

log = logging.getLogger(__name__)

PROMPT = (
    "An anomaly detector opened this support incident: {sentence}\nTop terms: {terms}.\n\n"
    "Some of its tickets (personal data is already replaced by placeholders like [email]):\n{tickets}\n\n"
    "In at most two short sentences, say what these customers are running into and what they have in "
    "common, for the engineer on call. Do not repeat the counts. Plain text only, no preamble."
)
MIN_TICKETS = 3


def incident_prompt(incident: Incident) -> str | None:
    """The prompt for ``incident``, or None when it holds no ticket text."""
    ev = incident.evidence or {}
    texts = [str(r.get("text")) for r in ev.get("representatives") or [] if isinstance(r, dict) and r.get("text")]
    if not texts:
        return None
    terms = ", ".join(str(t) for t in (ev.get("top_terms") or [])[:8]) or "none"
    return PROMPT.format(sentence=" ".join(str(incident.sentence or incident.title).split()), terms=terms,
                         tickets=ticket_lines(texts))


def stale_incidents(session: Session, limit: int = 10, partition: tuple[int, int] = (0, 1)) -> list[Incident]:
    """Active incidents with at least MIN_TICKETS tickets and no summary yet, or twice as many tickets
    as when last summarised; those never summarised first, then the largest."""
    q = select(Incident).where(Incident.status.in_(ACTIVE), Incident.ticket_count >= MIN_TICKETS,
                               or_(Incident.llm_summary_size.is_(None),
                                   Incident.ticket_count >= 2 * Incident.llm_summary_size))
    index, count = partition
    if count > 1:
        q = q.where(Incident.tenant_id % count == index)
    q = q.order_by(Incident.llm_summary_size.is_not(None), Incident.ticket_count.desc()).limit(limit)
    return list(session.scalars(q))


@dataclass
class Backoff:
    """After a pass whose call failed (or found the budget spent), no pass until ``after``; the wait
    doubles from a minute to half an hour while calls keep failing, so a failing API or a spent budget
    costs one call a wait, not one every pass (the budget is shared with the topic summaries)."""

    clock: Callable[[], float] = time.monotonic
    after: float = 0.0
    delay: float = 0.0

    def ready(self) -> bool:
        return self.clock() >= self.after

    def failed(self) -> None:
        self.delay = min(max(2 * self.delay, 60.0), 1800.0)
        self.after = self.clock() + self.delay

    def succeeded(self) -> None:
        self.delay = 0.0


def refresh_incident_summaries(db: Database, summarizer: Any, *, limit: int = 10, partition: tuple[int, int] = (0, 1),
                               on_summary: Callable[[int, int], None] = lambda _t, _i: None,
                               backoff: Backoff | None = None) -> int:
    """Summarise stale incidents; returns how many were updated. ``on_summary(tenant_id, incident_id)``
    runs after each one is stored (the Slack notifier redraws the thread's parent). A failed call ends
    the pass (and with ``backoff``, waits before the next). No database session is held while Claude
    answers."""
    if backoff is not None and not backoff.ready():
        return 0
    with db.session() as session:
        todo = [(i.tenant_id, i.id, i.ticket_count, incident_prompt(i)) for i in stale_incidents(session, limit, partition)]
    done = 0
    for tenant_id, incident_id, size, prompt in todo:
        if prompt is None:  # no ticket text: not asked again until the incident doubles
            _store(db, tenant_id, incident_id, llm_summary_size=size)
            continue
        summary = summarizer.complete(prompt)
        if summary is None:  # failed, or over budget: asked again on a later pass
            if backoff is not None:
                backoff.failed()
            break
        if backoff is not None:
            backoff.succeeded()
        _store(db, tenant_id, incident_id, llm_summary=summary, llm_summary_size=size)
        done += 1
        try:
            on_summary(tenant_id, incident_id)
        except Exception:  # the summary is stored; showing it sooner in Slack is a nicety
            log.exception("after the summary of incident %s/%s", tenant_id, incident_id)
    return done


def _store(db: Database, tenant_id: int, incident_id: int, **values: Any) -> None:
    with db.session() as session:
        session.execute(update(Incident).where(Incident.tenant_id == tenant_id, Incident.id == incident_id)
                        .values(**values))
        session.commit()


def current_summary(session: Session, tenant_id: int, incident_id: int) -> str | None:
    """The incident's stored summary, or None."""
    return session.scalar(select(Incident.llm_summary).where(Incident.tenant_id == tenant_id,
                                                             Incident.id == incident_id))


def start_worker(db: Database, summarizer: Any, *, interval: float = 10.0, partition: tuple[int, int] = (0, 1),
                 on_summary: Callable[[int, int], None] = lambda _t, _i: None,
                 stop: threading.Event | None = None) -> threading.Thread:
    """Refresh incident summaries every ``interval`` seconds in a daemon thread, apart from the detector loop."""
    backoff = Backoff()
    return start_periodic("incident-summaries",
                          lambda: refresh_incident_summaries(db, summarizer, partition=partition, on_summary=on_summary,
                                                             backoff=backoff),
                          interval=interval, stop=stop)
