"""Widget endpoints: nudge decisions and known issues (site key + origin allowlist + CORS), the
tenant's widget settings and the deflection measurement (API token), and the built widget's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file

from server.api.views import _api_limit, _token_key
from server.errors import NotFound
from server.extensions import limiter
from server.http import AUTH_ERRORS, db_session, documented, json_body, require_token
from server.ingest.schemas import ErrorSchema
from server.ingest.service import parse_json, storable_body
from server.ingest.views import _request_origin, widget_limits, widget_tenant
from server.metrics import utcnow
from server.tenants import Tenant
from server.validation import storable_text
from server.widget import service
from server.widget.schemas import (
    DecideInSchema,
    KnownIssuesQuerySchema,
    MeasurementQuerySchema,
    WidgetSettingsSchema,
    decide_in_schema,
    decide_out_schema,
    identity_secret_out_schema,
    known_issues_out_schema,
    known_issues_query_schema,
    measurement_out_schema,
    measurement_query_schema,
    widget_settings_out_schema,
)

bp = Blueprint("widget", __name__)

CORS_PATHS = ("/api/v1/widget/decide", "/api/v1/widget/known-issues")
WIDGET_FILES = ("loader.js", "core.js")
_412 = {412: (ErrorSchema(), "`If-Match` names a version of the settings other than the stored one: they changed "
                           "since they were read.")}
_400 = {400: (ErrorSchema(), "A parameter or body field failed validation (`error.fields` names it), or the "
                             "body is not a JSON object.")}
_SITE_ERRORS = {**_400, 403: (ErrorSchema(), "Unknown site key, or an origin not on the tenant's allowlist."),
                429: (ErrorSchema(), "Rate limit exceeded; retry after the Retry-After header's seconds.")}


@bp.after_app_request
def _widget_cors(resp: Response) -> Response:
    """The widget reads these answers from the customer's pages; origins are checked by the service."""
    origin = request.headers.get("Origin")
    if origin and request.path in CORS_PATHS:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Access-Control-Expose-Headers"] = "Retry-After"
        resp.headers.add("Vary", "Origin")
    return resp


def _preflight(methods: str) -> Response:
    resp = Response(status=204)
    resp.headers["Access-Control-Allow-Methods"] = methods
    resp.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Groundswell-Site-Key"
    resp.headers["Access-Control-Max-Age"] = "600"
    return resp


@bp.route("/api/v1/widget/decide", methods=["OPTIONS"])
def decide_preflight() -> Response:
    return _preflight("POST")


@bp.route("/api/v1/widget/known-issues", methods=["OPTIONS"])
def known_issues_preflight() -> Response:
    return _preflight("GET")


@bp.post("/api/v1/widget/decide")
@widget_limits
@documented(summary="Decide whether a widget session gets a nudge on this page", tags=["widget"],
            body=DecideInSchema(), auth="site_key",
            responses={200: (decide_out_schema, "The decision, its reason, and the page's known issues."),
                       **_SITE_ERRORS})
def decide() -> Any:
    """Strings are stored as the ingest stores the session's events: NUL dropped, unpaired surrogates as
    U+FFFD. Reasons: `nudge`, `holdout` (in the holdout group: never nudged, recorded), `cap_session`, `cap_day`,
    `below_threshold` (not stuck: the classifier is ready and `p_ticket` is under the threshold),
    `cold_start` (not stuck: the classifier is still learning, or has not scored this session yet, and
    the cold-start rule does not hold on this page; `p_ticket` is its estimate so far, not used), `learning` (the classifier is still learning
    and the cold-start rule is off: nothing says stuck yet), `no_content` (no nudge configured for the
    page answers the friction the session met there), `no_data` (nothing of the session has arrived yet,
    or a ready classifier has not scored its newest events). May be sent as text/plain."""
    data = parse_json(request.get_data(cache=True))
    # stored as the ingest stores the session's events: the same user id, never a 500 on PostgreSQL
    data = storable_body(data) if isinstance(data, dict) else {}
    site_key = request.headers.get("X-Groundswell-Site-Key") or data.get("site_key")
    body = decide_in_schema.load(data)
    site_key = site_key if isinstance(site_key, str) else None
    origin = request.headers.get("Origin")
    result = service.decide_for_page(
        db_session(), site_key=site_key, origin=origin, body=body,
        secret_key=current_app.extensions["groundswell.secret_key"], now=utcnow(),
        tenant=widget_tenant(site_key, origin))
    return jsonify(decide_out_schema.dump(result))


@bp.get("/api/v1/widget/known-issues")
@widget_limits
@documented(summary="Known issues for a page", tags=["widget"], query=KnownIssuesQuerySchema(), auth="site_key",
            responses={200: (known_issues_out_schema, "Active incidents naming the page, then declared issues."),
                       **_SITE_ERRORS})
