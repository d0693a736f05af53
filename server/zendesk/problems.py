"""The problem-ticket loop: one Zendesk problem ticket per incident, and tickets linked to it.

``link_ticket`` is what the sidebar's "link to problem ticket" button calls. On the first use for an
incident it creates the problem ticket (type ``problem``, the incident's title as subject, an
internal comment with the evidence sentence and a link to the incident page), then sets the agent's
ticket to type ``incident`` with ``problem_id``. Later uses reuse the stored problem ticket.

**One problem ticket, even under concurrent clicks.** Before calling Zendesk the first caller
inserts and commits a claim row (``zendesk_problem_tickets``, primary key tenant + incident, problem
id still NULL). A second caller's insert fails on the primary key; it waits for the claim to be
filled, or takes it over with a compare-and-set when the claim is older than `CLAIM_TIMEOUT` (its
owner crashed). A failed create deletes the claim, so the next click tries again. Works the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.errors import BadRequest, ClientError, Conflict, NotFound
from server.eventlog.log import as_utc
from server.incidents.models import ACTIVE, Incident
from server.incidents.schemas import MAX_ID
from server.zendesk.client import ZendeskError
from server.zendesk.models import ProblemTicket, TicketLink

#: A claim older than this whose problem ticket is still unknown is taken over.
CLAIM_TIMEOUT = timedelta(seconds=60)
#: How long a second caller waits for the first caller's problem ticket before answering 409.
WAIT_SECONDS = 20.0
MAX_NOTE = 4000


class ZendeskUnavailable(ClientError):
    """Zendesk failed or is not connected: the request could not be carried out there (502)."""

    status, code = 502, "zendesk_error"


class ZendeskNotConnected(ZendeskUnavailable):
    code = "zendesk_not_connected"


def call(what: str, fn: Callable[[], Any]) -> Any:
    """Run one zenpy call; every failure becomes a `ZendeskError` whose message holds no secret."""
    from zenpy.lib.exception import APIException, ZenpyException
    import requests

    try:
        return fn()
    except ZendeskError:
        raise
    except APIException as e:
        response = getattr(e, "response", None)
        status = getattr(response, "status_code", None)
        raise ZendeskError(f"Zendesk refused to {what} (HTTP {status or 'error'})") from e
    except requests.HTTPError as e:
        status = getattr(e.response, "status_code", None)
        raise ZendeskError(f"Zendesk refused to {what} (HTTP {status or 'error'})") from e
    except requests.RequestException as e:
        raise ZendeskError(f"cannot reach Zendesk to {what} ({type(e).__name__})") from e
    except (ZenpyException, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ZendeskError(f"cannot read Zendesk's answer to {what} ({type(e).__name__})") from e


def incident_url(base_url: str | None, incident_id: int) -> str | None:
    """The incident page, as the Slack messages link it.

    Examples
    --------
    >>> incident_url("https://gs.example.com/", 12)
    'https://gs.example.com/incidents#id=12'
    """
    return f"{base_url.rstrip('/')}/incidents#id={incident_id}" if base_url else None


def problem_body(incident: Incident, base_url: str | None) -> str:
    lines = [incident.sentence.strip()]
    url = incident_url(base_url, incident.id)
    if url:
        lines += ["", f"Groundswell incident #{incident.id}: {url}"]
    return "\n".join(lines)[:MAX_NOTE]


def _incident(session: Session, tenant_id: int, incident_id: int) -> Incident:
    if not 0 < incident_id <= MAX_ID:
        raise NotFound(f"No incident {incident_id}.")
    incident = session.scalar(select(Incident).where(Incident.tenant_id == tenant_id, Incident.id == incident_id)
                              .execution_options(populate_existing=True))
    if incident is None:
        raise NotFound(f"No incident {incident_id}.")
    return incident


def problem_ticket_ids(session: Session, tenant_id: int, incident_ids: list[int]) -> dict[int, int]:
    """Problem ticket id per incident, for those that have one (one query)."""
    if not incident_ids:
        return {}
    rows = session.execute(select(ProblemTicket.incident_id, ProblemTicket.problem_ticket_id).where(
        ProblemTicket.tenant_id == tenant_id, ProblemTicket.incident_id.in_(incident_ids),
        ProblemTicket.problem_ticket_id.is_not(None)))
    return {incident_id: int(pid) for incident_id, pid in rows}


def link_ticket(session: Session, tenant_id: int, incident_id: int, ticket_id: str, by: str, *,
                client: Callable[[], Any], base_url: str | None, now: Callable[[], datetime],
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Link Zendesk ticket ``ticket_id`` to the incident's problem ticket, creating that on first use.

    Parameters
    ----------
    client
        Builds the tenant's zenpy client; raises `ZendeskError` when there is no connection.
    base_url
        Where the incident page lives (PUBLIC_URL), for the link in the problem ticket's note.
    now, sleep
        The wall clock and a sleep, for claims and waiting (tests pass fakes).

    Raises
    ------
    NotFound
        No such incident for this tenant.
    Conflict
        The incident is resolved or dismissed, or another request is still creating its problem ticket.
    ZendeskUnavailable
        No connection, or Zendesk failed (502).
    """
    incident = _incident(session, tenant_id, incident_id)
    if incident.status not in ACTIVE:
        raise Conflict(f"Incident {incident_id} is {incident.status}; only open or acknowledged incidents get a "
                       "problem ticket.", fields={"status": [incident.status]})
    try:
        zd = client()
    except ZendeskError as e:
        raise ZendeskNotConnected(str(e)) from None
    problem_id, created = _ensure_problem(session, tenant_id, incident, by, zd, base_url, now, sleep)
    if str(problem_id) == ticket_id:
        raise BadRequest("This ticket is the incident's problem ticket; link the incident tickets to it.",
                         fields={"ticket_id": ["is the problem ticket itself"]})
    _link(zd, ticket_id, problem_id, note=None)
    _record_link(session, tenant_id, incident_id, ticket_id, by, now())
    return {"problem_ticket_id": problem_id, "linked_ticket_id": ticket_id, "created": created}


