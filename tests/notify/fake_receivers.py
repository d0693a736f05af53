"""Local fakes of what incident webhooks are sent to, on pytest-httpserver.

- ``Receiver``: a customer's endpoint (``POST /hooks/groundswell``). It checks the signature the way
  docs/notifications.md tells receivers to (HMAC-SHA256 over ``"<t>." + raw body``, computed here
  with ``hmac`` directly, not with Groundswell's helper), records every request, and answers with
  scripted statuses (``fail(status, headers)``) before ``204``.
- ``FakePagerDuty``: the Events API v2 (``POST /v2/enqueue``): validates an event as PagerDuty
  documents it (a 32-character routing key, ``event_action``, ``dedup_key`` up to 255 characters,
  for ``trigger`` a payload with ``summary`` up to 1024 characters, ``source`` and a known
  ``severity``), answers ``202 {"status": "success", "dedup_key": ...}`` or ``400 {"status":
  "invalid event", "errors": [...]}``, and keeps each alert's state by ``dedup_key``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

HOOK_PATH = "/hooks/groundswell"
ROUTING_KEY = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12"
SEVERITIES = ("critical", "error", "warning", "info")


@dataclass
class Receiver:
    base_url: str
    secret: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: deque = field(default_factory=deque)

    @property
    def url(self) -> str:
        return self.base_url + HOOK_PATH

    def fail(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        for _ in range(times):
            self.script.append((status, headers or {}))

    def signature_ok(self, header: str, raw: bytes) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        mac = hmac.new(self.secret.encode(), parts.get("t", "").encode() + b"." + raw, hashlib.sha256).hexdigest()
        return bool(self.secret) and hmac.compare_digest(mac, parts.get("v1", ""))

    def handle(self, request: Request) -> Response:
        raw = request.get_data()
        self.requests.append({"headers": dict(request.headers), "body": json.loads(raw), "raw": raw,
                              "signed": self.signature_ok(request.headers.get("X-Groundswell-Signature", ""), raw)})
        if self.script:
            status, headers = self.script.popleft()
            return Response("nope", status=status, headers=headers)
        return Response(status=204)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]


@dataclass
class FakePagerDuty:
    base_url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    alerts: dict[str, str] = field(default_factory=dict)
    script: deque = field(default_factory=deque)

    @property
    def url(self) -> str:
        return self.base_url + "/v2/enqueue"

    def fail(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.script.append((status, headers or {}))

    @staticmethod
    def problems(event: Any) -> list[str]:
        if not isinstance(event, dict):
            return ["Event object is invalid"]
        errors = []
        key = event.get("routing_key")
        if not isinstance(key, str) or len(key) != 32:
            errors.append("'routing_key' must be 32 characters")
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        dedup = event.get("dedup_key")
        if event.get("event_action") != "trigger" and not dedup:
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            errors.append("'dedup_key' is invalid")
        if event.get("event_action") == "trigger":
            p = event.get("payload")
            if not isinstance(p, dict):
                errors.append("'payload' is missing")
            else:
                if not isinstance(p.get("summary"), str) or not 0 < len(p["summary"]) <= 1024:
                    errors.append("'payload.summary' is invalid")
                if not isinstance(p.get("source"), str) or not p["source"]:
                    errors.append("'payload.source' is missing")
                if p.get("severity") not in SEVERITIES:
                    errors.append("'payload.severity' is invalid")
        return errors

    def handle(self, request: Request) -> Response:
        if self.script:
            status, headers = self.script.popleft()
            return Response(json.dumps({"status": "throttle event", "message": "Requests for this service are "
                                        "arriving too quickly."}), status=status, headers=headers,
                            content_type="application/json")
        try:
            event = json.loads(request.get_data())
        except ValueError:
            event = None
        errors = self.problems(event)
        if errors:
            return Response(json.dumps({"status": "invalid event", "message": "Event object is invalid",
                                        "errors": errors}), status=400, content_type="application/json")
        self.events.append(event)
        dedup = event.get("dedup_key") or f"generated-{len(self.events)}"
        action = event["event_action"]
        # As PagerDuty: a trigger adds to an alert still open (an acknowledged one stays acknowledged) or
        # opens a new one; acknowledge and resolve act on an open alert only.
        if action == "trigger":
            if self.alerts.get(dedup) in (None, "resolved"):
                self.alerts[dedup] = "triggered"
        elif self.alerts.get(dedup) in ("triggered", "acknowledged"):
            self.alerts[dedup] = "resolved" if action == "resolve" else "acknowledged"
        return Response(json.dumps({"status": "success", "message": "Event processed", "dedup_key": dedup}),
                        status=202, content_type="application/json")


def install(httpserver: Any) -> tuple[Receiver, FakePagerDuty]:
    base = httpserver.url_for("/").rstrip("/")
    receiver, pagerduty = Receiver(base), FakePagerDuty(base)
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(receiver.handle)
    httpserver.expect_request("/v2/enqueue", method="POST").respond_with_handler(pagerduty.handle)
    return receiver, pagerduty
