"""Structured logging with request ids.

Every request gets an id (a well-formed incoming ``X-Request-ID`` is kept, otherwise one is made),
returned in the response header and attached to each log record of the request. Records are
JSON by default. Secrets are kept out by construction: no view logs bodies or headers, and the
filter below masks anything that looks like a Groundswell credential should one reach a message.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from server.metrics import HTTP_LATENCY, HTTP_REQUESTS

_RID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_SECRET_RE = re.compile(r"gs_(?:sk|pk)_[A-Za-z0-9_-]+")


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            tenant_id = g.get("tenant_id")
            if tenant_id is not None:
                record.tenant_id = tenant_id
        if isinstance(record.msg, str) and "gs_" in record.msg:
            record.msg = _SECRET_RE.sub("gs_***", record.msg)
        return True


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Configure the root logger once per process."""
    root = logging.getLogger()
    if getattr(root, "_groundswell_configured", False):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RequestContextFilter())
    root.handlers = [handler]
    root.setLevel(level)
    # Libraries' own progress lines ("Loading SentenceTransformer model from ...") are noise in a command's
    # output and a server's log alike: their warnings still show.
    for name in ("alembic", "sentence_transformers"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    root._groundswell_configured = True  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    log = logging.getLogger("server.access")

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _RID_RE.fullmatch(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(resp: Response) -> Response:
        resp.headers["X-Request-ID"] = g.get("request_id", "")
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        HTTP_REQUESTS.labels(request.method, endpoint, str(resp.status_code)).inc()
        HTTP_LATENCY.labels(endpoint).observe(elapsed)
        if resp.status_code >= 400 or log.isEnabledFor(logging.DEBUG):
            log.info("request", extra={"method": request.method, "path": request.path[:200],
                                       "status": resp.status_code, "ms": round(elapsed * 1000, 2)})
        return resp
