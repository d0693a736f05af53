"""The fake Zendesk agent page: the real sidebar bundle hosted over the Zendesk App Framework protocol.

Served only when the ``DEMO_PAGES`` setting is true (``make demo`` and the browser tests turn it on). It serves

- ``/demo/zendesk``: the agent workspace page (built from zendesk_app/dev/ into dist/zendesk_app_dev/), which
  lists the tenant's tickets and hosts the app in an iframe as Zendesk does;
- ``/demo/zendesk/app/<path>``: the built app package (dist/zendesk_app/), exactly what the marketplace zip holds;
- ``/demo/zendesk/tickets.json``: the tenant's most recent tickets for the page's list (API token required);
- ``/demo/zendesk/tickets/<id>.json``: one ticket's fields as the tenant's Zendesk has them now, for the open
  ticket, so that the page shows what the sidebar changed there (API token required).

The page takes the API token from its ``#token=`` fragment, which never reaches the server or its logs, or,
opened from a ticket link of the incidents page (``#ticket=<id>`` opens that ticket), from the copy of that
tab's session storage the browser gives it; it plays Zendesk's request proxy: it fills
``{{setting.api_token}}`` into the app's secure requests itself.
Run ``npm run build`` first; without the build these pages answer 404 saying so.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from marshmallow import Schema, fields, validate
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from server.config import REPO_ROOT
from server.errors import NotFound
from server.http import db_session, require_token
from server.incidents.models import Incident, IncidentTicket
from server.tenants import Tenant
from server.topics.models import Ticket
from server.zendesk.client import ZendeskError
from server.zendesk.connection import tenant_client
from server.zendesk.problems import call

bp = Blueprint("demo_agent", __name__, url_prefix="/demo/zendesk")

APP_DIR = REPO_ROOT / "dist" / "zendesk_app"
HOST_DIR = REPO_ROOT / "dist" / "zendesk_app_dev"

#: The app's own pages load only their own scripts and styles; nothing inline, nothing from elsewhere.
APP_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'none'; base-uri 'none'; form-action 'none'")
HOST_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-src http://127.0.0.1:* http://localhost:* 'self'; base-uri 'none'; form-action 'none'")


class TicketListQuerySchema(Schema):
    limit = fields.Integer(load_default=30, validate=validate.Range(1, 100))
    in_incident = fields.Boolean(load_default=False, metadata={"description": "Only tickets of a live incident."})


class DemoTicketSchema(Schema):
    id = fields.String(required=True, attribute="zendesk_id")
    subject = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(allow_none=True)
    incident_id = fields.Integer(allow_none=True, metadata={"description": "A live incident the ticket is part of."})


class DemoTicketListSchema(Schema):
    tickets = fields.List(fields.Nested(DemoTicketSchema), required=True)


class OpenTicketSchema(Schema):
    id = fields.String(required=True)
    subject = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    problem_id = fields.String(allow_none=True, metadata={"description": "The problem ticket of an incident."})
    source = fields.String(required=True, validate=validate.OneOf(("zendesk", "groundswell")),
                           metadata={"description": "Whose copy this is: Zendesk's, or Groundswell's when Zendesk "
                                                    "could not say."})


class OpenTicketOutSchema(Schema):
    ticket = fields.Nested(OpenTicketSchema, required=True)


ticket_list_query = TicketListQuerySchema()
ticket_list_out = DemoTicketListSchema()
open_ticket_out = OpenTicketOutSchema()


def recent_tickets(session: Session, tenant_id: int, *, limit: int, in_incident: bool = False) -> dict[str, Any]:
    """The tenant's newest tickets (by creation time), each with the live incident it is part of, if any (as the
    sidebar's banner, a rise in what customers write about before a change of tone; the newest of those)."""
    problem = func.max(case((Incident.kind != "sentiment", IncidentTicket.incident_id)))
    live = (select(IncidentTicket.zendesk_id,
                   func.coalesce(problem, func.max(IncidentTicket.incident_id)).label("incident_id"))
            .join(Incident, (Incident.tenant_id == IncidentTicket.tenant_id) & (Incident.id == IncidentTicket.incident_id))
            .where(IncidentTicket.tenant_id == tenant_id, Incident.status.in_(("open", "acknowledged")))
            .group_by(IncidentTicket.zendesk_id).subquery())
    query = (select(Ticket, live.c.incident_id).outerjoin(live, live.c.zendesk_id == Ticket.zendesk_id)
             .where(Ticket.tenant_id == tenant_id))
    if in_incident:
        query = query.where(live.c.incident_id.is_not(None))
    rows = session.execute(query.order_by(Ticket.created_at.desc(), Ticket.zendesk_id.desc()).limit(limit)).all()
    return {"tickets": [{"zendesk_id": t.zendesk_id, "subject": t.subject, "status": t.status, "type": t.type,
                         "created_at": t.created_at, "incident_id": incident_id} for t, incident_id in rows]}


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def open_ticket(session: Session, tenant_id: int, zendesk_id: str,
                client: Callable[[], Any]) -> dict[str, Any] | None:
    """The ticket as the agent page shows it: its fields in the tenant's Zendesk now (``client`` makes the zenpy
    client), so that a change made there, such as the sidebar's link to a problem ticket (type ``incident``,
    ``problem_id``), shows on the page as it would in Zendesk. When Zendesk cannot say (no connection, a
    failure, a ticket it does not have), what Groundswell last heard of the ticket; None when neither knows it.
    """
    try:
        zd = client()
        found = call(f"read ticket {zendesk_id}", lambda: zd.tickets(id=int(zendesk_id)))
        return {"id": str(found.id), "subject": found.subject, "status": found.status, "type": found.type,
                "problem_id": _id(found.problem_id), "source": "zendesk"}
    except ZendeskError:
        pass
    row = session.get(Ticket, (tenant_id, zendesk_id))
    if row is None:
        return None
    return {"id": row.zendesk_id, "subject": row.subject, "status": row.status, "type": row.type,
            "problem_id": row.problem_id, "source": "groundswell"}


