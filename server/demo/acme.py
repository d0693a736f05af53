"""Acme Billing: a sample customer product with the real Groundswell widget, for the demo and browser tests.

Served only when the ``DEMO_PAGES`` setting is true. Pages (all one template; the page's script switches
between them as a single-page app with ``history.pushState``, and each is also a deep link):

- ``/demo/acme/billing``, ``/demo/acme/invoices``, ``/demo/acme/upgrade``: the widget comes from the async
  loader snippet pasted inline, as most customers install it;
- ``/demo/acme/help/payments``: the help article the demo's billing nudge links to;
- ``/demo/acme/help/invoices``: the help article the demo's invoice nudge links to (invoices by e-mail);
- ``/demo/acme/status``: Acme's status page, where the known-issue banners of detected incidents link
  (the demo tenant's ``status_page_url``). A real status page is written by the product's team; this one
  says, page by page, what the demo tenant's banners tell customers (``status_entries``);
- ``/demo/acme/strict``: the same product under a strict Content-Security-Policy (no ``unsafe-inline``,
  no ``unsafe-eval``), at ``/demo/acme/billing?csp=strict`` (any page takes ``?csp=strict``); the loader then
  comes as an external file configured by ``data-`` attributes.

The product's own endpoints under ``/demo/acme/api/`` fail on purpose: paying answers 500, a coupon other
than ``WELCOME10`` answers 422 naming the field, and an invoice download answers 500, so a newcomer can
produce friction, get a nudge, and see a known-issue banner while an incident on the page is open.
Run ``npm run build`` first: the snippet and the widget are read from ``dist/widget/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from server.config import REPO_ROOT
from server.errors import NotFound
from server.http import db_session
from server.tenants import find_by_slug

bp = Blueprint("demo_acme", __name__, url_prefix="/demo/acme")

#: The demo tenant whose public site key the pages embed.
DEMO_SLUG = "acme"
PAGES = ("billing", "invoices", "upgrade")
#: Each view's heading; a page's title is its heading and the product's name (``page_title``), as the widget
#: reports it in a page view (the demo's simulated sessions report the same, server/demo/stream.py).
HEADINGS = {"billing": "Billing", "invoices": "Invoices", "upgrade": "Upgrade to Pro",
            "help": "Other ways to pay", "help-invoices": "Get an invoice by e-mail", "status": "Status"}
#: The path each view is served at.
PATHS = {**{p: f"/demo/acme/{p}" for p in PAGES}, "help": "/demo/acme/help/payments",
         "help-invoices": "/demo/acme/help/invoices", "status": "/demo/acme/status"}


def page_title(view: str) -> str:
    """The document title of one of the product's views: ``Invoices · Acme Billing``."""
    return f"{HEADINGS[view]} · Acme Billing"
#: The strict variant: scripts, styles and requests only from this origin; nothing inline, no eval.
STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
VALID_COUPON = "WELCOME10"


class DemoUnavailable(NotFound):
    """The demo tenant or the built widget is missing."""


def site_key(session: Session, slug: str = DEMO_SLUG) -> str:
    """The public site key of the demo tenant (it is public by design: pages embed it)."""
    tenant = find_by_slug(session, slug)
    if tenant is None:
        raise DemoUnavailable(f"No tenant {slug!r}: run `groundswell demo` (or the browser-test backend) first.")
    return tenant.site_key


def loader_snippet(dist: Path) -> str:
    """The built loader, pasted inline as customers do."""
    path = dist / "loader.js"
    if not path.is_file():
        raise DemoUnavailable("The widget is not built: run `npm run build` first.")
    return path.read_text(encoding="utf-8")


def _dist() -> Path:
    configured = current_app.config.get("WIDGET_DIST_DIR")
    return Path(configured) if configured else REPO_ROOT / "dist" / "widget"


def _render(page: str, strict: bool, **context: Any) -> str:
    endpoint = request.host_url.rstrip("/")
    return render_template("acme/page.html", page=page, title=page_title(page), headings=HEADINGS,
                           strict=strict, endpoint=endpoint,
                           site_key=site_key(db_session()),
                           snippet=None if strict else loader_snippet(_dist()), **context)


@bp.get("/")
def index() -> Any:
    return redirect(url_for("demo_acme.page", page="billing"))


@bp.get("/<any(billing, invoices, upgrade):page>")
def page(page: str) -> Response:
    """``?csp=strict`` serves the same page under the strict policy (same page path, so the same nudges
    and known issues apply)."""
    strict_mode = request.args.get("csp") == "strict"
    resp = Response(_render(page, strict=strict_mode), mimetype="text/html")
    if strict_mode:
        resp.headers["Content-Security-Policy"] = STRICT_CSP
    return resp