def _link(zd: Any, ticket_id: str, problem_id: int, note: str | None) -> None:
    from zenpy.lib.api_objects import Comment, Ticket

    ticket = Ticket(id=int(ticket_id), type="incident", problem_id=problem_id)
    if note:
        ticket.comment = Comment(body=note[:MAX_NOTE], public=False)
    try:
        call(f"link ticket {ticket_id} to problem {problem_id}", lambda: zd.tickets.update(ticket))
    except ZendeskError as e:
        raise ZendeskUnavailable(str(e)) from None


def _record_link(session: Session, tenant_id: int, incident_id: int, ticket_id: str, by: str, at: datetime) -> None:
    link = session.get(TicketLink, (tenant_id, incident_id, ticket_id))
    if link is None:
        link = TicketLink(tenant_id=tenant_id, incident_id=incident_id, zendesk_id=ticket_id, attempts=0,
                          created_at=at)
        session.add(link)
    link.linked_by, link.state, link.linked_at = by[:200], "done", at
    link.next_attempt_at = link.last_error = None
    try:
        session.commit()
    except IntegrityError:  # the worker linked it at the same moment: the ticket is linked either way
        session.rollback()


def _ensure_problem(session: Session, tenant_id: int, incident: Incident, by: str, zd: Any, base_url: str | None,
                    now: Callable[[], datetime], sleep: Callable[[float], None]) -> tuple[int, bool]:
    key = (tenant_id, incident.id)
    waited = 0.0
    while True:
        row = session.scalar(select(ProblemTicket).where(ProblemTicket.tenant_id == tenant_id,
                                                         ProblemTicket.incident_id == incident.id)
                             .execution_options(populate_existing=True))
        if row is not None and row.problem_ticket_id is not None:
            return int(row.problem_ticket_id), False
        stamp = now()
        if row is None:
            session.add(ProblemTicket(tenant_id=tenant_id, incident_id=incident.id, claimed_at=stamp,
                                      created_by=by[:200]))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            return _create(session, key, stamp, incident, zd, base_url, now), True
        if as_utc(row.claimed_at) + CLAIM_TIMEOUT <= stamp:
            taken = session.execute(update(ProblemTicket).where(
                ProblemTicket.tenant_id == tenant_id, ProblemTicket.incident_id == incident.id,
                ProblemTicket.problem_ticket_id.is_(None), ProblemTicket.claimed_at == row.claimed_at)
                .values(claimed_at=stamp, created_by=by[:200]).execution_options(synchronize_session=False))
            session.commit()
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return _create(session, key, stamp, incident, zd, base_url, now), True
            continue
        session.rollback()  # end the read transaction so the next read sees the other request's commit
        if waited >= WAIT_SECONDS:
            raise Conflict("Another request is creating this incident's problem ticket; try again in a moment.")
        sleep(0.1)
        waited += 0.1


def _create(session: Session, key: tuple[int, int], claimed_at: datetime, incident: Incident, zd: Any,
            base_url: str | None, now: Callable[[], datetime]) -> int:
    from zenpy.lib.api_objects import Comment, Ticket

    ticket = Ticket(type="problem", subject=incident.title[:250],
                    comment=Comment(body=problem_body(incident, base_url), public=False),
                    tags=["groundswell", f"groundswell_incident_{incident.id}"])
    try:
        audit = call("create the problem ticket", lambda: zd.tickets.create(ticket))
        problem_id = int(audit.ticket.id)
    except (ZendeskError, AttributeError, TypeError, ValueError) as e:
        session.execute(delete(ProblemTicket).where(
            ProblemTicket.tenant_id == key[0], ProblemTicket.incident_id == key[1],
            ProblemTicket.problem_ticket_id.is_(None), ProblemTicket.claimed_at == claimed_at))
        session.commit()
        raise ZendeskUnavailable(str(e) if isinstance(e, ZendeskError)
                                 else "Zendesk's answer did not name the new problem ticket") from None
    session.execute(update(ProblemTicket).where(
        ProblemTicket.tenant_id == key[0], ProblemTicket.incident_id == key[1])
        .values(problem_ticket_id=str(problem_id), created_at=now()).execution_options(synchronize_session=False))
    session.commit()
    return problem_id
