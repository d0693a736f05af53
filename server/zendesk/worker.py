"""The Zendesk worker: automatic linking of new incident tickets, and incidents resolved when their
problem ticket is solved. Runs in the detector process, apart from the detector loop, like the Slack
notifier (`server.notify`), so no Zendesk call ever sits in the detector's hot path.

**Auto-link outbox.** When the detector attaches a ticket to an incident (the incident writer calls
`queue_auto_link` in its own transaction), and the tenant has ``auto_link`` on, and the incident
already has a problem ticket, a ``pending`` row goes into ``zendesk_ticket_links`` (primary key
tenant + incident + ticket: a replay finds it and adds nothing). The worker claims a due row with a
compare-and-set on ``attempts``, links the ticket (type ``incident``, ``problem_id``) with an internal
note carrying the incident's evidence sentence, and marks it ``done``; a failure is retried with
back-off and ends ``failed`` after `MAX_ATTEMPTS`.

**Solved problems.** For each tenant with an unresolved problem ticket the worker reads the tenant's
Zendesk events in the log after ``zendesk_connections.events_offset`` (webhook deliveries and
backfill alike, parsed by `server.understand.intake.parse`). When one says a problem ticket's status
is solved or closed, the incident is resolved through `server.incidents.actions.set_status`, which
appends a ``control.status`` event: the detector, a replay and a backtest all see the resolution at
the same point of the log.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session

from server.db import Database
from server.errors import ClientError
from server.eventlog import Event, EventLog
from server.incidents.models import ACTIVE, Incident
from server.metrics import utcnow
from server.tenants import Tenant
from server.zendesk.client import ZendeskError, ZendeskRateLimited
from server.zendesk.connection import tenant_client
from server.zendesk.models import ProblemTicket, TicketLink, ZendeskConnection
from server.zendesk.problems import MAX_NOTE, call, incident_url
from server.zendesk.service import auto_link_enabled
from server.workers import start_periodic

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_SECONDS = 30.0
MAX_BACKOFF = 3600.0
LEASE = timedelta(seconds=120)
EVENTS_PER_PASS = 1000
_SOLVED = frozenset({"solved", "closed"})
#: Organizations named per tenant and pass (one show_many call: Zendesk takes at most 100 ids).
NAME_BATCH = 100
#: An organization Zendesk did not name is asked again after this long.
NAME_RETRY = timedelta(days=1)
#: Least time between two looks for unnamed organizations (each reads the tenants' tickets' organizations).
NAME_EVERY = timedelta(minutes=5)


def queue_auto_link(session: Session, tenant_id: int, incident_id: int, zendesk_id: str, now: datetime) -> bool:
    """Queue the automatic link of a ticket that just joined an incident; True when queued.

    Called by the detector's incident writer inside its transaction. Does nothing unless the tenant
    has auto-link on and the incident has a problem ticket (which is never linked to itself).
    """
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not auto_link_enabled(tenant.settings):
        return False
    problem = session.get(ProblemTicket, (tenant_id, incident_id))
    if problem is None or problem.problem_ticket_id is None or problem.problem_ticket_id == zendesk_id:
        return False
    if session.get(TicketLink, (tenant_id, incident_id, zendesk_id)) is not None:
        return False
    session.add(TicketLink(tenant_id=tenant_id, incident_id=incident_id, zendesk_id=zendesk_id, linked_by="auto",
                           state="pending", attempts=0, next_attempt_at=now, created_at=now))
    return True


def auto_link_note(incident: Incident, base_url: str | None) -> str:
    """The internal note an automatically linked ticket gets."""
    lines = [f"Groundswell linked this ticket to the known issue \"{incident.title}\".", "", incident.sentence]
    url = incident_url(base_url, incident.id)
    if url:
        lines += ["", url]
    return "\n".join(lines)[:MAX_NOTE]


class ZendeskWorker:
    """Sends the auto-link outbox and resolves incidents whose problem ticket was solved.

    Parameters
    ----------
    db, log
        The database and the event log (control events are appended to it).
    cfg
        The configuration (marketplace identity, Zendesk timeout, PUBLIC_URL).
    secret_key
        Decrypts the tenants' Zendesk credentials.
    partition
        ``(index, count)``: only tenants with ``id % count == index``, like the detector.
    clock
        Returns the current aware UTC time.
    """

    def __init__(self, db: Database, log: EventLog, cfg: Mapping[str, Any], *, secret_key: str,
                 partition: tuple[int, int] = (0, 1), clock: Callable[[], datetime] = utcnow,
                 batch: int = 50) -> None:
        self.db = db
        self.log = log
        self.cfg = cfg
        self.secret_key = secret_key
        self.partition = partition
        self.clock = clock
        self.batch = batch
        self._asked: dict[tuple[int, str], datetime] = {}  # (tenant, organization id) -> when its name was asked
        self._named_at: datetime | None = None  # the last look for unnamed organizations

    def _mine(self, column: Any) -> Any:
        index, count = self.partition
        return column % count == index if count > 1 else true()

    def run_once(self) -> int:
        """One pass: due links, solved problems, then unnamed organizations. Returns how many things it did."""
        return self.link_pending() + self.watch_problems() + self.name_organizations()

    # -- auto-link --------------------------------------------------------------------------------
    def link_pending(self) -> int:
        now = self.clock()
        with self.db.session() as session:
            rows = session.execute(select(TicketLink.tenant_id, TicketLink.incident_id, TicketLink.zendesk_id,
                                          TicketLink.attempts).where(
                TicketLink.state == "pending", self._mine(TicketLink.tenant_id),
                or_(TicketLink.next_attempt_at.is_(None), TicketLink.next_attempt_at <= now))
                .order_by(TicketLink.next_attempt_at).limit(self.batch)).all()
        done = 0
        for tenant_id, incident_id, zendesk_id, attempts in rows:
            done += self._link_one(tenant_id, incident_id, zendesk_id, attempts)
        return done

    def _link_one(self, tenant_id: int, incident_id: int, zendesk_id: str, attempts: int) -> int:
        now = self.clock()
        key = (TicketLink.tenant_id == tenant_id, TicketLink.incident_id == incident_id,
               TicketLink.zendesk_id == zendesk_id)
        with self.db.session() as session:
            claimed = session.execute(update(TicketLink).where(*key, TicketLink.state == "pending",
                                                               TicketLink.attempts == attempts)
                                      .values(attempts=attempts + 1, next_attempt_at=now + LEASE)
                                      .execution_options(synchronize_session=False))
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return 0
            link = session.get(TicketLink, (tenant_id, incident_id, zendesk_id))
            problem = session.get(ProblemTicket, (tenant_id, incident_id))
            incident = session.get(Incident, (tenant_id, incident_id))
            if link is None or problem is None or problem.problem_ticket_id is None or incident is None:
                return 0
            try:
                self._send(session, tenant_id, zendesk_id, int(problem.problem_ticket_id), incident)
            except ZendeskError as e:
                self._failed(link, e, now)
                session.commit()
                return 0
            link.state, link.linked_at, link.last_error, link.next_attempt_at = "done", self.clock(), None, None
            session.commit()
            return 1

    def _send(self, session: Session, tenant_id: int, zendesk_id: str, problem_id: int, incident: Incident) -> None:
        from zenpy.lib.api_objects import Comment, Ticket

        zd = tenant_client(session, tenant_id, self.cfg, secret_key=self.secret_key)
        ticket = Ticket(id=int(zendesk_id), type="incident", problem_id=problem_id,
                        comment=Comment(body=auto_link_note(incident, self.cfg.get("PUBLIC_URL") or None),
                                        public=False))
        call(f"link ticket {zendesk_id} to problem {problem_id}", lambda: zd.tickets.update(ticket))

    def _failed(self, link: TicketLink, error: ZendeskError, now: datetime) -> None:
        log.warning("zendesk auto-link failed: %s", error, extra={
            "tenant_id": link.tenant_id, "incident_id": link.incident_id, "attempt": link.attempts})
        link.last_error = str(error)[:500]
        if link.attempts >= MAX_ATTEMPTS:
            link.state, link.next_attempt_at = "failed", None
            return
        delay = error.retry_after if isinstance(error, ZendeskRateLimited) else \
            min(MAX_BACKOFF, RETRY_SECONDS * 2 ** (link.attempts - 1))
        link.next_attempt_at = now + timedelta(seconds=delay)

    # -- organization names -----------------------------------------------------------------------
    def name_organizations(self) -> int:
        """Ask Zendesk for the names of organizations whose tickets came without one (Zendesk's
        event-subscribed deliveries carry only the id), at most :data:`NAME_BATCH` per tenant, every
        :data:`NAME_EVERY` (the worker's other passes run every few seconds); an id Zendesk does not answer
        for is asked again after :data:`NAME_RETRY`. Returns how many were named."""
        now = self.clock()
        if self._named_at is not None and now - self._named_at < NAME_EVERY:
            return 0
        self._named_at = now
        with self.db.session() as session:
            tenants = list(session.scalars(select(ZendeskConnection.tenant_id)
                                           .where(self._mine(ZendeskConnection.tenant_id))))
        return sum(self._name_tenant(t) for t in tenants)

    def _name_tenant(self, tenant_id: int) -> int:
        from server.accounts.models import Organization
        from server.topics.models import Ticket

        now = self.clock()
        with self.db.session() as session:
            named = select(Organization.zendesk_id).where(Organization.tenant_id == tenant_id)
            unnamed = session.scalars(select(Ticket.organization_id).where(
                Ticket.tenant_id == tenant_id, Ticket.organization_id.is_not(None),
                Ticket.organization_id.not_in(named)).distinct().limit(NAME_BATCH * 10)).all()
            ids = [str(i) for i in unnamed if str(i).isdigit() and len(str(i)) <= 19
                   and self._asked.get((tenant_id, str(i)), now - 2 * NAME_RETRY) <= now - NAME_RETRY][:NAME_BATCH]
            if not ids:
                return 0
            for i in ids:
                self._asked[(tenant_id, i)] = now
            try:
                zd = tenant_client(session, tenant_id, self.cfg, secret_key=self.secret_key)
                found = call(f"show {len(ids)} organizations",
                             lambda: [(o.id, o.name) for o in zd.organizations(ids=[int(i) for i in ids])])
            except ZendeskError as e:
                log.warning("zendesk organization names not fetched: %s", e, extra={"tenant_id": tenant_id})
                return 0
            done = 0
            for org_id, name in found:
                if str(org_id) in ids and isinstance(name, str) and name.strip():
                    if session.get(Organization, (tenant_id, str(org_id))) is None:
                        session.add(Organization(tenant_id=tenant_id, zendesk_id=str(org_id),
                                                 name=name.strip()[:255], updated_at=now))
                        done += 1
            session.commit()
            return done

    # -- solved problems --------------------------------------------------------------------------
    def watch_problems(self) -> int:
        with self.db.session() as session:
            tenants = list(session.scalars(select(ProblemTicket.tenant_id).where(
                ProblemTicket.problem_ticket_id.is_not(None), ProblemTicket.resolved_at.is_(None),
                self._mine(ProblemTicket.tenant_id)).distinct()))
        return sum(self._watch_tenant(t) for t in tenants)

    def _watch_tenant(self, tenant_id: int) -> int:
        from server.incidents.actions import set_status
        from server.understand.intake import parse

        with self.db.session() as session:
            conn = session.get(ZendeskConnection, tenant_id)
            if conn is None:
                return 0
            problems = {p.problem_ticket_id: p for p in session.scalars(select(ProblemTicket).where(
                ProblemTicket.tenant_id == tenant_id, ProblemTicket.problem_ticket_id.is_not(None),
                ProblemTicket.resolved_at.is_(None)))}
            events = session.execute(select(Event.offset, Event.kind, Event.payload).where(
                Event.tenant_id == tenant_id, Event.offset > conn.events_offset, Event.source == "zendesk")
                .order_by(Event.offset).limit(EVENTS_PER_PASS)).all()
            solved: list[ProblemTicket] = []
            for _, kind, payload in events:
                update_ = parse(kind, payload) if isinstance(payload, dict) else None
                if update_ is not None and update_.status in _SOLVED and update_.ticket_id in problems:
                    problem = problems.pop(update_.ticket_id)
                    solved.append(problem)
            if events:
                conn.events_offset = events[-1][0]
            done = 0
            for problem in solved:
                problem.resolved_at = now = self.clock()
                session.commit()
                incident = session.get(Incident, (tenant_id, problem.incident_id))
                if incident is None or incident.status not in ACTIVE:
                    continue
                try:
                    set_status(session, self.log, tenant_id, problem.incident_id, status="resolved",
                               by=f"Zendesk: problem ticket #{problem.problem_ticket_id} solved", now=now)
                    done += 1
                except ClientError as e:  # a person changed it meanwhile
                    log.info("incident not resolved from Zendesk: %s", e.message)
            session.commit()
            return done


def start_worker(worker: ZendeskWorker, *, interval: float = 5.0,
                 stop: threading.Event | None = None) -> threading.Thread:
    """Run ``worker.run_once`` every ``interval`` seconds in a daemon thread."""
    return start_periodic("zendesk-worker", worker.run_once, interval=interval, stop=stop)
