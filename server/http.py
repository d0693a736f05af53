"""View helpers shared by the blueprints: schema-checked responses, token auth, the database session,
the JSON body of a request.

``documented(...)`` records on a view which schemas it takes and returns, which is what the
OpenAPI document is generated from (server/openapi.py); the view itself calls ``load``/``dump``.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import current_app, g, request
from marshmallow import Schema
from sqlalchemy.orm import Session

from server.errors import BadRequest, ClientError, Unauthorized
from server.ingest.schemas import ErrorSchema
from server.ingest.service import parse_json
from server.tenants import Tenant, authenticate_token

F = TypeVar("F", bound=Callable[..., Any])


def documented(*, summary: str, tags: list[str], body: Schema | None = None, query: Schema | None = None,
               responses: dict[int, tuple[Schema | None, str]] | None = None, auth: str | None = None,
               body_content_type: str = "application/json", text_response: str | None = None) -> Callable[[F], F]:
    """OpenAPI metadata of a view. ``text_response``: the media type of a success answer that is not
    JSON (its schema in ``responses`` is None), such as ``text/csv``."""
    def wrap(fn: F) -> F:
        fn.__dict__["openapi"] = {
            "summary": summary, "tags": tags, "body": body, "query": query, "auth": auth,
            "responses": responses or {}, "body_content_type": body_content_type, "text_response": text_response,
            "description": (fn.__doc__ or "").strip(),
        }
        return fn
    return wrap


def json_body(*, allow_empty: bool = False) -> dict[str, Any]:
    """The request's body as a JSON object, whatever its Content-Type says.

    A body that is not JSON (cut short, broken UTF-8, another format), is nested too deeply or is not an
    object answers 400 with the ingest endpoints' messages: it is never read as ``{}``, which would make a
    PUT put every setting back to its default. An empty body is ``{}`` only with ``allow_empty``, where
    sending nothing has a meaning (every field has a default: a backtest of the stored settings);
    elsewhere it is a 400 as well.
    """
    raw = request.get_data(cache=True)
    if not raw and allow_empty:
        return {}
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def db_session() -> Session:
    """The request's session, opened lazily and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["groundswell.db"].session()
    return g.db_session  # type: ignore[no-any-return]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def require_token(fn: F) -> F:
    """Authenticate ``Authorization: Bearer <api token>`` (or a sidebar JWT) and pass the tenant as ``tenant``."""

    @wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        if not token:
            raise Unauthorized("Missing API token: send Authorization: Bearer <token>.")
        tenant = token_tenant(token)
        if tenant is None:
            raise Unauthorized("Unknown or revoked API token.")
        g.tenant_id = tenant.id
        return fn(*args, tenant=tenant, **kwargs)

    return inner  # type: ignore[return-value]


def token_tenant(token: str) -> Tenant | None:
    """The tenant of a bearer value (a sidebar JWT, else an API token), None when it names none; a JWT
    refused for a reason (expired, wrong audience) raises it. Checked once a request: the rate limiter's
    key (server/api/views.py) and ``require_token`` both ask."""
    cached = g.get("_token_tenant")
    if cached is None or cached[0] != token:
        try:
            cached = (token, _sidebar_jwt_tenant(token) or authenticate_token(db_session(), token))
        except ClientError as e:
            cached = (token, e)
        g._token_tenant = cached
    if isinstance(cached[1], ClientError):
        raise cached[1]
    return cached[1]


def _sidebar_jwt_tenant(token: str) -> Tenant | None:
    """The tenant of a sidebar JWT signed by the Zendesk proxy (see server/zendesk/sidebar_auth.py);
    None when the bearer value is not a JWT (then it must be an API token)."""
    from server.zendesk.sidebar_auth import authenticate_jwt, looks_like_jwt

    if not looks_like_jwt(token):
        return None
    return authenticate_jwt(db_session(), token, audience=str(current_app.config["SIDEBAR_JWT_AUDIENCE"]),
                            secret_key=current_app.extensions["groundswell.secret_key"])


def current_tenant() -> Tenant | None:
    return g.get("tenant")


#: The error answers of every endpoint behind ``require_token``, for ``documented(responses=...)``.
AUTH_ERRORS = {401: (ErrorSchema(), "Missing, unknown or expired API token or sidebar JWT."),
               429: (ErrorSchema(), "Rate limit exceeded; retry after Retry-After seconds.")}
