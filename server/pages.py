"""Server-rendered pages: the operations dashboard and the incidents page. Data comes from the
JSON API with the tenant's token, which the page keeps in the browser's session storage (a
``#token=`` link puts it there; the fragment never reaches the server or its logs)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def dashboard() -> str:
    return render_template("dashboard.html")


@bp.get("/incidents")
def incidents() -> str:
    """Incidents with their evidence and volume chart; same token mechanism as the dashboard."""
    return render_template("incidents.html")
