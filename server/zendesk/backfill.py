"""Backfill: a tenant's ticket history, from Zendesk's cursor-based incremental export into the log.

Each exported ticket becomes one event (source ``zendesk``, kind ``zendesk.backfill.ticket``,
idempotency key ``backfill:<ticket id>:<updated_at>``, event time the ticket's creation, payload
the REST ticket JSON plus ``organization_name``, the name of its organization from the page's
sideloaded organizations), so the detector reads history and live webhooks the same way.

- **Export.** ``GET /api/v2/incremental/tickets/cursor.json``: the first page from
  ``start_time``, then ``cursor=<after_cursor>`` until ``end_of_stream``. Cursor export, not the
  time-based one, which can loop forever when a page shares one ``generated_timestamp``.
- **One page at a time through zenpy.** ``zenpy_client.tickets.incremental(start_time=...)`` or
  ``(cursor=...)`` makes exactly one request and returns zenpy's ``TicketCursorGenerator``. We
  never iterate it (iteration fetches the following pages on its own, with no room for the rate
  limit or a commit between pages); the page is read from the generator's response JSON, so the
  payload is Zendesk's JSON, not zenpy's re-serialisation.
- **Resumable.** After every page the events and the new cursor (table ``backfill_cursors``) are
  committed in one transaction: an interrupted run resumes from the last committed page, with no
  ticket lost and none stored twice. A finished backfill run again continues from its cursor and
  so fetches only tickets changed since; ``restart=True`` starts over from ``since`` (tickets
  already logged with the same ``updated_at`` count as duplicates).
- **Rate limit.** Incremental exports allow 10 requests per minute (30 with the High Volume
  add-on): requests are spaced ``60 / requests_per_minute`` seconds apart, and a 429 waits its
  ``Retry-After``. Clock and sleep are parameters, so tests do not wait.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import quote

import requests
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.db import Database
from server.eventlog import EventLog, NewEvent
from server.eventlog.log import as_utc
from server.zendesk.client import ZendeskAuthError, ZendeskError, ZendeskRateLimited, DEFAULT_RETRY_AFTER
from server.zendesk.models import BackfillCursor

SOURCE = "zendesk"
KIND = "zendesk.backfill.ticket"
#: Zendesk's limit for incremental exports without the High Volume add-on.
REQUESTS_PER_MINUTE = 10
#: Largest page the export serves (and its default).
MAX_PER_PAGE = 1000
#: 429 answers in a row for one page before the backfill gives up.
MAX_RATE_LIMIT_RETRIES = 10
#: The export refuses a ``start_time`` less than a minute in the past.
MIN_START_AGE = timedelta(seconds=61)

_DURATION = re.compile(r"([0-9]{1,6})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class BackfillConflict(RuntimeError):
    """Another backfill of the same tenant moved the stored cursor while this one ran."""


@dataclass(frozen=True)
class Page:
    """One page of the export: raw ticket JSON objects and where the next page starts."""

    tickets: list[dict[str, Any]]
    after_cursor: str | None
    end_of_stream: bool


@dataclass
class BackfillResult:
    pages: int = 0
    tickets: int = 0
    accepted: int = 0
    duplicates: int = 0
    skipped: int = 0  # tickets without a usable id
    rate_limited: int = 0  # 429 answers waited out
    resumed: bool = False
    done: bool = False
    cursor: str | None = None


class RateLimiter:
    """At most ``per_minute`` requests a minute, spaced evenly (no bursts).

    Examples
    --------
    >>> t = [0.0]
    >>> limiter = RateLimiter(10, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    >>> [limiter.acquire() for _ in range(3)], t[0]
    ([0.0, 6.0, 6.0], 12.0)
    >>> limiter.defer(30); limiter.acquire(), t[0]
    (30.0, 42.0)
    """

    def __init__(self, per_minute: float = REQUESTS_PER_MINUTE, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.interval = 60.0 / per_minute
        self.clock = clock
        self.sleep = sleep
        self._next: float | None = None

    def acquire(self) -> float:
        """Wait until the next request may go; returns the seconds waited."""
        now = self.clock()
        wait = self.pending(now)
        if wait > 0:
            self.sleep(wait)
        self._next = now + wait + self.interval
        return wait

    def pending(self, now: float | None = None) -> float:
        """Seconds the next request would have to wait."""
        if self._next is None:
            return 0.0
        return max(0.0, self._next - (self.clock() if now is None else now))

    def defer(self, seconds: float) -> None:
        """Make the next request wait at least ``seconds`` from now (a 429's Retry-After)."""
        self._next = max(self._next or 0.0, self.clock() + seconds)


def parse_since(value: str, now: datetime) -> datetime:
    """The start of a backfill: ``90d``, ``12h``, ``30m``, ``2w`` before ``now``, or a date/time (UTC).

    Examples
    --------
    >>> now = datetime(2026, 4, 1, 12, 0, tzinfo=timezone.utc)
    >>> parse_since("90d", now).isoformat(), parse_since("12h", now).isoformat()
    ('2026-01-01T12:00:00+00:00', '2026-04-01T00:00:00+00:00')
    >>> parse_since("2026-01-01", now).isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> parse_since("2026-05-01", now)
    Traceback (most recent call last):
    ...
    ValueError: 2026-05-01 is in the future
    """
    text = value.strip().lower()
    match = _DURATION.fullmatch(text)
    if match:
        since = now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    else:
        try:
            since = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"cannot read {value!r}: use 90d, 12h, 30m, 2w or a date like 2026-01-01") from None
        since = since.replace(tzinfo=timezone.utc) if since.tzinfo is None else since.astimezone(timezone.utc)
    if since > now:
        raise ValueError(f"{value} is in the future")
    return since


def fetch_page(zenpy_client: Any, *, start_time: int | None = None, cursor: str | None = None,
               per_page: int | None = None) -> Page:
    """One request to the cursor export through zenpy; raises `ZendeskError` subclasses on failure.

    zenpy does not URL-encode query values (``zenpy.lib.endpoint.Url.build``), so the cursor is
    quoted here: a ``+`` in it would otherwise arrive as a space. zenpy also drops ``per_page``
    from cursor requests (``PrimaryEndpoint`` ignores it), so later pages have Zendesk's default
    size, which is the maximum, 1000.
    """
    from zenpy.lib.exception import APIException

    try:
        if cursor is not None:
            gen = zenpy_client.tickets.incremental(cursor=quote(cursor, safe=""), per_page=per_page,
                                                   include=["organizations"])
        else:
            gen = zenpy_client.tickets.incremental(start_time=start_time, per_page=per_page,
                                                   include=["organizations"])
    except ZendeskError:
        raise
    except (APIException, requests.HTTPError) as e:
        raise _http_error(getattr(e, "response", None)) from e
    except requests.RequestException as e:
        raise ZendeskError(f"cannot reach Zendesk ({type(e).__name__}: {e})") from e
    except (ValueError, KeyError, TypeError, AttributeError) as e:  # a body zenpy could not read
        raise ZendeskError(f"cannot read Zendesk's export page ({type(e).__name__}: {e})") from e
    data = getattr(gen, "_response_json", None)
    if isinstance(data, dict):
        names = {str(o.get("id")): o["name"] for o in data.get("organizations") or []
                 if isinstance(o, dict) and isinstance(o.get("name"), str)}
        tickets = [_named(t, names) for t in data.get("tickets") or [] if isinstance(t, dict)]
    else:  # a zenpy without the raw page: fall back to its objects
        data = {k: getattr(gen, k, None) for k in ("after_cursor", "end_of_stream")}
        tickets = [t.to_dict(serialize=True) for t in (getattr(gen, "values", None) or [])]
    after = data.get("after_cursor")
    return Page(tickets=tickets, after_cursor=after if isinstance(after, str) and after else None,
                end_of_stream=data.get("end_of_stream") is True)


def _named(ticket: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The ticket with its organization's name from the page's sideload, when the page has it.

    >>> _named({"id": 1, "organization_id": 7}, {"7": "Kestrel Logistics"})["organization_name"]
    'Kestrel Logistics'
    >>> _named({"id": 1, "organization_id": None}, {"7": "Kestrel Logistics"})
    {'id': 1, 'organization_id': None}
    """
    name = names.get(str(ticket.get("organization_id")))
    return {**ticket, "organization_name": name} if name else ticket


def _http_error(response: Any) -> ZendeskError:
    status = getattr(response, "status_code", None)
    if status == 401:
        return ZendeskAuthError("Zendesk rejected the credentials (HTTP 401): check the API token and the "
                                "email of the user it belongs to, or the OAuth token")
    if status == 403:
        return ZendeskAuthError("Zendesk refused the incremental export (HTTP 403): it needs an admin's "
                                "credentials (check the API token's user is an admin)")
    if status == 429:
        return ZendeskRateLimited(DEFAULT_RETRY_AFTER)
    detail = ""
    try:
        text = " ".join(str(response.text).split())
        detail = f": {text[:200]}" if text else ""
    except Exception:  # pragma: no cover - a response without a body
        pass
    return ZendeskError(f"Zendesk answered HTTP {status} to the incremental export{detail}")


def ticket_event(ticket: dict[str, Any], received_at: datetime) -> NewEvent | None:
    """The log event of one exported ticket, or None when the ticket has no usable id.

    Examples
    --------
    >>> rx = datetime(2026, 1, 2, tzinfo=timezone.utc)
    >>> ev = ticket_event({"id": 7, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T05:00:00Z"}, rx)
    >>> ev.kind, ev.idempotency_key, ev.event_time.isoformat()
    ('zendesk.backfill.ticket', 'backfill:7:2026-01-01T05:00:00Z', '2026-01-01T00:00:00+00:00')
    >>> ticket_event({"id": 7, "created_at": "2027-01-01T00:00:00Z"}, rx).event_time == rx  # bounded by now
    True
    """
    raw_id = ticket.get("id")
    text_id = str(raw_id).strip() if isinstance(raw_id, (int, str)) and not isinstance(raw_id, bool) else ""
    if not (text_id.isascii() and text_id.isdigit() and 0 < int(text_id) < 10**20):
        return None
    ticket_id = str(int(text_id))
    updated = ticket.get("updated_at")
    updated_text = "" if updated is None else str(updated)
    created = _time(ticket.get("created_at")) or _time(updated) or received_at
    return NewEvent(source=SOURCE, kind=KIND, idempotency_key=f"backfill:{ticket_id}:{updated_text}"[:160],
                    event_time=min(created, received_at), payload=_without_nul(ticket))


def run_backfill(db: Database, log: EventLog, tenant: Any, zenpy_client: Any, since: datetime, *,
                 restart: bool = False, per_page: int = MAX_PER_PAGE,
                 requests_per_minute: float = REQUESTS_PER_MINUTE, progress: bool = True,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] | None = None, console: Any = None) -> BackfillResult:
    """Export the tenant's tickets changed since ``since`` into the event log, page by page.

    Resumes from the stored cursor unless ``restart`` is set or the stored backfill began later
    than ``since`` (then it starts over from ``since``). Commits after every page; an exception
    (network, 401, interruption) leaves everything up to the last page committed. Raises
    `ZendeskAuthError` on 401/403, `ZendeskError` on other failures, `BackfillConflict` when
    another backfill of the tenant runs at the same time.

    Parameters
    ----------
    db, log
        The database (a session per page) and the event log to append to.
    tenant
        The `Tenant` (or its id) whose account ``zenpy_client`` reads.
    zenpy_client
        A ``zenpy.Zenpy``, best from `server.zendesk.build_client` (cache off, 429s raised).
    since
        Export tickets updated at or after this time.
    clock, sleep
        Monotonic seconds and the matching sleep, for the rate limit (tests pass fakes).
    now
        Wall-clock time, for ``received_at`` and for bounding event times.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from server.db import Database
    >>> from server.eventlog import Event, SqlEventLog
    >>> from server.tenants import Tenant, create_tenant
    >>> db = Database("sqlite://")
    >>> from server.zendesk.models import ZendeskConnection  # create_tenant looks there for the subdomain's tenant
    >>> Tenant.metadata.create_all(db.engine, tables=[Tenant.__table__, Event.__table__, BackfillCursor.__table__,
    ...                                               ZendeskConnection.__table__])
    >>> with db.session() as s:
    ...     tenant, _ = create_tenant(s, "Acme", secret_key="k", zendesk_subdomain="acme"); s.commit()
    >>> page = {"tickets": [{"id": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}],
    ...         "after_cursor": "c1", "end_of_stream": True}
    >>> zd = SimpleNamespace(tickets=SimpleNamespace(incremental=lambda **kw: SimpleNamespace(_response_json=page)))
    >>> r = run_backfill(db, SqlEventLog(), tenant, zd, datetime(2025, 12, 1, tzinfo=timezone.utc), progress=False)
    >>> r.pages, r.accepted, r.done, r.cursor
    (1, 1, True, 'c1')
    >>> run_backfill(db, SqlEventLog(), tenant, zd, datetime(2025, 12, 1, tzinfo=timezone.utc),
    ...              progress=False).duplicates  # resumed from c1; the same ticket is not stored twice
    1
    >>> db.dispose()
    """
    now = now or (lambda: datetime.now(timezone.utc))
    tenant_id = tenant if isinstance(tenant, int) else tenant.id
    since = since.replace(tzinfo=timezone.utc) if since.tzinfo is None else since.astimezone(timezone.utc)
    per_page = max(1, min(MAX_PER_PAGE, per_page))
    limiter = RateLimiter(requests_per_minute, clock=clock, sleep=sleep)
    result = BackfillResult()

    cursor, version, since = _start(db, tenant_id, since, restart, now(), result)
    start_time = max(0, min(int(since.timestamp()), int((now() - MIN_START_AGE).timestamp())))

    with _progress_bar(progress, console) as bar:
        task = bar.add_task("resuming backfill" if result.resumed else "backfill", total=None, pages=0, status="")
        while True:
            page = _fetch_with_retries(zenpy_client, limiter, result, start_time=start_time, cursor=cursor,
                                       per_page=per_page, on_wait=lambda s: bar.update(task, status=s))
            received_at = now()
            events = []
            for ticket in page.tickets:
                event = ticket_event(ticket, received_at)
                if event is None:
                    result.skipped += 1
                else:
                    events.append(event)
            next_cursor = page.after_cursor or cursor
            with db.session() as session:
                appended = log.append(session, tenant_id, events, received_at) if events else None
                moved = session.execute(
                    update(BackfillCursor)
                    .where(BackfillCursor.tenant_id == tenant_id, BackfillCursor.pages == version)
                    .values(cursor=next_cursor, pages=version + 1, tickets=BackfillCursor.tickets + len(page.tickets),
                            done=page.end_of_stream, updated_at=received_at)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if moved != 1:
                    session.rollback()
                    raise BackfillConflict("another backfill of this tenant moved its cursor while this one ran; "
                                           "run one backfill per tenant at a time")
                session.commit()
            version += 1
            result.pages += 1
            result.tickets += len(page.tickets)
            if appended is not None:
                result.accepted += appended.accepted
                result.duplicates += appended.duplicates
            result.cursor, result.done = next_cursor, page.end_of_stream
            bar.update(task, advance=len(page.tickets), pages=result.pages, status="")
            stalled = page.after_cursor is None or (not page.tickets and page.after_cursor == cursor)
            if page.end_of_stream or stalled:
                break
            cursor = page.after_cursor
    return result


def _start(db: Database, tenant_id: int, since: datetime, restart: bool, at: datetime,
           result: BackfillResult) -> tuple[str | None, int, datetime]:
    """Decide where to start; returns (cursor or None, cursor row version, since) and records it."""
    with db.session() as session:
        row = session.get(BackfillCursor, tenant_id)
        if row is not None and not restart and row.cursor and as_utc(row.since) <= since:
            result.resumed = True
            return row.cursor, row.pages, as_utc(row.since)
        if row is None:
            session.add(BackfillCursor(tenant_id=tenant_id, since=since, cursor=None, pages=0, tickets=0,
                                       done=False, updated_at=at))
        else:
            row.since, row.cursor, row.pages, row.tickets, row.done, row.updated_at = since, None, 0, 0, False, at
        try:
            session.commit()
        except IntegrityError:
            raise BackfillConflict("another backfill of this tenant started at the same time") from None
    return None, 0, since


def _fetch_with_retries(zenpy_client: Any, limiter: RateLimiter, result: BackfillResult, *,
                        start_time: int, cursor: str | None, per_page: int,
                        on_wait: Callable[[str], None]) -> Page:
    for _ in range(MAX_RATE_LIMIT_RETRIES + 1):
        wait = limiter.pending()
        if wait > 0:
            on_wait(f"waiting {wait:.0f} s (rate limit)")
        limiter.acquire()
        on_wait("")
        try:
            return fetch_page(zenpy_client, start_time=None if cursor else start_time, cursor=cursor,
                              per_page=per_page)
        except ZendeskRateLimited as e:
            result.rate_limited += 1
            on_wait(f"rate limited: waiting {e.retry_after:g} s")
            limiter.defer(e.retry_after)
    raise ZendeskError(f"Zendesk kept answering 429 (rate limited) {MAX_RATE_LIMIT_RETRIES + 1} times in a row; "
                       "try again later")


def _progress_bar(enabled: bool, console: Any) -> Any:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                    TextColumn("{task.completed:,.0f} tickets fetched"), TextColumn("{task.fields[pages]} pages"),
                    TimeElapsedColumn(), TextColumn("{task.fields[status]}"),
                    console=console or Console(stderr=True), disable=not enabled)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return as_utc(t)


def _without_nul(value: Any) -> Any:
    """The JSON with NUL characters removed from strings (PostgreSQL's jsonb cannot store them)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value
