"""The weekly accounts digest the detector posts on its own, against the local fake Slack."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.accounts.digest import DigestSender, latest_slot
from server.accounts.models import AccountDigest
from server.notify.client import SlackClient
from server.tenants import Tenant
from server.zendesk.sample import write_account_history
from tests.conftest import TEST_SECRET_KEY
from tests.notify.conftest import configure

#: A Monday, 09:20 UTC.
NOW = datetime(2026, 11, 30, 9, 20, tzinfo=timezone.utc)


def schedule(db, tenant_id: int, weekday: int | None, hour: int = 9) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        t = s.get(Tenant, tenant_id)
        notify = dict(t.settings["notify"])
        notify["accounts_digest"] = None if weekday is None else {"weekday": weekday, "hour": hour}
        t.settings = {**t.settings, "notify": notify}
        s.commit()


def sender(db, slack, partition=(0, 1)) -> DigestSender:  # type: ignore[no-untyped-def]
    client = SlackClient(api_url=slack.api_url, webhook_hosts=frozenset({"127.0.0.1", "localhost"}), timeout=5)
    return DigestSender(db, secret_key=TEST_SECRET_KEY, client=client, base_url="https://gs.example.com",
                        partition=partition)


def record(db, tenant_id: int) -> AccountDigest | None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return s.get(AccountDigest, tenant_id)


def test_the_digest_is_posted_once_per_slot(db, make_tenant, slack, client):
    t, creds = make_tenant("Acme")
    quiet, _ = make_tenant("Quiet")  # Slack set up, no digest asked for
    write_account_history(db, t.id, NOW, surge_org="9007", names={"9007": "Kestrel Logistics"}, days=70)
    for tenant in (t, quiet):
        configure(db, tenant.id, mode="webhook", webhook_url=slack.webhook_url)
    schedule(db, t.id, weekday=0, hour=9)
    digests = sender(db, slack)

    assert digests.run_once(NOW - timedelta(minutes=30)) == []  # before 09:00 on the first Monday: nothing due
    [outcome] = digests.run_once(NOW)
    assert outcome.sent and outcome.tenant_id == t.id and outcome.slot == datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
    [message] = slack.webhook_calls
    assert message["text"].startswith("Accounts that changed, last 7 days: ")
    assert "Organization Kestrel Logistics `9007`" in message["blocks"][1]["text"]["text"]
    assert record(db, t.id).sent_at is not None and record(db, t.id).accounts == outcome.accounts >= 1
    shown = client.get("/api/v1/settings/notifications", headers={"Authorization": f"Bearer {creds.api_token}"})
    last = shown.get_json()["accounts_digest_last"]
    assert last["error"] is None and last["accounts"] == outcome.accounts and last["sent_at"].startswith("2026-11-30T09:20")
    assert last["slot"].startswith("2026-11-30T09:00")

    assert digests.run_once(NOW + timedelta(minutes=5)) == []  # the same slot: not again
    assert sender(db, slack).run_once(NOW + timedelta(hours=3)) == []  # nor after a restart
    [later] = digests.run_once(NOW + timedelta(days=7))  # next Monday's
    assert later.sent and len(slack.webhook_calls) == 2


def test_a_missed_slot_is_skipped_and_a_refusal_recorded(db, tenant, slack):
    t, _ = tenant
    write_account_history(db, t.id, NOW, days=30)
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    schedule(db, t.id, weekday=0, hour=9)
    digests = sender(db, slack)
    assert digests.run_once(NOW - timedelta(hours=1)) == []  # turned on before Monday's slot; last week's is past
    from server.notify.service import digest_record
    with db.session() as s:
        assert digest_record(s, t.id) is None  # that baseline is no digest handled
    [late] = digests.run_once(NOW + timedelta(days=2))  # the detector was away all Monday: no Wednesday digest
    assert not late.sent and late.error == "late" and slack.webhook_calls == []
    slack.fail("webhook", 404, "no_service")
    [refused] = digests.run_once(NOW + timedelta(days=7, minutes=1))
    assert not refused.sent and refused.error == "no_service"
    from server.notify.service import digest_record
    with db.session() as s:
        assert digest_record(s, t.id)["error"] == "no_service" and digest_record(s, t.id)["sent_at"] is None
    assert record(db, t.id).error == "no_service" and record(db, t.id).sent_at is None
    assert digests.run_once(NOW + timedelta(days=7, minutes=10)) == []  # not retried into a flood
    schedule(db, t.id, weekday=None)
    assert digests.run_once(NOW + timedelta(days=14)) == []  # turned off


def test_tenants_are_split_by_partition(db, make_tenant, slack):
    a, _ = make_tenant("A")
    b, _ = make_tenant("B")
    for tenant in (a, b):
        configure(db, tenant.id, mode="webhook", webhook_url=slack.webhook_url)
        schedule(db, tenant.id, weekday=0)
    mine = {o.tenant_id for o in sender(db, slack, partition=(a.id % 2, 2)).run_once(NOW)}
    assert a.id in mine and (b.id in mine) == (b.id % 2 == a.id % 2)


def test_latest_slot_wraps_the_week():
    sunday_night = datetime(2026, 12, 6, 23, 30, tzinfo=timezone.utc)
    assert latest_slot(sunday_night, 6, 23) == datetime(2026, 12, 6, 23, tzinfo=timezone.utc)
    assert latest_slot(sunday_night, 0, 0) == datetime(2026, 11, 30, 0, tzinfo=timezone.utc)
    assert latest_slot(datetime(2026, 11, 30, 8, 59, tzinfo=timezone.utc), 0, 9) == datetime(2026, 11, 23, 9,
                                                                                                 tzinfo=timezone.utc)
