"""Server-rendered pages: the operations dashboard and the incidents page. Data comes from the
JSON API with the tenant's token, which the page keeps in the browser's session storage (a
``#token=`` link puts it there; the fragment never reaches the server or its logs)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

bp = Blueprint("pages", __name__)


@bp.get("/")
def dashboard() -> str:
    return render_template("dashboard.html")


@bp.get("/incidents")
def incidents() -> str:
    """Incidents with their evidence and volume chart; same token mechanism as the dashboard."""
    return render_template("incidents.html")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico on every page they open here (the demo's sample product too)."""
    response = redirect(url_for("static", filename="favicon.svg"), code=301)
    response.cache_control.max_age = 86400
    return response
