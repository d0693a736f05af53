"""A local Zendesk stand-in for the demo, the browser tests and the test suite.

A real HTTP server on 127.0.0.1 (werkzeug, threaded) that speaks Zendesk's wire format for the
calls Groundswell makes, so zenpy talks to it exactly as it talks to Zendesk once
``ZENPY_FORCE_SCHEME=http`` and ``ZENPY_FORCE_NETLOC=<fake.netloc>`` are set (see
`server.zendesk.client`). It keeps its state in memory and records every request.

Endpoints (each also answers without the ``.json`` suffix):

- ``GET /api/v2/incremental/tickets/cursor.json``: the cursor export, with ``start_time`` (Unix
  seconds, at least a minute in the past) or ``cursor``, and ``per_page`` (at most 1000). Tickets
  come in ``(updated_at, id)`` order with absolute ``after_url``/``before_url`` on the fake's own
  host. Cursors are opaque base64 that starts with ``+/`` on purpose, so a client that does not
  URL-encode them fails here as it would against Zendesk.
- ``GET|PUT /api/v2/tickets/{id}.json``, ``POST /api/v2/tickets.json``: show, update (fields,
  ``additional_tags``/``remove_tags``, a ``comment`` that becomes a comment, public or internal) and
  create; updates and creates answer ``{"ticket", "audit"}`` like Zendesk.
- ``GET /api/v2/tickets/{id}/comments.json``, ``GET /api/v2/tickets/{id}/incidents.json``.
- ``POST|GET /api/v2/webhooks``, ``GET|DELETE /api/v2/webhooks/{id}``,
  ``GET /api/v2/webhooks/{id}/signing_secret``.
- ``POST|GET /api/v2/triggers.json``, ``GET|PUT|DELETE /api/v2/triggers/{id}.json``.
- ``GET /api/v2/users/me.json``, ``GET /api/v2/oauth/tokens/current.json``.
- ``GET /__fake/requests``: every request so far as JSON (method, path, args, status, json body,
  auth kind, the ``X-Zendesk-Marketplace-*`` headers), for browser tests to assert on;
  ``GET /__fake/tickets/{id}`` shows a ticket with its comments. No authentication on these.

Authentication: HTTP basic ``{email}/token:{token}``, or ``Authorization: Bearer {oauth_token}``;
anything else gets Zendesk's 401 body. Recorded auth kinds: ``api_token``, ``oauth``, ``none``,
``invalid``.

Webhook deliveries: when a ticket is created or updated through the API, or by `solve`, every
active trigger whose action is ``notification_webhook`` renders its JSON body (the placeholders
``{{ticket.id}}``, ``{{ticket.status}}``, ``{{ticket.title}}``, ``{{ticket.ticket_type}}``,
``{{ticket.updated_at_with_timestamp}}``, ``{{ticket.created_at_with_timestamp}}``, ``{{ticket.via}}``
and a few more) and queues a delivery to the webhook's endpoint, signed the way Zendesk signs (base64
HMAC-SHA256 of timestamp + body with the webhook's signing secret). Of a trigger's conditions only
``update_type`` (``Create``/``Change``) is evaluated; the others are taken as met. Deliveries wait
in `deliveries` until `take_deliveries` (tests post them through a test client) or, with
``auto_deliver=True``, are POSTed by a background thread (the demo and the browser tests, where the
backend listens on loopback).

Faults: `fail` answers the n-th export request with a status (429 with Retry-After, 500...);
`fail_next` answers the next request matching a method and path prefix with a status.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import queue
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import quote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from server.zendesk.fake_hooks import (Delivery, HookRoutes, _body, _invalid, _json, _not_found, iso,  # noqa: F401
                                       sign)

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
_CURSOR_PREFIX = b"\xfb\xff"  # base64 "+/8...": characters that must be URL-encoded
_MARKETPLACE = ("X-Zendesk-Marketplace-Name", "X-Zendesk-Marketplace-Organization-Id",
                "X-Zendesk-Marketplace-App-Id")
_TICKET_FIELDS = ("subject", "raw_subject", "description", "status", "priority", "type", "problem_id", "tags",
                  "assignee_id", "group_id", "external_id", "requester_id", "organization_id", "custom_fields")


def make_ticket(ticket_id: int, *, created: datetime | None = None, updated: datetime | None = None,
                subject: str | None = None, status: str = "open", priority: str | None = "normal",
                channel: str = "web", tags: Iterable[str] = ("billing", "invoice"),
                plan_tier: str | None = "enterprise", description: str | None = None,
                ticket_type: str | None = None) -> dict[str, Any]:
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
        "type": ticket_type or ("incident" if ticket_id % 5 == 0 else "question"),
        "subject": subject or f"Invoice PDF is blank (#{ticket_id})",
        "raw_subject": subject or f"Invoice PDF is blank (#{ticket_id})",
        "description": description or "Every page of the invoice PDF is empty since this morning.",
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
    body: Any = None
    auth: str = "none"
    marketplace: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    retry_after: str | None = None


@dataclass
class FakeZendesk(HookRoutes):
    """The fake's state: tickets, comments, webhooks, triggers, and every request seen.

    Examples
    --------
    >>> import requests
    >>> fake = FakeZendesk(tickets=make_tickets(1)).start()
    >>> r = requests.get(f"{fake.base_url}/api/v2/tickets/1.json", auth=(f"{fake.email}/token", fake.token))
    >>> r.status_code, r.json()["ticket"]["id"], fake.requests[-1].auth
    (200, 1, 'api_token')
    >>> requests.get(f"{fake.base_url}/api/v2/tickets/1.json").status_code
    401
    >>> fake.stop()
    """

    tickets: list[dict[str, Any]] = field(default_factory=list)
    email: str = "admin@acme.test"
    token: str = "TOKEN"
    oauth_token: str | None = None
    default_per_page: int = 1000
    requests: list[Seen] = field(default_factory=list)
    auto_deliver: bool = False
    account_id: int = 22129848
    user_role: str = "admin"
    #: Organization id -> name, for the triggers' ``{{ticket.organization.name}}`` placeholder.
    organizations: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._faults: dict[int, _Fault] = {}
        self._path_faults: list[tuple[str, str, int]] = []
        self._served: list[int] = []
        self._count = 0
        self._lock = threading.RLock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.webhook_secrets: dict[str, str] = {}
        self.triggers: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self.delivery_results: list[int] = []
        self._outbox: queue.Queue[Delivery | None] = queue.Queue()
        self._ids = 10_000
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"/api/v2/incremental/tickets/cursor"), self._export),
            ("GET", re.compile(r"/api/v2/tickets/(\d+)"), self._show_ticket),
            ("PUT", re.compile(r"/api/v2/tickets/(\d+)"), self._update_ticket),
            ("POST", re.compile(r"/api/v2/tickets"), self._create_ticket),
            ("GET", re.compile(r"/api/v2/tickets/(\d+)/comments"), self._list_comments),
            ("GET", re.compile(r"/api/v2/tickets/(\d+)/incidents"), self._list_incidents),
            ("POST", re.compile(r"/api/v2/webhooks"), self._create_webhook),
            ("GET", re.compile(r"/api/v2/webhooks"), self._list_webhooks),
            ("GET", re.compile(r"/api/v2/webhooks/([0-9A-Za-z]+)"), self._show_webhook),
            ("DELETE", re.compile(r"/api/v2/webhooks/([0-9A-Za-z]+)"), self._delete_webhook),
            ("GET", re.compile(r"/api/v2/webhooks/([0-9A-Za-z]+)/signing_secret"), self._webhook_secret),
            ("POST", re.compile(r"/api/v2/triggers"), self._create_trigger),
            ("GET", re.compile(r"/api/v2/triggers"), self._list_triggers),
            ("GET", re.compile(r"/api/v2/triggers/(\d+)"), self._show_trigger),
            ("PUT", re.compile(r"/api/v2/triggers/(\d+)"), self._update_trigger),
            ("DELETE", re.compile(r"/api/v2/triggers/(\d+)"), self._delete_trigger),
            ("GET", re.compile(r"/api/v2/organizations/show_many"), self._show_organizations),
            ("GET", re.compile(r"/api/v2/users/me"), self._me),
            ("GET", re.compile(r"/api/v2/oauth/tokens/current"), self._current_token),
        ]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FakeZendesk":
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        threading.Thread(target=self._deliver_loop, name="fake-zendesk-deliveries", daemon=True).start()
        return self

    def stop(self) -> None:
        self._outbox.put(None)
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

    def fail_next(self, method: str, path_prefix: str, status: int = 500) -> None:
        """Answer the next ``method`` request whose path starts with ``path_prefix`` with ``status``."""
        with self._lock:
            self._path_faults.append((method.upper(), path_prefix, status))

    @property
    def export_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path == EXPORT_PATH]

    def api_requests(self, method: str | None = None, prefix: str = "/api/v2/") -> list[Seen]:
        """Recorded API requests, optionally of one method, whose path starts with ``prefix``."""
        return [r for r in self.requests if r.path.startswith(prefix) and (method is None or r.method == method)]

    def served(self) -> list[int]:
        """Ids of the tickets in every successful page, in order, duplicates included."""
        return list(self._served)

    def ticket(self, ticket_id: int) -> dict[str, Any] | None:
        with self._lock:
            return next((t for t in self.tickets if int(t["id"]) == int(ticket_id)), None)

    def add_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.tickets.append(ticket)
            self._ids = max(self._ids, int(ticket["id"]))
        return ticket

    def solve(self, ticket_id: int, status: str = "solved") -> None:
        """An agent solves the ticket in Zendesk: its status changes and the triggers fire."""
        with self._lock:
            ticket = self.ticket(ticket_id)
            if ticket is None:
                raise KeyError(ticket_id)
            ticket["status"] = status
            self._touch(ticket)
        self._fire(ticket)

    def take_deliveries(self) -> list[Delivery]:
        """The queued webhook deliveries (when ``auto_deliver`` is off), emptied."""
        with self._lock:
            out, self.deliveries = self.deliveries, []
        return out

    # -- protocol ----------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._handle(request)
        if not request.path.startswith("/__fake/"):
            body = request.get_json(silent=True) if request.content_length else None
            marketplace = {h: request.headers[h] for h in _MARKETPLACE if h in request.headers}
            seen = Seen(request.method, request.path, dict(request.args), response.status_code, body,
                        self._auth_kind(request.headers.get("Authorization", "")), marketplace)
            with self._lock:
                self.requests.append(seen)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.path.startswith("/__fake/"):
            return self._introspect(request)
        path = request.path[:-5] if request.path.endswith(".json") else request.path
        route = next(((fn, m) for method, pattern, fn in self._routes
                      if method == request.method and (m := pattern.fullmatch(path))), None)
        if route is None:
            return _json({"error": "InvalidEndpoint", "description": "Not found"}, 404)
        fn, match = route
        if fn == self._export:
            with self._lock:
                self._count += 1
                number = self._count
            fault = self._faults.pop(number, None)
            if fault is not None:
                return _fault(fault.status, fault.retry_after)
        with self._lock:
            hit = next((f for f in self._path_faults if f[0] == request.method and request.path.startswith(f[1])),
                       None)
            if hit is not None:
                self._path_faults.remove(hit)
        if hit is not None:
            return _fault(hit[2], None)
        if self._auth_kind(request.headers.get("Authorization", "")) not in ("api_token", "oauth"):
            return _json({"error": "Couldn't authenticate you"}, 401)
        return fn(request, *match.groups())

    def _auth_kind(self, header: str) -> str:
        if not header:
            return "none"
        if header.startswith("Bearer "):
            return "oauth" if self.oauth_token and hmac.compare_digest(header[7:], self.oauth_token) else "invalid"
        if not header.startswith("Basic "):
            return "invalid"
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "invalid"
        return "api_token" if user == f"{self.email}/token" and secret == self.token else "invalid"

    def _introspect(self, request: Request) -> Response:
        if request.path == "/__fake/requests":
            with self._lock:
                return _json({"requests": [asdict(r) for r in self.requests]})
        match = re.fullmatch(r"/__fake/tickets/(\d+)", request.path)
        if match:
            ticket = self.ticket(int(match.group(1)))
            if ticket is None:
                return _json({"error": "RecordNotFound"}, 404)
            return _json({"ticket": ticket, "comments": self.comments.get(int(ticket["id"]), [])})
        return _json({"error": "InvalidEndpoint"}, 404)

    # -- organizations -----------------------------------------------------------------------
    def _show_organizations(self, request: Request) -> Response:
        """``show_many``: at most 100 ids; unknown ids are left out, as Zendesk does."""
        try:
            ids = [int(i) for i in request.args.get("ids", "").split(",") if i]
        except ValueError:
            return _json({"error": "InvalidValue", "description": "ids must be integers"}, 400)
        if len(ids) > 100:
            return _json({"error": "InvalidValue", "description": "at most 100 ids"}, 400)
        orgs = [{"id": i, "url": f"{self.base_url}/api/v2/organizations/{i}.json", "name": self.organizations[i]}
                for i in ids if i in self.organizations]
        return _json({"organizations": orgs, "next_page": None, "previous_page": None, "count": len(orgs)})

    # -- tickets -----------------------------------------------------------------------------

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
        with self._lock:
            remaining = sorted((t for t in self.tickets if _key(t) > after), key=_key)
        page = remaining[:per_page]
        after_cursor = _encode(_key(page[-1])) if page else _encode(after)
        before_cursor = _encode(_key(page[0])) if page else None
        self._served.extend(t["id"] for t in page)
        sideload: dict[str, Any] = {}
        if "organizations" in args.get("include", "").split(","):  # Zendesk's sideload, for the page's tickets
            ids = sorted({int(t["organization_id"]) for t in page if t.get("organization_id")})
            sideload["organizations"] = [{"id": i, "url": f"{self.base_url}/api/v2/organizations/{i}.json",
                                          "name": self.organizations[i]} for i in ids if i in self.organizations]
        return _json({
            "tickets": page,
            **sideload,
            "after_cursor": after_cursor,
            "after_url": f"{self.base_url}{EXPORT_PATH}?cursor={quote(after_cursor, safe='')}",
            "before_cursor": before_cursor,
            "before_url": f"{self.base_url}{EXPORT_PATH}?cursor={quote(before_cursor, safe='')}" if before_cursor
            else None,
            "end_of_stream": len(remaining) <= per_page,
        })

    def _show_ticket(self, request: Request, ticket_id: str) -> Response:
        ticket = self.ticket(int(ticket_id))
        if ticket is None:
            return _not_found()
        return _json({"ticket": ticket})

    def _update_ticket(self, request: Request, ticket_id: str) -> Response:
        data = _body(request, "ticket")
        if data is None:
            return _invalid("send {\"ticket\": {...}}")
        with self._lock:
            ticket = self.ticket(int(ticket_id))
            if ticket is None:
                return _not_found()
            error = self._apply(ticket, data)
            if error:
                return _invalid(error)
            self._touch(ticket)
            audit = self._audit(ticket)
        self._fire(ticket)
        return _json({"ticket": ticket, "audit": audit})

    def _create_ticket(self, request: Request) -> Response:
        data = _body(request, "ticket")
        if data is None:
            return _invalid("send {\"ticket\": {...}}")
        if not (data.get("comment") or {}).get("body") and not data.get("description"):
            return _invalid("Description: cannot be blank")
        with self._lock:
            self._ids += 1
            now = datetime.now(timezone.utc)
            ticket = make_ticket(self._ids, created=now, updated=now, subject=str(data.get("subject") or ""),
                                 tags=(), description=str((data.get("comment") or {}).get("body") or ""),
                                 ticket_type=str(data.get("type") or "question"))
            ticket["via"]["channel"] = "api"
            error = self._apply(ticket, data)
            if error:
                self._ids -= 1
                return _invalid(error)
            self.tickets.append(ticket)
            audit = self._audit(ticket)
        self._fire(ticket, created=True)
        return _json({"ticket": ticket, "audit": audit}, 201)

    def _apply(self, ticket: dict[str, Any], data: dict[str, Any]) -> str | None:
        if data.get("type") not in (None, "problem", "incident", "question", "task"):
            return "Type: is invalid"
        problem_id = data.get("problem_id")
        if problem_id is not None:
            problem = self.ticket(int(problem_id)) if str(problem_id).isdigit() else None
            if problem is None or problem.get("type") != "problem":
                return "Problem: must be a problem ticket"
            problem["has_incidents"] = True
        for name in _TICKET_FIELDS:
            if name in data:
                ticket[name] = data[name]
        if "subject" in data:
            ticket["raw_subject"] = data["subject"]
        tags = list(ticket.get("tags") or [])
        tags += [t for t in data.get("additional_tags") or [] if t not in tags]
        ticket["tags"] = [t for t in tags if t not in (data.get("remove_tags") or [])]
        comment = data.get("comment")
        if isinstance(comment, dict) and comment.get("body"):
            with self._lock:
                self._ids += 1
                self.comments.setdefault(int(ticket["id"]), []).append({
                    "id": self._ids, "type": "Comment", "body": str(comment["body"]),
                    "public": bool(comment.get("public", True)), "author_id": 1,
                    "created_at": iso(datetime.now(timezone.utc))})
        return None

    def _touch(self, ticket: dict[str, Any]) -> None:
        now = max(datetime.now(timezone.utc), datetime.fromisoformat(ticket["updated_at"]) + timedelta(seconds=1))
        ticket["updated_at"] = iso(now)
        ticket["generated_timestamp"] = int(now.timestamp())

    def _audit(self, ticket: dict[str, Any]) -> dict[str, Any]:
        self._ids += 1
        return {"id": self._ids, "ticket_id": ticket["id"], "created_at": ticket["updated_at"], "author_id": 1,
                "events": []}

    def _list_comments(self, request: Request, ticket_id: str) -> Response:
        if self.ticket(int(ticket_id)) is None:
            return _not_found()
        comments = self.comments.get(int(ticket_id), [])
        return _json({"comments": comments, "next_page": None, "previous_page": None, "count": len(comments)})

    def _list_incidents(self, request: Request, ticket_id: str) -> Response:
        with self._lock:
            found = [t for t in self.tickets if str(t.get("problem_id")) == ticket_id]
        return _json({"tickets": found, "next_page": None, "previous_page": None, "count": len(found)})


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


def _fault(status: int, retry_after: str | None) -> Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": "APIRateLimitExceeded", "description": "Rate limit exceeded"} if status == 429 \
        else {"error": "InternalError", "description": "Something went wrong"}
    return _json(body, status, headers)