def _built(directory: Path, name: str) -> Response:
    if not (directory / name).is_file():
        raise NotFound("The Zendesk app is not built (run `npm run build`), or no such file.")
    response = send_from_directory(directory, name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("")
def agent_page() -> Response:
    response = _built(HOST_DIR, "host.html")
    response.headers["Content-Security-Policy"] = HOST_CSP
    return response


@bp.get("/host/<path:name>")
def host_file(name: str) -> Response:
    return _built(HOST_DIR, name)


@bp.get("/app/<path:name>")
def app_file(name: str) -> Response:
    response = _built(APP_DIR, name)
    response.headers["Content-Security-Policy"] = APP_CSP
    return response


@bp.get("/tickets.json")
@require_token
def tickets(tenant: Tenant) -> Any:
    args = ticket_list_query.load(request.args.to_dict())
    return jsonify(ticket_list_out.dump(recent_tickets(db_session(), tenant.id, **args)))


@bp.get("/tickets/<zendesk_id>.json")
@require_token
def ticket(tenant: Tenant, zendesk_id: str) -> Any:
    if not zendesk_id.isascii() or not zendesk_id.isdigit() or len(zendesk_id) > 18:
        raise NotFound("Zendesk ticket ids are digits.")
    session = db_session()
    secret_key = current_app.extensions["groundswell.secret_key"]
    found = open_ticket(session, tenant.id, zendesk_id,
                        lambda: tenant_client(session, tenant.id, current_app.config, secret_key=secret_key))
    if found is None:
        raise NotFound(f"No ticket {zendesk_id} in Zendesk or in Groundswell.")
    return jsonify(open_ticket_out.dump({"ticket": found}))


# --- `make demo`: a fake Zendesk the demo tenant is connected to ---------------------------------------------

#: Newest tickets copied into the fake Zendesk per round, and how often (the replay sends a few per second).
MIRROR_BATCH = 500
MIRROR_SECONDS = 2.0
#: Problem tickets created during the demo are numbered from here (the replay numbers its tickets from 100000).
PROBLEM_IDS_FROM = 9_000_000


class DemoZendesk:
    """A local fake Zendesk for the demo, with the demo tenant connected to it and its tickets copied in.

    The demo's tickets reach Groundswell as webhooks, so the fake would not know them; a background thread
    copies the newest ones over (subject, text, tags, status and type as they came in), so that linking a
    ticket to a problem ticket from the sidebar works, and the agent page shows the ticket as the fake has
    it: an incident of its problem ticket once linked. ``env`` points zenpy in the server's processes at
    the fake.
    """

    def __init__(self, cfg: Mapping[str, Any], slug: str = "acme") -> None:
        from server.db import from_config
        from server.tenants import find_by_slug
        from server.zendesk.connection import connect
        from server.zendesk.fake import FakeZendesk, make_ticket

        from server import config as config_mod

        self.fake = FakeZendesk(email="admin@acme.test", token=secrets.token_urlsafe(16)).start()
        # Problem tickets made in the fake take the next free id; start them far above the replayed tickets'
        # ids, so that one never takes the number of a demo ticket that arrives later.
        self.fake.add_ticket(make_ticket(PROBLEM_IDS_FROM, subject="Demo: problem tickets are numbered after this one",
                                         status="closed"))
        self.env = {"ZENPY_FORCE_SCHEME": "http", "ZENPY_FORCE_NETLOC": self.fake.netloc}
        self._db = from_config(dict(cfg))
        with self._db.session() as session:
            tenant = find_by_slug(session, slug)
            if tenant is None:
                raise RuntimeError(f"no tenant {slug!r}")
            self.tenant_id = tenant.id
            connect(session, tenant.id, subdomain=slug, email=self.fake.email, token=self.fake.token,
                    secret_key=config_mod.secret_key(dict(cfg)), now=datetime.now(timezone.utc))
            session.commit()
        self._known: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._mirror_loop, name="demo-zendesk-mirror", daemon=True)
        self._thread.start()

    def mirror_once(self) -> int:
        """Copy the tenant's newest tickets the fake does not have yet; returns how many were added."""
        from server.zendesk.fake import make_ticket

        with self._db.session() as session:
            rows = session.scalars(select(Ticket).where(Ticket.tenant_id == self.tenant_id)
                                   .order_by(Ticket.created_at.desc()).limit(MIRROR_BATCH)).all()
            added = 0
            for row in rows:
                if row.zendesk_id in self._known or not row.zendesk_id.isdigit():
                    continue
                if self.fake.ticket(int(row.zendesk_id)) is not None:  # e.g. a problem ticket took the id
                    self._known.add(row.zendesk_id)
                    continue
                self._known.add(row.zendesk_id)
                created = row.created_at.replace(tzinfo=row.created_at.tzinfo or timezone.utc) if row.created_at else None
                copied = make_ticket(int(row.zendesk_id), created=created, subject=row.subject,
                                     description=row.excerpt, tags=row.tags or (), status=row.status or "new")
                copied["type"] = row.type  # as the ticket came in (the fake would otherwise make up one)
                self.fake.add_ticket(copied)
                added += 1
        return added

    def _mirror_loop(self) -> None:
        while not self._stop.wait(MIRROR_SECONDS):
            try:
                self.mirror_once()
            except Exception:  # the demo keeps going; the next round retries
                continue

    def stop(self) -> None:
        self._stop.set()
        self.fake.stop()
        self._db.dispose()
