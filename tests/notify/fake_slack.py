"""A local fake of Slack on pytest-httpserver, speaking its wire format.

- Incoming webhook ``POST /services/T0000/B0000/<secret>``: JSON message in, ``200 ok`` out, or the
  plain-text error codes Slack uses (``400 invalid_blocks``, ``404 no_service``, ``429`` with
  ``Retry-After``...).
- Web API ``POST /api/chat.postMessage`` and ``/api/chat.update``: bearer token, JSON or form body,
  ``{"ok": true, "channel": ..., "ts": ...}`` or ``{"ok": false, "error": ...}`` with HTTP 200, and
  ``429`` + ``Retry-After`` + ``{"ok": false, "error": "ratelimited"}`` when rate limited.

- Interactions: ``interaction(...)`` builds the signed form request Slack sends to an app's
  interactivity URL when a button is pressed; ``POST /actions/T0000/<id>/<secret>`` is the press's
  ``response_url`` (JSON in, ``200 ok``; ``responses`` keeps what was sent).

Messages are checked against Block Kit's limits the way Slack rejects them (``invalid_blocks``).
``fail(kind, status, body, headers)`` queues scripted failures for the next calls of that kind.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug import Request, Response

WEBHOOK_PATH = "/services/T0000/B0000/XXXXsecretXXXX"
RESPONSE_PATH = "/actions/T0000/5555/respXXsecret"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-1111-2222-secretTOKEN"
CHANNEL_ID = "C0INCIDENTS"


def blocks_problem(message: dict[str, Any]) -> str | None:
    """Why Slack would refuse this message's blocks, or None."""
    blocks = message.get("blocks")
    if blocks is None:
        return None if message.get("text") else "no_text"
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            text = block["text"]
            if text["type"] != "plain_text" or not 0 < len(text["text"]) <= 150:
                return "invalid_blocks"
        elif kind == "section":
            if "text" in block and not 0 < len(block["text"]["text"]) <= 3000:
                return "invalid_blocks"
            fields = block.get("fields", [])
            if len(fields) > 10 or any(not 0 < len(f["text"]) <= 2000 for f in fields):
                return "invalid_blocks"
            if "text" not in block and not fields:
                return "invalid_blocks"
        elif kind == "context":
            if not 0 < len(block["elements"]) <= 10:
                return "invalid_blocks"
        elif kind == "actions":
            for el in block["elements"]:
                if el["type"] != "button" or len(el["text"]["text"]) > 75 or len(el.get("url", "")) > 3000:
                    return "invalid_blocks"
        else:
            return "invalid_blocks"
    return None


