"""A loopback fake Zendesk that speaks the cursor-based incremental ticket export.

``GET /api/v2/incremental/tickets/cursor.json`` with ``start_time`` (Unix seconds, at least a
minute in the past) or ``cursor``, and ``per_page`` (at most 1000, default 1000 like Zendesk,
or ``default_per_page``). Tickets are served in ``(updated_at, id)`` order; a page answers
``{"tickets", "after_cursor", "after_url", "before_cursor", "before_url", "end_of_stream"}`` with
absolute URLs on the fake's own host, as Zendesk does. Cursors are opaque base64 strings that
start with ``+/`` on purpose, so a client that does not URL-encode them breaks here as it would
against Zendesk when a cursor contains those characters.

Authentication: HTTP basic ``{email}/token:{token}``, or ``Authorization: Bearer {oauth_token}``;
anything else gets Zendesk's 401 body. Faults are scripted per request number with `fail`
(a 429 with Retry-After, a 500...). Every request is recorded in ``requests``.

Point zenpy at it with ``ZENPY_FORCE_SCHEME=http`` and ``ZENPY_FORCE_NETLOC=<fake.netloc>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from urllib.parse import quote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
_CURSOR_PREFIX = b"\xfb\xff"  # base64 "+/8...": characters that must be URL-encoded


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_ticket(ticket_id: int, *, created: datetime | None = None, updated: datetime | None = None,
                subject: str | None = None, status: str = "open", priority: str | None = "normal",
                channel: str = "web", tags: Iterable[str] = ("billing", "invoice"),
                plan_tier: str | None = "enterprise") -> dict[str, Any]:
    """A ticket as the REST API returns it (integers, lower-case enums, ``via.channel``)."""
    created = created or datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=ticket_id)
    updated = updated or created
    custom = [{"id": 360001, "value": plan_tier}, {"id": 360002, "value": None}]
    return {
        "url": f"https://acme.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "id": ticket_id,
        "external_id": None,
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": iso(created),
        "updated_at": iso(updated),
        "generated_timestamp": int(updated.timestamp()),
        "type": "incident" if ticket_id % 5 == 0 else "question",
        "subject": subject or f"Invoice PDF is blank (#{ticket_id})",
        "raw_subject": subject or f"Invoice PDF is blank (#{ticket_id})",
        "description": "Every page of the invoice PDF is empty since this morning.",
        "priority": priority,
        "status": status,
        "recipient": None,
        "requester_id": 90000 + ticket_id,
        "submitter_id": 90000 + ticket_id,
        "assignee_id": None,
        "organization_id": 500 + ticket_id % 3,
        "group_id": 360100,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": list(tags),
        "custom_fields": custom,
        "fields": custom,
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "custom_status_id": 1,
        "followup_ids": [],
        "ticket_form_id": 360200,
        "brand_id": 360001,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }


def make_tickets(n: int, first_id: int = 1) -> list[dict[str, Any]]:
    return [make_ticket(i) for i in range(first_id, first_id + n)]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass(frozen=True)
class Seen:
    """One request the fake answered."""

    method: str
    path: str
    args: dict[str, str]
    status: int


@dataclass
class _Fault:
    status: int
    retry_after: str | None = None


@dataclass
class FakeZendesk:
    tickets: list[dict[str, Any]] = field(default_factory=list)
    email: str = "admin@acme.test"
    token: str = "TOKEN"
    oauth_token: str | None = None
    default_per_page: int = 1000
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: dict[int, _Fault] = {}
        self._served: list[int] = []
        self._count = 0
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FakeZendesk":
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self._server.server_port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.netloc}"

    # -- scripting ---------------------------------------------------------------------------

    def fail(self, request_number: int, status: int = 500, retry_after: str | int | None = None) -> None:
        """Answer the ``request_number``-th export request (counting from 1, all time) with ``status``."""
        self._faults[request_number] = _Fault(status, None if retry_after is None else str(retry_after))

    @property
    def export_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path == EXPORT_PATH]

    def served(self) -> list[int]:
        """Ids of the tickets in every successful page, in order, duplicates included."""
        return list(self._served)

    # -- protocol ----------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._handle(request)
        self.requests.append(Seen(request.method, request.path, dict(request.args), response.status_code))
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.path != EXPORT_PATH:
            return _json({"error": "InvalidEndpoint", "description": "Not found"}, 404)
        with self._lock:
            self._count += 1
            number = self._count
        fault = self._faults.pop(number, None)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            body = {"error": "APIRateLimitExceeded", "description": "Rate limit exceeded"} if fault.status == 429 \
                else {"error": "InternalError", "description": "Something went wrong"}
            return _json(body, fault.status, headers)
        if not self._authorized(request.headers.get("Authorization", "")):
            return _json({"error": "Couldn't authenticate you"}, 401)
        return self._export(request)

    def _authorized(self, header: str) -> bool:
        if self.oauth_token and header == f"Bearer {self.oauth_token}":
            return True
        if not header.startswith("Basic "):
            return False
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == f"{self.email}/token" and secret == self.token

    def _export(self, request: Request) -> Response:
        args = request.args
        try:
            per_page = int(args.get("per_page", self.default_per_page))
        except ValueError:
            return _json({"error": "InvalidValue", "description": "per_page must be an integer"}, 400)
        if not 1 <= per_page <= 1000:
            return _json({"error": "InvalidValue", "description": "per_page must be between 1 and 1000"}, 400)
        if ("cursor" in args) == ("start_time" in args):
            return _json({"error": "InvalidValue", "description": "send either start_time or cursor"}, 400)
        if "cursor" in args:
            after = _decode(args["cursor"])
            if after is None:
                return _json({"error": "InvalidValue", "description": "Invalid cursor"}, 400)
        else:
            try:
                start_time = int(args["start_time"])
            except ValueError:
                return _json({"error": "InvalidValue", "description": "start_time must be an integer"}, 400)
            if start_time > time.time() - 60:
                return _json({"error": "InvalidValue",
                              "description": "Start time must be more than a minute in the past"}, 400)
            after = (start_time, 0)  # ids are positive: every ticket updated at start_time or later
        remaining = sorted((t for t in self.tickets if _key(t) > after), key=_key)
        page = remaining[:per_page]
        after_cursor = _encode(_key(page[-1])) if page else _encode(after)
        before_cursor = _encode(_key(page[0])) if page else None
        self._served.extend(t["id"] for t in page)
        return _json({
            "tickets": page,
            "after_cursor": after_cursor,
            "after_url": f"{self.base_url}{EXPORT_PATH}?cursor={quote(after_cursor, safe='')}",
            "before_cursor": before_cursor,
            "before_url": f"{self.base_url}{EXPORT_PATH}?cursor={quote(before_cursor, safe='')}" if before_cursor
            else None,
            "end_of_stream": len(remaining) <= per_page,
        })


def _key(ticket: dict[str, Any]) -> tuple[int, int]:
    updated = datetime.fromisoformat(ticket["updated_at"])
    return int(updated.timestamp()), int(ticket["id"] or 0)


def _encode(key: tuple[int, int]) -> str:
    return base64.b64encode(_CURSOR_PREFIX + f"{key[0]}:{key[1]}".encode()).decode()


def _decode(cursor: str) -> tuple[int, int] | None:
    try:
        raw = base64.b64decode(cursor, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_CURSOR_PREFIX):
        return None
    try:
        ts, ticket_id = raw[len(_CURSOR_PREFIX):].decode().split(":")
        return int(ts), int(ticket_id)
    except ValueError:
        return None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
