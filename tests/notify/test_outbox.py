"""The outbox and the notifier, against a local fake Slack (incoming webhook and Web API)."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from server.incidents.models import Notification, SlackThread
from server.notify.outbox import NOT_CONFIGURED, enqueue, start_worker
from server.incidents.summaries import refresh_incident_summaries
from tests.incidents.factories import add_incident
from tests.incidents.test_summaries import EVIDENCE, claude, summarizer
from tests.notify.conftest import T0, configure, incident_payload, run_until
from tests.notify.fake_slack import CHANNEL_ID, TOKEN, WEBHOOK_PATH


def add(db, tenant_id, incident_id, event, generation, **changes):  # type: ignore[no-untyped-def]
    with db.session() as s:
        added = enqueue(s, tenant_id, incident_id, event, incident_payload(incident_id, **changes), T0, generation)
        s.commit()
        return added


def rows(db, tenant_id):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return list(s.scalars(select(Notification).where(Notification.tenant_id == tenant_id)
                              .order_by(Notification.incident_id, Notification.seq)))


def test_enqueue_is_idempotent_on_replay(db, tenant):
    t, _ = tenant
    assert add(db, t.id, 12, "opened", 0)
    assert not add(db, t.id, 12, "opened", 0)  # the replay of the same change
    assert add(db, t.id, 12, "grew", 1, ticket_count=40)
    assert not add(db, t.id, 12, "grew", 1, ticket_count=40)
    got = rows(db, t.id)
    assert [(r.seq, r.event) for r in got] == [(0, "opened"), (1, "grew")]
    assert got[0].payload["first_seen_at"] == "2026-03-02T23:04:00+00:00" and got[1].payload["ticket_count"] == 40
    assert got[0].sent_at is None and got[0].attempts == 0


def test_enqueue_without_a_generation_counts_rows_and_skips_an_identical_repeat(db, tenant):
    t, _ = tenant
    with db.session() as s:
        assert enqueue(s, t.id, 5, "opened", incident_payload(5), T0)
        assert not enqueue(s, t.id, 5, "opened", incident_payload(5), T0)
        assert enqueue(s, t.id, 5, "resolved", incident_payload(5, status="resolved"), T0)
        s.commit()
    assert [(r.seq, r.event) for r in rows(db, t.id)] == [(0, "opened"), (1, "resolved")]


def test_webhook_mode_sends_one_message_per_event_in_order(db, tenant, slack, make_notifier):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 12, "grew", 1, ticket_count=40, requester_count=33)
    add(db, t.id, 12, "resolved", 2, status="resolved")
    assert make_notifier().run_once() == 3
    assert [m["text"].split(":")[0] for m in slack.webhook_calls] == [
        "Incident #12 opened", "Incident #12 grew", "Incident #12 resolved"]
    assert all(r.sent_at is not None and r.last_error is None and r.attempts == 1 for r in rows(db, t.id))
    assert make_notifier().run_once() == 0 and len(slack.webhook_calls) == 3


def test_web_api_mode_keeps_one_thread_per_incident(db, tenant, slack, make_notifier):
    t, _ = tenant
    configure(db, t.id, mode="web_api", bot_token=TOKEN, channel="#incidents")
    notifier = make_notifier()
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 13, "opened", 0, title="Spike: 'login'")
    assert notifier.run_once() == 2
    parents = slack.parents()
    assert len(parents) == 2
    with db.session() as s:
        thread = s.get(SlackThread, (t.id, 12))
        assert thread.channel == CHANNEL_ID and thread.ts in parents
    add(db, t.id, 12, "grew", 1, ticket_count=40, requester_count=33)
    add(db, t.id, 12, "resolved", 2, status="resolved")
    assert notifier.run_once() == 2
    assert len(slack.parents()) == 2  # no new top-level message
    replies = slack.replies(thread.ts)
    assert [r["text"].split(":")[0] for r in replies] == ["Incident #12 grew", "Incident #12 resolved"]
    parent = slack.messages[CHANNEL_ID][thread.ts]
    assert parent["blocks"][0]["text"]["text"].startswith(":white_check_mark: [Resolved] #12")
    methods = [m for m, _ in slack.api_calls]
    assert methods == ["chat.postMessage", "chat.postMessage", "chat.update", "chat.postMessage",
                       "chat.update", "chat.postMessage"]
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for h in slack.headers_seen)


def test_a_later_event_without_a_thread_starts_one(db, tenant, slack, make_notifier):
    t, _ = tenant
    configure(db, t.id, mode="web_api", bot_token=TOKEN, channel="#incidents")
    add(db, t.id, 4, "grew", 1)  # Slack was configured after the incident opened
    assert make_notifier().run_once() == 1
    (ts,) = slack.parents()
    assert [r["text"].split(":")[0] for r in slack.replies(ts)] == ["Incident #4 grew"]


def test_429_is_retried_after_retry_after_and_pauses_the_tenant(db, tenant, slack, make_notifier, clock):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    slack.fail("webhook", 429, "rate_limited", {"Retry-After": "42"})
    add(db, t.id, 1, "opened", 0)
    add(db, t.id, 2, "opened", 0)
    notifier = make_notifier()
    assert notifier.run_once() == 0
    first = rows(db, t.id)[0]
    assert first.attempts == 1 and first.last_error == "rate_limited (HTTP 429)"
    assert (first.next_attempt_at.replace(tzinfo=None) - T0.replace(tzinfo=None)).total_seconds() == 42
    assert rows(db, t.id)[1].attempts == 0  # the tenant is paused: incident 2 waits too
    clock.advance(41)
    assert notifier.run_once() == 0 and slack.webhook_calls == []
    clock.advance(1)
    assert notifier.run_once() == 2 and len(slack.webhook_calls) == 2
    assert all(r.last_error is None for r in rows(db, t.id))


def test_web_api_ratelimited_and_server_errors_are_retried_with_backoff(db, tenant, slack, make_notifier, clock):
    t, _ = tenant
    configure(db, t.id, mode="web_api", bot_token=TOKEN, channel="#incidents")
    slack.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"})
    slack.fail("chat.postMessage", 500, "<html>Internal error</html>")
    add(db, t.id, 1, "opened", 0)
    add(db, t.id, 1, "resolved", 1, status="resolved")
    notifier = make_notifier()
    assert notifier.run_once() == 0
    clock.advance(3)
    assert notifier.run_once() == 0
    row = rows(db, t.id)[0]
    assert row.attempts == 2 and row.last_error == "http_500 (HTTP 500)"
    assert rows(db, t.id)[1].attempts == 0  # waits behind its incident's first row
    clock.advance(19)  # second retry waits 10 * 2 = 20 s
    assert notifier.run_once() == 0
    clock.advance(1)
    assert notifier.run_once() == 2
    assert len(slack.parents()) == 1


def test_gives_up_after_max_attempts_and_moves_on(db, tenant, slack, make_notifier, clock):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    slack.fail("webhook", 503, "service_unavailable", times=4)
    add(db, t.id, 1, "opened", 0)
    add(db, t.id, 1, "grew", 1)
    notifier = make_notifier(max_attempts=4)
    for _ in range(6):
        notifier.run_once()
        clock.advance(3600)
    first, second = rows(db, t.id)
    assert first.sent_at is not None and first.attempts == 4
    assert first.last_error == "gave up after 4 attempts: service_unavailable (HTTP 503)"
    assert second.sent_at is not None and second.last_error is None
    assert [m["text"].split(":")[0] for m in slack.webhook_calls] == ["Incident #1 grew"]


def test_a_failing_receiver_warns_when_it_starts_failing_and_when_given_up(db, tenant, slack, make_notifier, clock,
                                                                           caplog):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    slack.fail("webhook", 503, "service_unavailable", times=4)
    add(db, t.id, 1, "opened", 0)
    caplog.set_level(logging.DEBUG, logger="server.notify.delivery")
    notifier = make_notifier(max_attempts=4)
    for _ in range(4):
        notifier.run_once()
        clock.advance(3600)
    failed = [(r.levelname, r.getMessage()) for r in caplog.records
              if r.name == "server.notify.delivery" and "failed" in r.getMessage()]
    assert [level for level, _ in failed] == ["WARNING", "INFO", "INFO", "WARNING"]
    assert failed[-1][1].endswith("(given up after 4 attempts)")


def test_invalid_payload_is_not_retried(db, tenant, slack, make_notifier):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    slack.fail("webhook", 400, "invalid_payload")
    add(db, t.id, 1, "opened", 0)
    make_notifier().run_once()
    (row,) = rows(db, t.id)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == "not retried: invalid_payload (HTTP 400)"


def test_archived_channel_and_removed_webhook_are_retried(db, tenant, slack, make_notifier):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    slack.fail("webhook", 410, "channel_is_archived")
    add(db, t.id, 1, "opened", 0)
    make_notifier().run_once()
    (row,) = rows(db, t.id)
    assert row.sent_at is None and row.last_error == "channel_is_archived (HTTP 410)"


def test_unconfigured_tenants_rows_are_closed_not_kept(db, make_tenant, slack, make_notifier):
    quiet, _ = make_tenant("Quiet")
    loud, _ = make_tenant("Loud")
    configure(db, loud.id, mode="webhook", webhook_url=slack.webhook_url)
    add(db, quiet.id, 1, "opened", 0)
    add(db, loud.id, 1, "opened", 0)
    assert make_notifier().run_once() == 2
    (q,) = rows(db, quiet.id)
    assert q.sent_at is not None and q.last_error == NOT_CONFIGURED and q.attempts == 0
    assert len(slack.webhook_calls) == 1
    configure(db, quiet.id, mode="webhook", webhook_url=slack.webhook_url)
    assert make_notifier().run_once() == 0 and len(slack.webhook_calls) == 1  # old alerts are not replayed
    # the channel set up since never saw the opening: how it is handled and how it ended are not news there,
    # but a new rise is
    add(db, quiet.id, 1, "acknowledged", 1, status="acknowledged", status_by="Dana")
    add(db, quiet.id, 1, "grew", 2, ticket_count=40)
    add(db, quiet.id, 1, "resolved", 3, status="resolved")
    make_notifier().run_once()
    assert [(r.event, r.last_error) for r in rows(db, quiet.id)] == [
        ("opened", NOT_CONFIGURED), ("acknowledged", NOT_CONFIGURED), ("grew", None), ("resolved", None)]
    assert len(slack.webhook_calls) == 3


def test_partitions_split_tenants_and_a_claimed_row_is_not_sent_twice(db, make_tenant, slack, make_notifier):
    a, _ = make_tenant("A")
    b, _ = make_tenant("B")
    for t in (a, b):
        configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
        add(db, t.id, 1, "opened", 0)
    even, odd = make_notifier(partition=(0, 2)), make_notifier(partition=(1, 2))
    assert even.run_once() == 1 and odd.run_once() == 1 and len(slack.webhook_calls) == 2
    add(db, a.id, 2, "opened", 0)
    other = make_notifier()
    with db.session() as s:  # another process claimed the row first
        row = s.get(Notification, (a.id, 2, 0))
        assert other._claim(s, row, other.clock())
    assert make_notifier().run_once() == 0 and len(slack.webhook_calls) == 2


def test_no_secret_in_logs_or_stored_errors(db, tenant, slack, make_notifier, caplog):
    t, _ = tenant
    caplog.set_level(logging.DEBUG)
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    slack.fail("webhook", 500, "<html>oops</html>")
    add(db, t.id, 1, "opened", 0)
    notifier = make_notifier()
    notifier.run_once()
    configure(db, t.id, mode="webhook", webhook_url="http://127.0.0.1:1/services/T0000/B0000/XXXXsecretXXXX")
    add(db, t.id, 2, "opened", 0)
    notifier.run_once()  # connection refused
    configure(db, t.id, mode="web_api", bot_token=TOKEN, channel="#nope")
    add(db, t.id, 3, "opened", 0)
    notifier.run_once()
    errors = [r.last_error for r in rows(db, t.id)]
    assert errors == ["http_500 (HTTP 500)", "connection_error_ConnectionError", "channel_not_found"]
    ours = [r for r in caplog.records if r.name != "werkzeug"]  # werkzeug logs the fake Slack's side
    logged = "\n".join(r.getMessage() for r in ours) + repr([r.__dict__ for r in ours])
    assert "slack notification failed" in logged
    for secret in ("XXXXsecretXXXX", TOKEN, WEBHOOK_PATH):
        assert secret not in logged and all(secret not in e for e in errors)
    with db.session() as s:  # at rest the secrets are encrypted
        from server.tenants import Tenant

        stored = repr(s.get(Tenant, t.id).settings)
        assert TOKEN not in stored and "XXXXsecretXXXX" not in stored


def test_worker_thread_sends_and_stops(db, tenant, slack, make_notifier):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    add(db, t.id, 1, "opened", 0)
    thread = run_until(lambda stop: start_worker(make_notifier(), interval=0.01, stop=stop),
                       lambda: bool(slack.webhook_calls))
    assert len(slack.webhook_calls) == 1 and not thread.is_alive()


def test_rows_without_a_next_attempt_time_are_due(db, tenant, slack, make_notifier):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    with db.session() as s:  # as a writer that does not set next_attempt_at leaves them
        s.add(Notification(tenant_id=t.id, incident_id=9, seq=0, event="opened", payload=incident_payload(9),
                           created_at=T0, attempts=0))
        s.commit()
    assert make_notifier().run_once() == 1 and len(slack.webhook_calls) == 1


def test_a_new_summary_redraws_the_slack_thread_parent_at_once(httpserver, db, tenant, slack, make_notifier):
    t, _ = tenant
    claude(httpserver, ["Invoice PDFs are blank."])
    configure(db, t.id, mode="web_api", bot_token=TOKEN, channel="#incidents")
    add_incident(db, t.id, 12, ticket_count=3, evidence=EVIDENCE)
    notifier = make_notifier()
    assert not notifier.redraw(t.id, 12)  # no thread yet
    add(db, t.id, 12, "opened", 0)
    assert notifier.run_once() == 1
    (ts,) = slack.parents()
    assert "Summary by Claude" not in json.dumps(slack.messages[CHANNEL_ID][ts])
    assert refresh_incident_summaries(db, summarizer(httpserver), on_summary=notifier.redraw) == 1
    assert [m for m, _ in slack.api_calls] == ["chat.postMessage", "chat.update"]
    assert "_Summary by Claude:_ Invoice PDFs are blank." in json.dumps(slack.messages[CHANNEL_ID][ts])
    assert list(slack.parents()) == [ts]  # redrawn, nothing new posted