def known_issues() -> Any:
    args = known_issues_query_schema.load({k: storable_text(v) for k, v in request.args.items()})
    site_key = request.headers.get("X-Groundswell-Site-Key") or args.get("site_key")
    origin = _request_origin()
    result = service.page_known_issues(db_session(), site_key=site_key, origin=origin, url=args["url"],
                                       tenant=widget_tenant(site_key, origin))
    return jsonify(known_issues_out_schema.dump(result))


@bp.get("/api/v1/settings/widget")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="The tenant's widget settings", tags=["widget"], auth="api_token",
            responses={200: (widget_settings_out_schema, "Effective values, defaults filled in."), **AUTH_ERRORS})
@require_token
def get_settings(tenant: Tenant) -> Any:
    """The answer's `ETag` is the settings' version: send it back as `If-Match` with a PUT or PATCH, and a change
    made in between gets 412 instead of being undone."""
    return _versioned(service.get_settings(db_session(), tenant.id, now=utcnow()))


def _versioned(settings: dict[str, Any]) -> Response:
    resp = jsonify(widget_settings_out_schema.dump(settings))
    resp.set_etag(service.settings_etag(service.settings_of(settings)))
    return resp


def _if_match() -> set[str] | None:
    """The versions `If-Match` names; None without the header, or with `*` (any version)."""
    if "If-Match" not in request.headers or request.if_match.star_tag:
        return None
    return set(request.if_match.as_set())


@bp.put("/api/v1/settings/widget")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Replace the tenant's widget settings", tags=["widget"], body=WidgetSettingsSchema(),
            auth="api_token",
            responses={200: (widget_settings_out_schema, "The settings after the change."), **_400, **_412,
                       **AUTH_ERRORS})
@require_token
def put_settings(tenant: Tenant) -> Any:
    """Fields left out take their defaults (`{}` restores them all); an empty body is refused. What `GET` answers
    can be sent back changed (what the server says, `identity_secret_set`, `pages_seen` and each known issue's
    `pages_matched`, is ignored). To change a few settings and keep the
    rest, use `PATCH`. The detector learns the change through a control event."""
    return _versioned(service.put_settings(db_session(), current_app.extensions["groundswell.log"], tenant.id,
                                           json_body(), now=utcnow(), if_match=_if_match()))


@bp.patch("/api/v1/settings/widget")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Change some of the tenant's widget settings", tags=["widget"],
            body=WidgetSettingsSchema(partial=True), auth="api_token",
            responses={200: (widget_settings_out_schema, "The settings after the change."), **_400, **_412,
                       **AUTH_ERRORS})
@require_token
def patch_settings(tenant: Tenant) -> Any:
    """Only the settings sent change: each replaces the stored value (a list such as `nudges` as a whole), and
    `cold_start` and `friction` change field by field. The result is validated as a whole, as for `PUT`."""
    return _versioned(service.patch_settings(db_session(), current_app.extensions["groundswell.log"], tenant.id,
                                             json_body(), now=utcnow(), if_match=_if_match()))


@bp.post("/api/v1/settings/widget/identity-secret")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Generate a new identity-verification secret", tags=["widget"], auth="api_token",
            responses={200: (identity_secret_out_schema, "The new secret, shown once; the old one stops working."),
                       **AUTH_ERRORS})
@require_token
def rotate_identity_secret(tenant: Tenant) -> Any:
    """Your backend signs each user id with it: `user_hash = hex(HMAC-SHA256(secret, user_id))`."""
    secret = service.rotate_identity_secret(db_session(), tenant.id,
                                            secret_key=current_app.extensions["groundswell.secret_key"],
                                            now=utcnow())
    resp = jsonify(identity_secret_out_schema.dump({"identity_secret": secret}))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/api/v1/widget/measurement")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Ticket rate of nudged sessions against the holdout", tags=["widget"],
            query=MeasurementQuerySchema(), auth="api_token",
            responses={200: (measurement_out_schema, "Both arms, the difference and its 95 % interval."),
                       **_400, **AUTH_ERRORS})
@require_token
def measurement(tenant: Tenant) -> Any:
    """Sessions that would have been nudged in the last `days` days whose user is known and whose 24 hours
    have passed: nudged ones against held-out ones."""
    args = measurement_query_schema.load(request.args.to_dict())
    return jsonify(measurement_out_schema.dump(service.measurement(db_session(), tenant.id, now=utcnow(),
                                                                   days=args["days"])))


def _dist_dir() -> Path:
    configured = current_app.config.get("WIDGET_DIST_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "dist" / "widget"


@bp.get("/widget/v1/<name>")
def widget_file(name: str) -> Any:
    """The built widget: ``loader.js`` (cached 5 minutes, so new versions spread fast) and ``core.js``."""
    if name not in WIDGET_FILES:
        raise NotFound("No such widget file; the widget serves loader.js and core.js.")
    path = _dist_dir() / name
    if not path.is_file():
        raise NotFound(f"The widget is not built: {name} is missing. Run `npm run build` (esbuild) first.")
    resp = send_file(path, mimetype="text/javascript", max_age=300 if name == "loader.js" else 3600,
                     conditional=True, etag=True)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
