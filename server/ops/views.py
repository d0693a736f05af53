from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from server.http import db_session, documented
from server.metrics import render, utcnow
from server.ops import service

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


class HealthSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"description": "`ready` or `unready`."})
    database = fields.String(required=True)
    detector = fields.Dict(required=True, metadata={"description": "head offset, checkpoints, lag_seconds."})


@bp.get("/healthz")
@documented(summary="Liveness: the web process answers", tags=["operations"],
            responses={200: (HealthSchema(), "Alive.")})
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
@documented(summary="Readiness: database reachable, detector lag", tags=["operations"],
            responses={200: (ReadySchema(), "Ready to take traffic."),
                       503: (ReadySchema(), "Database unreachable, or detector lag above the configured limit.")})
def readyz() -> Any:
    session = db_session()
    try:
        service.database_ok(session)
        progress = service.detector_progress(session, current_app.extensions["groundswell.log"], utcnow())
    except SQLAlchemyError as e:
        log.warning("readiness check failed: database unreachable (%s)", type(e).__name__)
        session.rollback()
        return jsonify(status="unready", database="unreachable", detector={}), 503
    max_lag = int(current_app.config["READY_MAX_DETECTOR_LAG_SECONDS"])
    ready = not (max_lag > 0 and progress["lag_seconds"] > max_lag)
    body = ReadySchema().dump({"status": "ready" if ready else "unready", "database": "ok", "detector": progress})
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
@documented(summary="Prometheus metrics", tags=["operations"], responses={200: (None, "Prometheus text format.")},
            text_response="text/plain")
def metrics() -> Response:
    def read() -> dict:
        session, now = db_session(), utcnow()
        return {**service.detector_progress(session, current_app.extensions["groundswell.log"], now),
                "notifications": service.notification_backlog(session, now)}

    return Response(render(read), mimetype="text/plain; version=0.0.4")
