from __future__ import annotations

import functools
import hashlib
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, jsonify, request
from limits import parse_many
from werkzeug.exceptions import RequestEntityTooLarge

from server.errors import ClientError
from server.extensions import client_key, limiter
from server.http import db_session, documented
from server.ingest import service
from server.ingest.schemas import (
    ErrorSchema,
    WidgetBatchSchema,
    ZendeskEventSchema,
    ingest_result_schema,
)
from server.metrics import INGEST_EVENTS, utcnow
from server.tenants import Tenant

bp = Blueprint("ingest", __name__)

_ERRORS = {
    400: (ErrorSchema(), "Malformed JSON or a field failed validation; `error.fields` names it."),
    413: (ErrorSchema(), "Body larger than MAX_BODY_BYTES."),
    429: (ErrorSchema(), "Rate limit exceeded; retry after the Retry-After header's seconds."),
}


# -- rate-limit keys ------------------------------------------------------------------------------------
# Flask-Limiter counts a request before the view runs. A key that named the tenant a request merely
# claims (the public site key, the slug in the URL) let anyone use up a tenant's limit with requests
# that then fail authentication, so its real traffic got 429. Each key function below therefore makes
# the same authentication check as the service first: a request that passes counts against its
# tenant's bucket, one that fails against its caller's address. The tenant a key function authenticated
# is kept in `g` and handed to the service, which checks only when no key function ran (limits off).
def _address_key() -> str:
    return "addr:" + client_key()


def _claimed_site_key() -> str | None:
    key = request.headers.get("X-Groundswell-Site-Key") or request.args.get("site_key")
    if not key:
        try:
            data = request.get_json(silent=True, force=True)
        except (RecursionError, RequestEntityTooLarge):  # "[[[[..." deeper than the stack, or too big:
            data = None                                   # the view answers 400 or 413
        key = data.get("site_key") if isinstance(data, dict) else None
    return key if isinstance(key, str) and key else None


def _request_origin() -> str | None:
    """The Origin header, else for a GET the Referer's origin: browsers leave Origin out of same-origin
    GETs (the widget's known-issues request on a page served by this backend)."""
    origin = request.headers.get("Origin")
    if origin or request.method != "GET" or not request.referrer:
        return origin
    try:
        parts = urlsplit(request.referrer)
    except ValueError:  # an unclosed IPv6 bracket (http://[x/page): no origin, so the request gets 403
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else None


def _site_key() -> str:
    """Rate-limit key of the widget endpoints: the site key's bucket for a known site key from one of its
    allowed origins, else the caller's address (unknown key, wrong origin, no key, unreadable body)."""
    if "widget_rate_key" not in g:
        key, origin = _claimed_site_key(), _request_origin()
        try:
            tenant = service.authenticate_widget(db_session(), key, origin)
        except ClientError:
            g.widget_rate_key = _address_key()
        else:
            g.widget_rate_key = "site:" + hashlib.sha256(str(key).encode()).hexdigest()[:24]
            g.widget_auth = (key, origin, tenant)
    return str(g.widget_rate_key)


def widget_tenant(site_key: str | None, origin: str | None) -> Tenant | None:
    """The tenant `_site_key` authenticated this request as, when it did so by this site key and origin;
    else None (the view's service then authenticates the request itself)."""
    auth = g.get("widget_auth")
    return auth[2] if auth is not None and site_key and (auth[0], auth[1]) == (site_key, origin) else None


def _tenant_slug() -> str:
    """Rate-limit key of Zendesk deliveries: the tenant's bucket for a delivery its webhook secret signed,
    else the caller's address (unknown tenant, missing, stale or wrong signature, a body over the limit)."""
    if "webhook_rate_key" not in g:
        slug = str((request.view_args or {}).get("tenant", ""))
        # no tenant's slug is longer (the view answers 403): not cut to one that is
        g.webhook_rate_key = "tenant:" + slug if len(slug) <= 63 and _signed_by_tenant(slug) else _address_key()
    return str(g.webhook_rate_key)


def _signed_by_tenant(slug: str) -> bool:
    """`service.verify_zendesk_delivery` on this request; the tenant is kept for the view."""
    cfg = current_app.config
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:  # the view answers 413
        return False
    try:
        g.webhook_tenant = service.verify_zendesk_delivery(
            db_session(), slug, body, service.headers_context(request.headers), now=utcnow(),
            secret_key=current_app.extensions["groundswell.secret_key"],
            tolerance_seconds=int(cfg["WEBHOOK_TOLERANCE_SECONDS"]),
            allow_test_secret=bool(cfg["ALLOW_ZENDESK_TEST_SECRET"]))
    except ClientError:
        return False
    return True


def _widget_limit() -> str:
    return str(current_app.config["RATE_LIMIT_WIDGET"])


# -- one address's share of a site's bucket ------------------------------------------------------------
# The site key is public and only browsers are held to the origin allowlist: a script that sends an allowed
# Origin authenticates like a visitor. Each site's requests therefore count twice: against the site's bucket
# (RATE_LIMIT_WIDGET) and against the site and caller address's share (RATE_LIMIT_WIDGET_PER_ADDRESS). The
# site's bucket takes only requests their share let through, so an address held back by its share takes
# nothing more from the site's visitors.
@functools.lru_cache(maxsize=32)  # the limit is read on every widget request; the settings rarely change
def share_of(limits: str, parts: int) -> str:
    """Each limit of a Flask-Limiter limit string divided by ``parts``, at least 1.

    >>> share_of("100/second;3000/minute", 5)
    '20/second;600/minute'
    >>> share_of("3 per 10 minutes", 5)
    '1/10 minute'
    """
    shares = []
    for item in parse_many(limits):
        per = item.GRANULARITY.name if item.multiples == 1 else f"{item.multiples} {item.GRANULARITY.name}"
        shares.append(f"{max(1, item.amount // parts)}/{per}")
    return ";".join(shares)


