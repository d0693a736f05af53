from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from server.eventlog import SqlEventLog
from server.understand.intake import parse
from server.zendesk import BackfillConflict, BackfillCursor, ZendeskAuthError, build_client, run_backfill
from server.zendesk.backfill import RateLimiter
from tests.conftest import log_rows
from server.zendesk.fake import iso, make_ticket, make_tickets

SINCE = datetime(2025, 12, 1, tzinfo=timezone.utc)


def backfill(db, tenant, zd, clock, since=SINCE, **kw):  # type: ignore[no-untyped-def]
    return run_backfill(db, SqlEventLog(), tenant, zd, since, progress=False, clock=clock, sleep=clock.sleep, **kw)


def cursor_row(db, tenant_id):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return s.get(BackfillCursor, tenant_id)


def logged_ids(db, tenant_id):  # type: ignore[no-untyped-def]
    return [int(r.payload["id"]) for r in log_rows(db, tenant_id)]


def test_backfill_logs_every_ticket_once_and_a_rerun_appends_nothing(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(7)
    fake_zendesk.default_per_page = 3

    result = backfill(db, t, zenpy_client, clock, per_page=3)

    assert (result.pages, result.tickets, result.accepted, result.duplicates) == (3, 7, 7, 0)
    assert result.done and not result.resumed
    rows = log_rows(db, t.id)
    assert [int(r.payload["id"]) for r in rows] == list(range(1, 8))
    first = rows[0]
    assert (first.source, first.kind) == ("zendesk", "zendesk.backfill.ticket")
    assert first.idempotency_key == "backfill:1:2026-01-01T00:01:00Z"
    assert first.event_time.replace(tzinfo=timezone.utc) == datetime(2026, 1, 1, 0, 1, tzinfo=timezone.utc)
    assert first.payload == fake_zendesk.tickets[0]  # the REST JSON as Zendesk sent it
    row = cursor_row(db, t.id)
    assert (row.pages, row.tickets, row.done) == (3, 7, True) and row.cursor == result.cursor
    first_request = fake_zendesk.export_requests[0].args
    assert first_request == {"start_time": str(int(SINCE.timestamp())), "per_page": "3", "include": "organizations"}

    again = backfill(db, t, zenpy_client, clock)

    assert again.resumed and again.accepted == 0 and len(log_rows(db, t.id)) == 7
    assert fake_zendesk.export_requests[-1].args == {"cursor": result.cursor, "include": "organizations"}


def test_backfilled_events_parse_into_ticket_updates(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = [make_ticket(5, status="solved", channel="email")]
    backfill(db, t, zenpy_client, clock)
    row = log_rows(db, t.id)[0]
    u = parse(row.kind, row.payload, field_map={"360001": "plan_tier"})
    assert (u.ticket_id, u.created, u.status, u.channel, u.type) == ("5", True, "solved", "email", "incident")
    assert u.custom_fields == {"plan_tier": "enterprise"} and u.solved_at == u.updated_at


def test_backfilled_tickets_carry_their_organizations_names(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(6)  # organizations 500, 501, 502 in turn
    fake_zendesk.organizations = {501: "Kestrel Logistics", 502: "<b>Hollis</b> Legal"}
    backfill(db, t, zenpy_client, clock, per_page=4)
    rows = {int(r.payload["id"]): r.payload for r in log_rows(db, t.id)}
    assert {i: p.get("organization_name") for i, p in rows.items()} == {
        1: "Kestrel Logistics", 2: "<b>Hollis</b> Legal", 3: None, 4: "Kestrel Logistics", 5: "<b>Hollis</b> Legal",
        6: None}  # both pages sideloaded; an organization Zendesk did not name stays an id
    u = parse("zendesk.backfill.ticket", rows[4])
    assert (u.organization_id, u.organization_name) == ("501", "Kestrel Logistics")


def test_restart_fetches_again_from_since_and_appends_only_duplicates(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(4)
    backfill(db, t, zenpy_client, clock)
    result = backfill(db, t, zenpy_client, clock, restart=True)
    assert not result.resumed and (result.tickets, result.accepted, result.duplicates) == (4, 0, 4)
    assert "start_time" in fake_zendesk.export_requests[-1].args
    assert cursor_row(db, t.id).pages == 1


def test_a_rerun_after_finishing_picks_up_changed_tickets(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(3)
    backfill(db, t, zenpy_client, clock)
    changed = make_ticket(2, updated=datetime(2026, 2, 1, tzinfo=timezone.utc), status="solved")
    fake_zendesk.tickets[1] = changed
    fake_zendesk.tickets.append(make_ticket(4, created=datetime(2026, 2, 2, tzinfo=timezone.utc)))

    result = backfill(db, t, zenpy_client, clock)

    assert result.resumed and (result.tickets, result.accepted) == (2, 2)
    keys = [r.idempotency_key for r in log_rows(db, t.id)]
    assert keys[-2:] == ["backfill:2:2026-02-01T00:00:00Z", "backfill:4:2026-02-02T00:00:00Z"]


def test_resume_after_a_server_error_mid_stream(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(10)
    fake_zendesk.default_per_page = 3
    fake_zendesk.fail(3, status=500)  # pages 1 and 2 succeed, the third request fails

    with pytest.raises(Exception, match="HTTP 500"):
        backfill(db, t, zenpy_client, clock, per_page=3)

    assert logged_ids(db, t.id) == [1, 2, 3, 4, 5, 6]
    row = cursor_row(db, t.id)
    assert (row.pages, row.tickets, row.done) == (2, 6, False)
    stored = row.cursor
    first_run = len(fake_zendesk.export_requests)

    result = backfill(db, t, zenpy_client, clock, per_page=3)

    second_run = fake_zendesk.export_requests[first_run:]
    assert second_run[0].args == {"cursor": stored, "include": "organizations"}  # no start_time: it resumed from the stored cursor
    assert all("start_time" not in r.args for r in second_run)
    assert result.resumed and (result.pages, result.accepted, result.duplicates) == (2, 4, 0)
    ids = logged_ids(db, t.id)
    assert sorted(ids) == list(range(1, 11)) and Counter(ids).most_common(1)[0][1] == 1
    assert fake_zendesk.served() == list(range(1, 11))  # no page was fetched twice either


def test_resume_after_an_interruption_between_pages(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(9)
    fake_zendesk.default_per_page = 2

    def sleep_then_stop(seconds: float) -> None:  # Ctrl-C while waiting for the rate limit
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_backfill(db, SqlEventLog(), t, zenpy_client, SINCE, per_page=2, progress=False, clock=clock,
                     sleep=sleep_then_stop)

    assert logged_ids(db, t.id) == [1, 2, 3, 4, 5, 6]  # three pages committed, the fourth never asked for
    stored = cursor_row(db, t.id).cursor
    first_run = len(fake_zendesk.export_requests)
    assert first_run == 3

    result = backfill(db, t, zenpy_client, clock)

    assert fake_zendesk.export_requests[first_run].args == {"cursor": stored, "include": "organizations"}
    assert result.resumed and result.accepted == 3 and result.done
    assert logged_ids(db, t.id) == list(range(1, 10))


def test_a_stored_backfill_that_began_later_than_since_starts_over(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(2)
    backfill(db, t, zenpy_client, clock, since=datetime(2026, 1, 1, tzinfo=timezone.utc))
    result = backfill(db, t, zenpy_client, clock, since=datetime(2025, 6, 1, tzinfo=timezone.utc))
    assert not result.resumed and "start_time" in fake_zendesk.export_requests[-1].args
    assert cursor_row(db, t.id).since.replace(tzinfo=timezone.utc) == datetime(2025, 6, 1, tzinfo=timezone.utc)


def test_rate_limit_25_pages_take_at_least_two_minutes(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(25)
    fake_zendesk.default_per_page = 1
    times: list[float] = []
    fake_zendesk_handle = fake_zendesk._handle

    def timed(request):  # type: ignore[no-untyped-def]
        times.append(clock.t)
        return fake_zendesk_handle(request)

    fake_zendesk._handle = timed  # type: ignore[method-assign]

    result = backfill(db, t, zenpy_client, clock, per_page=1)

    assert result.pages == 25 and result.accepted == 25
    assert sum(clock.sleeps) >= 120
    assert all(b - a >= 6 - 1e-9 for a, b in zip(times, times[1:]))  # 10 requests per minute at most
    assert all(len([x for x in times if w <= x < w + 60]) <= 10 for w in times)


def test_a_429_waits_its_retry_after_then_retries_the_same_page(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(4)
    fake_zendesk.default_per_page = 2
    fake_zendesk.fail(2, status=429, retry_after=37)

    result = backfill(db, t, zenpy_client, clock, per_page=2)

    assert result.rate_limited == 1 and result.accepted == 4 and result.done
    assert 37 in clock.sleeps
    requests = fake_zendesk.export_requests
    assert [r.status for r in requests] == [200, 429, 200]
    assert requests[1].args == requests[2].args  # the same cursor again
    assert logged_ids(db, t.id) == [1, 2, 3, 4]


def test_a_401_is_a_clear_error_and_logs_nothing(db, tenant, fake_zendesk, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(2)
    zd = build_client("acme", email=fake_zendesk.email, token="wrong")
    with pytest.raises(ZendeskAuthError, match="check the API token"):
        backfill(db, t, zd, clock)
    assert log_rows(db, t.id) == [] and cursor_row(db, t.id).pages == 0


def test_oauth_token_is_sent_as_bearer(db, tenant, fake_zendesk, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(1)
    fake_zendesk.oauth_token = "oauth-abc"
    zd = build_client("acme", oauth_token="oauth-abc")
    assert backfill(db, t, zd, clock).accepted == 1


def test_another_backfill_moving_the_cursor_is_a_conflict(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(4)
    fake_zendesk.default_per_page = 1

    def other_run_moves_cursor(seconds: float) -> None:
        clock.sleep(seconds)
        with db.session() as s:
            s.execute(update(BackfillCursor).where(BackfillCursor.tenant_id == t.id).values(pages=99))
            s.commit()

    with pytest.raises(BackfillConflict):
        run_backfill(db, SqlEventLog(), t, zenpy_client, SINCE, per_page=1, progress=False, clock=clock,
                     sleep=other_run_moves_cursor)
    assert logged_ids(db, t.id) == [1]  # the conflicting page was rolled back with its events


def test_start_time_is_kept_a_minute_in_the_past(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    fake_zendesk.tickets = [make_ticket(1, created=datetime.now(timezone.utc) - timedelta(hours=1))]
    result = backfill(db, t, zenpy_client, clock, since=datetime.now(timezone.utc))
    assert result.done and fake_zendesk.export_requests[0].status == 200


def test_ticket_times_are_bounded_and_bad_tickets_skipped(db, tenant, fake_zendesk, zenpy_client, clock):
    t, _ = tenant
    future = make_ticket(1)
    future["created_at"] = iso(datetime.now(timezone.utc) + timedelta(days=30))
    no_id = make_ticket(2)
    no_id["id"] = None
    nul = make_ticket(3, subject="Blank\x00PDF")
    fake_zendesk.tickets = [future, no_id, nul]
    result = backfill(db, t, zenpy_client, clock)
    assert (result.tickets, result.accepted, result.skipped) == (3, 2, 1)
    rows = log_rows(db, t.id)
    assert rows[0].event_time.replace(tzinfo=timezone.utc) <= datetime.now(timezone.utc)
    assert rows[1].payload["subject"] == "BlankPDF"


def test_progress_bar_shows_tickets_fetched(db, tenant, fake_zendesk, zenpy_client, clock):
    from rich.console import Console

    t, _ = tenant
    fake_zendesk.tickets = make_tickets(3)
    out = io.StringIO()
    run_backfill(db, SqlEventLog(), t, zenpy_client, SINCE, clock=clock, sleep=clock.sleep,
                 console=Console(file=out, width=120, force_terminal=False))
    assert "3 tickets fetched" in out.getvalue() and "1 pages" in out.getvalue()


def test_rate_limiter_spacing_and_retry_after(clock):
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    for _ in range(25):
        limiter.acquire()
    assert clock.t == pytest.approx(144.0)  # 24 gaps of 6 s
    limiter.defer(100)
    assert limiter.acquire() == pytest.approx(100.0)
    with pytest.raises(ValueError):
        RateLimiter(0)
