"""Errors that reach clients, and the one handler that renders every error as JSON.

A ``ClientError`` carries its HTTP status and a stable ``code``; its message is written for
the client and never contains secrets or internals. Anything else becomes a fixed 500 body with
the request id, and the traceback goes to the log under that id.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify
from flask_limiter.errors import RateLimitExceeded
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ClientError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class BadRequest(ClientError):
    status, code = 400, "bad_request"


class Unauthorized(ClientError):
    status, code = 401, "unauthorized"


class Forbidden(ClientError):
    status, code = 403, "forbidden"


class NotFound(ClientError):
    status, code = 404, "not_found"


class Conflict(ClientError):
    status, code = 409, "conflict"


class PreconditionFailed(ClientError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(ClientError):
    status, code = 413, "payload_too_large"


class TooManyRequests(ClientError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class ServerError(Exception):
    """An internal failure; its text is logged, never sent."""


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    rid = g.get("request_id") if g else None
    if rid:
        body["request_id"] = rid
    return body


def register(app: Flask) -> None:
    @app.errorhandler(ClientError)
    def _client(e: ClientError):  # type: ignore[no-untyped-def]
        resp = jsonify(error_body(e.code, e.message, e.fields))
        resp.status_code = e.status
        if isinstance(e, TooManyRequests):
            resp.headers["Retry-After"] = str(e.retry_after)
        return resp

    @app.errorhandler(ValidationError)
    def _invalid(e: ValidationError):  # type: ignore[no-untyped-def]
        messages = e.messages if isinstance(e.messages, dict) else {"_schema": e.messages}
        resp = jsonify(error_body("invalid", "The request failed validation; `error.fields` says which fields and why.", messages))
        resp.status_code = 400
        return resp

    @app.errorhandler(RateLimitExceeded)
    def _limited(e: RateLimitExceeded):  # type: ignore[no-untyped-def]
        resp = jsonify(error_body("rate_limited", f"Rate limit exceeded ({e.description}). Retry later."))
        resp.status_code = 429
        # Flask-Limiter adds Retry-After (and X-RateLimit-*) in its after_request hook.
        return resp

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):  # type: ignore[no-untyped-def]
        code = (e.name or "error").lower().replace(" ", "_")
        message = {
            413: "The request body is larger than this endpoint accepts.",
            404: "No such resource.",
            405: "Method not allowed on this resource.",
        }.get(e.code or 0, e.description or e.name)
        resp = jsonify(error_body(code, message))
        resp.status_code = e.code or 500
        if e.code == 405 and getattr(e, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(e.valid_methods)  # type: ignore[arg-type]
        return resp

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error", extra={"error_type": type(e).__name__})
        resp = jsonify(error_body("internal", "Internal server error. Quote the request id when reporting it."))
        resp.status_code = 500
        return resp
