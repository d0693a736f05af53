"""Server-rendered pages: the operations dashboard and the incidents page. Data comes from the
JSON API with the tenant's token, which the page keeps in the browser's session storage (a
``#token=`` link puts it there; the fragment never reaches the server or its logs)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

bp = Blueprint("pages", __name__)


@bp.get("/")
def dashboard() -> str:
    return render_template("dashboard.html")


@bp.get("/incidents")
def incidents() -> str:
    """Incidents with their evidence and volume chart; same token mechanism as the dashboard.

    Where the server serves the demo pages (``DEMO_PAGES``, demo and tests only), the tenant's Zendesk is the
    demo's stand-in: the page is told the demo's agent page, which shows its tickets, instead of linking
    them to ``https://<subdomain>.zendesk.com``."""
    demo = "demo_agent" in current_app.blueprints
    return render_template("incidents.html", agent_page=url_for("demo_agent.agent_page") if demo else None)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico on every page they open here (the demo's sample product too)."""
    response = redirect(url_for("static", filename="favicon.svg"), code=301)
    response.cache_control.max_age = 86400
    return response