@bp.get("/help/payments")
def help_payments() -> str:
    """Where the demo's billing nudge links to."""
    return _render("help", strict=False)


@bp.get("/help/invoices")
def help_invoices() -> str:
    """Where the demo's invoice nudge links to: getting an invoice by e-mail."""
    return _render("help-invoices", strict=False)


@bp.get("/status")
def status() -> str:
    """Acme's status page (see `status_entries`); "All systems operational" when no page has a problem."""
    session = db_session()
    tenant = find_by_slug(session, DEMO_SLUG)
    if tenant is None:
        raise DemoUnavailable("The demo tenant is missing: run `groundswell demo` (or `make demo`).")
    now = datetime.now(timezone.utc)
    return _render("status", strict=False, entries=status_entries(session, tenant.id, now), updated=now)


#: How long a page whose problems were all resolved stays on the status page, as resolved.
RESOLVED_SHOWN = timedelta(hours=24)


def status_entries(session: Session, tenant_id: int, now: datetime) -> list[dict[str, Any]]:
    """One entry per product page that has, or had in the last day, a problem its banner told customers of
    (an active or recently resolved spike, new topic, concentrated rise or friction incident naming the
    page): its name, state, since when, and what is known, in words for a status page rather than the
    banner's "this page". Several incidents about one page (its failing actions and the tickets they
    cause) are one entry. State: "Investigating" while one is open, "Identified" once people acknowledged
    every one, "Resolved" (with when) when all are resolved; pages with a current problem first."""
    from server.incidents.models import ACTIVE, Incident
    from server.incidents.service import incident_pages
    from server.widget.service import BANNER_KINDS, topic_name

    names = {path: HEADINGS[view] for view, path in PATHS.items()}
    rows = session.scalars(select(Incident).where(
        Incident.tenant_id == tenant_id, Incident.kind.in_(BANNER_KINDS),
        or_(Incident.status.in_(ACTIVE), and_(Incident.status == "resolved", Incident.resolved_at >= now - RESOLVED_SHOWN)))
        .order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(500)).all()  # the newest 500
    by_page: dict[str, list[Any]] = {}
    for inc in rows:
        for path in incident_pages(inc):
            by_page.setdefault(path, []).append(inc)
    entries = []
    for path, incs in by_page.items():
        active = [i for i in incs if i.status in ACTIVE]
        shown = active or incs
        known = []
        for named in dict.fromkeys(n for n in (topic_name(session, tenant_id, i) for i in shown) if n):
            known.append(named + ".")
        if any(i.kind == "friction" for i in shown):
            known.append("Some actions here are failing for several people.")
        if not known:
            known.append("Customers have told us about a problem here.")
        if not active:
            state, after = "Resolved", "It works again."
        elif all(i.status == "acknowledged" for i in active):
            state, after = "Identified", "We know the cause and are working on a fix."
        else:
            state, after = "Investigating", "We are looking into it."
        entries.append({"page": names.get(path, path), "path": path, "state": state,
                        "since": min(i.first_seen_at or i.detected_at for i in shown),
                        "resolved_at": None if active else max(i.resolved_at for i in shown),
                        "text": " ".join(known + [after])})
    return sorted(entries, key=lambda e: (e["state"] == "Resolved", -e["since"].timestamp()))


@bp.get("/strict")
def strict() -> Any:
    return redirect(url_for("demo_acme.page", page="billing", csp="strict"))


@bp.post("/api/pay")
def pay() -> Any:
    """Always fails: the payment provider of the demo is "down"."""
    resp = jsonify({"error": {"code": "provider_unavailable", "message": "The payment provider did not answer."}})
    resp.status_code = 500
    return resp


@bp.post("/api/coupon")
def coupon() -> Any:
    """Accepts only WELCOME10; anything else is refused with 422 naming the field."""
    data = request.get_json(silent=True, force=True)
    code = data.get("code") if isinstance(data, dict) else None
    if isinstance(code, str) and code.strip().upper() == VALID_COUPON:
        return jsonify({"ok": True, "discount": 10})
    resp = jsonify({"error": {"code": "validation", "fields": {"code": ["unknown or expired coupon"]}}})
    resp.status_code = 422
    return resp


@bp.post("/api/invoices/<int:invoice_id>/download")
def download(invoice_id: int) -> Any:
    """Always fails: the invoice PDF service is "broken" (the demo stream's invoice_pdf incident)."""
    resp = jsonify({"error": {"code": "pdf_failed", "message": "Could not render the invoice PDF."}})
    resp.status_code = 500
    return resp