def _widget_address_limit() -> str:
    """RATE_LIMIT_WIDGET_PER_ADDRESS; empty, a fifth of RATE_LIMIT_WIDGET."""
    cfg = current_app.config
    return str(cfg["RATE_LIMIT_WIDGET_PER_ADDRESS"]).strip() or share_of(str(cfg["RATE_LIMIT_WIDGET"]), 5)


def _site_address_key() -> str:
    return _site_key() + "|" + _address_key()


def _not_a_site_request() -> bool:
    """A request that failed authentication already counts against its caller's address alone."""
    return not _site_key().startswith("site:")


def _not_refused(resp: Response) -> bool:
    return resp.status_code != 429


def widget_limits(view: Any) -> Any:
    """RATE_LIMIT_WIDGET per site (or per address, for a request that failed authentication), and
    RATE_LIMIT_WIDGET_PER_ADDRESS per site and caller address. The site's limit is only checked before the
    view and counted after it, unless the answer was 429: whichever limit is looked at first, a request
    refused for its address's share is not taken from the site's bucket. (Requests in flight at the same
    moment may therefore pass the site's limit by as many as the server handles at once.)"""
    view = limiter.limit(_widget_address_limit, key_func=_site_address_key, exempt_when=_not_a_site_request)(view)
    return limiter.limit(_widget_limit, key_func=_site_key, deduct_when=_not_refused)(view)


def _webhook_limit() -> str:
    return str(current_app.config["RATE_LIMIT_WEBHOOK"])


@bp.after_app_request
def _events_cors(resp: Response) -> Response:
    """Let the widget read every answer of the events endpoint, errors and Retry-After included.

    Writes are guarded by the site key and the origin allowlist, not by CORS; these answers
    carry nothing but counts and error messages.
    """
    origin = request.headers.get("Origin")
    if origin and request.path == "/api/v1/events":
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Access-Control-Expose-Headers"] = "Retry-After"
        resp.headers.add("Vary", "Origin")
    return resp


@bp.route("/api/v1/events", methods=["OPTIONS"])
def events_preflight() -> Response:
    resp = Response(status=204)
    resp.headers["Access-Control-Allow-Methods"] = "POST"
    resp.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Groundswell-Site-Key"
    resp.headers["Access-Control-Max-Age"] = "600"
    return resp


@bp.post("/api/v1/events")
@widget_limits
@documented(
    summary="Append a batch of widget events",
    tags=["ingest"],
    body=WidgetBatchSchema(),
    body_content_type="application/json",
    auth="site_key",
    responses={202: (ingest_result_schema, "Stored; counts of new and repeated events."),
               403: (ErrorSchema(), "Unknown site key, or an origin not on the tenant's allowlist."),
               **_ERRORS},
)
def post_events() -> Any:
    """Events are deduplicated by (session_id, event id), so a retried batch is stored once.
    The body may be sent as text/plain (navigator.sendBeacon)."""
    header_key = request.headers.get("X-Groundswell-Site-Key") or request.args.get("site_key")
    origin = request.headers.get("Origin")
    _, result = service.ingest_widget_batch(
        db_session(), current_app.extensions["groundswell.appender"], request.get_data(cache=True),
        header_site_key=header_key, origin=origin, received_at=utcnow(),
        max_events=int(current_app.config["WIDGET_MAX_EVENTS"]),
        # without a header key the service reads the body's, as `_claimed_site_key` did for the limiter
        tenant=widget_tenant(header_key or _claimed_site_key(), origin),
    )
    INGEST_EVENTS.labels("widget", "accepted").inc(result.accepted)
    INGEST_EVENTS.labels("widget", "duplicate").inc(result.duplicates)
    resp = jsonify(ingest_result_schema.dump(result))
    resp.status_code = 202
    return resp


@bp.post("/webhooks/zendesk/<tenant>")
@limiter.limit(_webhook_limit, key_func=_tenant_slug)
@documented(
    summary="Receive a Zendesk webhook delivery",
    tags=["ingest"],
    body=ZendeskEventSchema(),
    auth="zendesk_signature",
    responses={202: (ingest_result_schema, "Stored (or already stored: a repeated delivery)."),
               401: (ErrorSchema(), "Missing, stale or wrong signature."),
               403: (ErrorSchema(), "Unknown tenant."),
               **_ERRORS},
)
def post_zendesk(tenant: str) -> Any:
    """Accepts both trigger-connected custom JSON (which must carry `ticket_id`) and
    event-subscribed `zen:event-type:ticket.*` payloads. Signed with the tenant's webhook secret:
    base64 HMAC-SHA256 of the signature timestamp followed by the raw body."""
    cfg = current_app.config
    _, result = service.ingest_zendesk_delivery(
        db_session(), current_app.extensions["groundswell.appender"], tenant, request.get_data(cache=True),
        service.headers_context(request.headers),
        received_at=utcnow(), secret_key=current_app.extensions["groundswell.secret_key"],
        tolerance_seconds=int(cfg["WEBHOOK_TOLERANCE_SECONDS"]),
        allow_test_secret=bool(cfg["ALLOW_ZENDESK_TEST_SECRET"]),
        tenant=g.get("webhook_tenant"),
    )
    INGEST_EVENTS.labels("zendesk", "accepted").inc(result.accepted)
    INGEST_EVENTS.labels("zendesk", "duplicate").inc(result.duplicates)
    resp = jsonify(ingest_result_schema.dump(result))
    resp.status_code = 202
    return resp
