"""Server-rendered pages: the operations dashboard and the incidents page. Data comes from the
JSON API with the tenant's token, which the page keeps in the browser's session storage (a
``#token=`` link puts it there; the fragment never reaches the server or its logs).

Every answer here carries a strict Content-Security-Policy (scripts, styles and requests from this
origin only; nothing inline, no eval; the templates and static/*.js are written for it), refuses to be
framed and sends no Referer to other sites: defence in depth for the page holding the token. The Zendesk
sidebar and the demo's pages are served elsewhere (Zendesk, server/demo/) with their own policies."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

bp = Blueprint("pages", __name__)

#: The pages' policy. ``img-src`` is for the favicon; nothing else is fetched but the API.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.after_request
def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _demo_links() -> dict[str, str] | None:
    """Where a newcomer tries the demo from the other sides, when this server serves the demo pages (the
    ``DEMO_PAGES`` setting registers their blueprints; never in production): the fake Zendesk agent page and
    the sample product. Only this server's own addresses reach the templates, which write them as links."""
    if "demo_agent" not in current_app.blueprints or "demo_acme" not in current_app.blueprints:
        return None
    return {"agent": url_for("demo_agent.agent_page"), "product": url_for("demo_acme.page", page="billing")}


@bp.get("/")
def dashboard() -> str:
    return render_template("dashboard.html", demo=_demo_links())


@bp.get("/incidents")
def incidents() -> str:
    """Incidents with their evidence and volume chart; same token mechanism as the dashboard.

    Where the server serves the demo pages (``DEMO_PAGES``, demo and tests only), the tenant's Zendesk is the
    demo's stand-in: the page is told the demo's agent page, which shows its tickets, instead of linking
    them to ``https://<subdomain>.zendesk.com``."""
    agent = "demo_agent" in current_app.blueprints
    return render_template("incidents.html", agent_page=url_for("demo_agent.agent_page") if agent else None,
                           demo=_demo_links())


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico on every page they open here (the demo's sample product too)."""
    response = redirect(url_for("static", filename="favicon.svg"), code=301)
    response.cache_control.max_age = 86400
    return response