@dataclass
class FakeSlack:
    base: str
    webhook_calls: list[dict[str, Any]] = field(default_factory=list)
    api_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: channel id -> ts -> the message as it stands (with its thread_ts, if a reply)
    messages: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    failures: dict[str, deque[tuple[int, Any, dict[str, str]]]] = field(default_factory=lambda: defaultdict(deque))
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    next_ts: int = 1700000000

    @property
    def response_url(self) -> str:
        return self.base + RESPONSE_PATH

    def respond(self, request: Request) -> Response:
        message = json.loads(request.get_data())
        problem = blocks_problem(message) if "blocks" in message else None
        if problem:
            return Response(problem, status=400, content_type="text/html")
        self.responses.append(message)
        return Response("ok", status=200, content_type="text/html")

    @property
    def webhook_url(self) -> str:
        return self.base + WEBHOOK_PATH

    @property
    def api_url(self) -> str:
        return self.base + "/api"

    def fail(self, kind: str, status: int, body: Any, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Queue a failure for the next ``times`` calls of ``kind`` (webhook, chat.postMessage, chat.update)."""
        for _ in range(times):
            self.failures[kind].append((status, body, headers or {}))

    def _scripted(self, kind: str) -> Response | None:
        if not self.failures[kind]:
            return None
        status, body, headers = self.failures[kind].popleft()
        if isinstance(body, dict):
            return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")
        return Response(body, status=status, headers=headers, content_type="text/html")

    def webhook(self, request: Request) -> Response:
        self.headers_seen.append(dict(request.headers))
        scripted = self._scripted("webhook")
        if scripted is not None:
            return scripted
        try:
            message = json.loads(request.get_data())
        except ValueError:
            return Response("invalid_payload", status=400, content_type="text/html")
        problem = blocks_problem(message)
        if problem:
            return Response(problem, status=400, content_type="text/html")
        self.webhook_calls.append(message)
        return Response("ok", status=200, content_type="text/html")

    def _api_body(self, request: Request) -> dict[str, Any]:
        if request.mimetype == "application/json":
            return json.loads(request.get_data())
        body = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        if "blocks" in body:
            body["blocks"] = json.loads(body["blocks"])
        return body

    def _ok(self, **data: Any) -> Response:
        return Response(json.dumps({"ok": True, **data}), status=200, content_type="application/json")

    def _error(self, error: str) -> Response:
        return Response(json.dumps({"ok": False, "error": error}), status=200, content_type="application/json")

    def api(self, request: Request) -> Response:
        method = request.path.rsplit("/", 1)[-1]
        self.headers_seen.append(dict(request.headers))
        scripted = self._scripted(method)
        if scripted is not None:
            return scripted
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._error("invalid_auth" if request.headers.get("Authorization") else "not_authed")
        body = self._api_body(request)
        self.api_calls.append((method, body))
        problem = blocks_problem(body)
        if problem:
            return self._error(problem)
        channel = body.get("channel")
        if channel not in ("#incidents", CHANNEL_ID):
            return self._error("channel_not_found")
        if method == "chat.postMessage":
            self.next_ts += 1
            ts = f"{self.next_ts}.000100"
            thread_ts = body.get("thread_ts")
            if thread_ts and thread_ts not in self.messages[CHANNEL_ID]:
                return self._error("thread_not_found")
            self.messages[CHANNEL_ID][ts] = body
            return self._ok(channel=CHANNEL_ID, ts=ts, message={"text": body.get("text"), "ts": ts})
        if method == "chat.update":
            if channel != CHANNEL_ID:  # chat.update needs the channel id, not a name
                return self._error("channel_not_found")
            if body.get("ts") not in self.messages[CHANNEL_ID]:
                return self._error("message_not_found")
            self.messages[CHANNEL_ID][body["ts"]] = {**self.messages[CHANNEL_ID][body["ts"]], **body}
            return self._ok(channel=CHANNEL_ID, ts=body["ts"], text=body.get("text"))
        return self._error("unknown_method")

    def parents(self) -> dict[str, dict[str, Any]]:
        return {ts: m for ts, m in self.messages[CHANNEL_ID].items() if not m.get("thread_ts")}

    def replies(self, parent_ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages[CHANNEL_ID].values() if m.get("thread_ts") == parent_ts]


def interaction(action_id: str, value: str, *, response_url: str | None, secret: str = SIGNING_SECRET,
                timestamp: int | None = None, user: dict[str, str] | None = None,
                kind: str = "block_actions") -> tuple[bytes, dict[str, str]]:
    """The body and headers Slack sends to an app's interactivity URL when a button is pressed."""
    import hashlib
    import hmac
    import time
    from urllib.parse import urlencode

    payload = {"type": kind, "team": {"id": "T0000", "domain": "acme"},
               "user": user or {"id": "U0ANA", "username": "ana", "name": "ana", "team_id": "T0000"},
               "api_app_id": "A0GS", "token": "deprecated-verification-token", "trigger_id": "1.2.3",
               "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": CHANNEL_ID},
               "channel": {"id": CHANNEL_ID, "name": "incidents"}, "response_url": response_url,
               "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                            "text": {"type": "plain_text", "text": "x"}, "action_ts": "1700000100.000200"}]}
    if response_url is None:
        del payload["response_url"]
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return body, {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig,
                  "Content-Type": "application/x-www-form-urlencoded"}


def install(httpserver: Any) -> FakeSlack:
    fake = FakeSlack(httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_handler(fake.webhook)
    httpserver.expect_request(RESPONSE_PATH, method="POST").respond_with_handler(fake.respond)
    for method in ("chat.postMessage", "chat.update"):
        httpserver.expect_request(f"/api/{method}", method="POST").respond_with_handler(fake.api)
    return fake
