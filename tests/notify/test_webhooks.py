"""Outgoing incident webhooks: the outbox rows, the signed groundswell format, PagerDuty's Events API,
retries, address rules and the settings API, against local fakes of both receivers."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
from sqlalchemy import delete, select

from server.incidents.writers import write_notification
from server.metrics import utcnow
from server.notify import service
from server.notify.models import WebhookDelivery, WebhookEndpoint
from server.notify.outbox import enqueue
from server.notify.webhooks import (PeerRefused, UrlRefused, WebhookSender, _checked_connection, check_url,
                                    start_worker)
from server.tenants import Tenant
from tests.conftest import TEST_SECRET_KEY
from tests.notify import fake_receivers
from tests.notify.conftest import T0, incident_payload, run_until


@pytest.fixture
def fakes(httpserver):  # type: ignore[no-untyped-def]
    return fake_receivers.install(httpserver)


@pytest.fixture
def receiver(fakes):  # type: ignore[no-untyped-def]
    return fakes[0]


@pytest.fixture
def pagerduty(fakes):  # type: ignore[no-untyped-def]
    return fakes[1]


def register(db: Any, tenant_id: int, **body: Any) -> dict[str, Any]:
    """Create an endpoint the way the API does (loopback allowed: the fakes listen on 127.0.0.1)."""
    body = {"format": "groundswell", "events": ["opened", "grew", "resolved", "reopened"], "kinds": None, **body}
    with db.session() as s:
        return service.create_webhook(s, tenant_id, body, secret_key=TEST_SECRET_KEY, now=T0, allow_private=True,
                                      require_https=False)


@pytest.fixture
def make_sender(db, clock, pagerduty):  # type: ignore[no-untyped-def]
    def make(**kw: Any) -> WebhookSender:
        params = {"secret_key": TEST_SECRET_KEY, "base_url": "https://gs.example.com", "allow_private": True,
                  "require_https": False, "pagerduty_url": pagerduty.url, "max_attempts": 4, "retry_seconds": 10.0,
                  "timeout": 5.0, "clock": clock, **kw}
        return WebhookSender(db, **params)
    return make


def resolver(*addresses: str) -> Any:
    """A stand-in for ``socket.getaddrinfo`` that answers ``addresses`` for any host."""
    def resolve(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]
    return resolve


def add(db: Any, tenant_id: int, incident_id: int, event: str, generation: int, **changes: Any) -> None:
    with db.session() as s:
        enqueue(s, tenant_id, incident_id, event, incident_payload(incident_id, **changes), T0, generation=generation)
        s.commit()


def deliveries(db: Any) -> list[WebhookDelivery]:
    with db.session() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.endpoint_id, WebhookDelivery.incident_id,
                                                               WebhookDelivery.seq)))


def test_deliveries_are_added_with_the_notification_for_matching_endpoints_only(db, tenant):
    t, _ = tenant
    every = register(db, t.id, url="http://127.0.0.1:9/a")
    resolved_only = register(db, t.id, url="http://127.0.0.1:9/b", events=["resolved"])
    drops_only = register(db, t.id, url="http://127.0.0.1:9/c", kinds=["drop"])
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 12, "resolved", 1)
    add(db, t.id, 12, "resolved", 1)  # the detector's replay after a crash: nothing twice
    rows = [(d.endpoint_id, d.seq, d.event) for d in deliveries(db)]
    assert rows == [(every["id"], 0, "opened"), (every["id"], 1, "resolved"), (resolved_only["id"], 1, "resolved")]
    assert drops_only["id"] not in {r[0] for r in rows}


def test_the_incident_writer_queues_deliveries_in_its_transaction(db, tenant):
    t, _ = tenant
    hook = register(db, t.id, url="http://127.0.0.1:9/a")
    with db.session() as s:
        write_notification(s, (t.id, 5, 0), {"event": "opened", "payload": incident_payload(5)}, T0)
        s.rollback()  # the incident change was not committed: neither is its delivery
    assert deliveries(db) == []
    with db.session() as s:
        write_notification(s, (t.id, 5, 0), {"event": "opened", "payload": incident_payload(5)}, T0)
        s.commit()
    assert [(d.endpoint_id, d.incident_id) for d in deliveries(db)] == [(hook["id"], 5)]


def test_signed_events_arrive_in_order_with_the_incident_and_its_link(db, tenant, receiver, make_sender):
    t, _ = tenant
    hook = register(db, t.id, url=receiver.url)
    receiver.secret = hook["signing_secret"]
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 12, "grew", 1, requester_count=40)
    add(db, t.id, 12, "resolved", 2, status="resolved")
    assert make_sender().run_once() == 3
    assert [e["type"] for e in receiver.events] == ["incident.opened", "incident.grew", "incident.resolved"]
    assert all(r["signed"] for r in receiver.requests)
    first = receiver.requests[0]
    assert first["headers"]["X-Groundswell-Event"] == "incident.opened"
    assert first["headers"]["X-Groundswell-Event-Id"] == first["body"]["id"] == f"evt_{t.id}_12_0"
    body = first["body"]
    assert body["tenant"]["slug"] == t.slug
    assert body["incident"]["sentence"].startswith("17 tickets from 15 customers")
    assert body["incident"]["evidence"]["expected"] == 1.2
    assert body["incident"]["url"] == "https://gs.example.com/incidents#id=12"
    assert receiver.events[1]["incident"]["requester_count"] == 40
    assert all(d.sent_at is not None and d.last_error is None and d.last_status == 204 for d in deliveries(db))


def test_a_tampered_body_or_another_secret_fails_the_signature(db, tenant, receiver, make_sender):
    t, _ = tenant
    hook = register(db, t.id, url=receiver.url)
    receiver.secret = "gs_whsec_not-the-one"
    add(db, t.id, 12, "opened", 0)
    make_sender().run_once()
    assert receiver.requests and not receiver.requests[0]["signed"]
    receiver.secret = hook["signing_secret"]
    raw = receiver.requests[0]["raw"]
    header = receiver.requests[0]["headers"]["X-Groundswell-Signature"]
    assert receiver.signature_ok(header, raw)
    assert not receiver.signature_ok(header, raw.replace(b"invoice", b"lnvoice"))


def test_failures_are_retried_with_backoff_and_later_events_wait(db, tenant, receiver, make_sender, clock):
    t, _ = tenant
    register(db, t.id, url=receiver.url)
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 12, "resolved", 1)
    receiver.fail(503)
    sender = make_sender()
    assert sender.run_once() == 0
    assert len(receiver.requests) == 1  # "resolved" waits behind the failed "opened"
    first = deliveries(db)[0]
    assert (first.attempts, first.last_status, first.last_error) == (1, 503, "http_503")
    clock.advance(9)
    assert sender.run_once() == 0 and len(receiver.requests) == 1
    clock.advance(1)
    assert sender.run_once() == 2
    assert [e["type"] for e in receiver.events] == ["incident.opened", "incident.opened", "incident.resolved"]


def test_429_pauses_the_endpoint_for_retry_after(db, tenant, receiver, make_sender, clock):
    t, _ = tenant
    register(db, t.id, url=receiver.url)
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 13, "opened", 0)
    receiver.fail(429, {"Retry-After": "120"})
    sender = make_sender()
    assert sender.run_once() == 0
    assert len(receiver.requests) == 1  # incident 13 waits too: the endpoint is paused
    clock.advance(119)
    assert sender.run_once() == 0 and len(receiver.requests) == 1
    clock.advance(1)
    assert sender.run_once() == 2


def test_gives_up_after_max_attempts_and_redirects_are_not_followed(db, tenant, receiver, make_sender, clock):
    t, _ = tenant
    register(db, t.id, url=receiver.url)
    add(db, t.id, 12, "opened", 0)
    receiver.fail(302, {"Location": "http://169.254.169.254/latest/meta-data"}, times=4)
    sender = make_sender()
    for _ in range(4):
        sender.run_once()
        clock.advance(3600)
    row = deliveries(db)[0]
    assert row.sent_at is not None and row.last_error == "gave up after 4 attempts: redirect_not_followed"
    assert len(receiver.requests) == 4


def test_a_url_that_now_resolves_to_a_private_address_is_not_called(db, tenant, receiver, make_sender):
    t, _ = tenant
    register(db, t.id, url="https://hooks.customer.example/groundswell")
    add(db, t.id, 12, "opened", 0)

    sender = make_sender(allow_private=False, require_https=True, resolve=resolver("10.1.2.3"))
    assert sender.run_once() == 0
    row = deliveries(db)[0]
    assert row.sent_at is not None and row.last_error == "not retried: address_not_allowed"
    assert receiver.requests == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.8", "172.16.4.4", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1",
                                     "224.0.0.1",
                                     # IPv6 forms leading to private IPv4: NAT64, local-use NAT64, 6to4,
                                     # IPv4-compatible, IPv4-mapped
                                     "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "64:ff9b:1::5db8:d822",
                                     "64:ff9b:1:ffff::a00:1", "2002:a9fe:a9fe::1", "2002:7f00:1::",
                                     "::a9fe:a9fe", "::a00:1", "::ffff:169.254.169.254"])
def test_private_and_reserved_addresses_are_refused(address):
    with pytest.raises(UrlRefused) as e:
        check_url("https://hooks.customer.example/x", resolve=resolver(address))
    assert e.value.code == "address_not_allowed"


@pytest.mark.parametrize("address", ["2606:4700::1111", "64:ff9b::5db8:d822", "2002:5db8:d822::1",
                                     "::ffff:93.184.216.34"])
def test_ipv6_addresses_leading_to_public_ipv4_pass(address):
    check_url("https://hooks.customer.example/x", resolve=resolver(address))


@pytest.mark.parametrize("peer, refused", [("64:ff9b::a9fe:a9fe", True), ("2002:a00:1::1", True),
                                           ("::7f00:1", True), ("64:ff9b::5db8:d822", False)])
def test_the_connection_check_maps_the_ipv4_address_an_ipv6_peer_leads_to(peer, refused):
    """The peer check after DNS (PublicOnlyAdapter) judges the same addresses as check_url."""

    class FakeSocket:
        closed = False

        def getpeername(self):  # type: ignore[no-untyped-def]
            return (peer, 443, 0, 0)

        def close(self):  # type: ignore[no-untyped-def]
            self.closed = True

    class Base:
        def _new_conn(self):  # type: ignore[no-untyped-def]
            return FakeSocket()

    connection = _checked_connection(Base)()
    if refused:
        with pytest.raises(PeerRefused):
            connection._new_conn()
    else:
        assert connection._new_conn().closed is False


def test_public_addresses_pass_and_every_resolved_address_is_checked():
    public, mixed = resolver("93.184.216.34"), resolver("93.184.216.34", "10.0.0.1")
    check_url("https://hooks.customer.example/x", resolve=public)
    with pytest.raises(UrlRefused):
        check_url("https://hooks.customer.example/x", resolve=mixed)
    for url, code in (("http://hooks.customer.example/x", "https_required"), ("ftp://x.example/", "bad_url"),
                      ("https://user:pw@hooks.customer.example/", "bad_url")):
        with pytest.raises(UrlRefused) as e:
            check_url(url, resolve=public)
        assert e.value.code == code


def test_pagerduty_gets_one_alert_per_incident_triggered_then_resolved(db, tenant, pagerduty, make_sender):
    t, _ = tenant
    view = register(db, t.id, format="pagerduty", routing_key=fake_receivers.ROUTING_KEY, url=None)
    assert "signing_secret" not in view and view["secret_hint"] == fake_receivers.ROUTING_KEY[-4:]
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 12, "grew", 1, requester_count=40)
    add(db, t.id, 12, "resolved", 2)
    add(db, t.id, 13, "opened", 0, kind="sentiment", title="Sentiment falling: 'refunds'")
    assert make_sender().run_once() == 4
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "trigger", "resolve", "trigger"]
    assert pagerduty.alerts == {f"groundswell-{t.id}-12": "resolved", f"groundswell-{t.id}-13": "triggered"}
    trigger = pagerduty.events[0]
    assert trigger["payload"]["summary"].startswith("Spike: 'invoice pdf · blank': 17 tickets from 15 customers")
    assert trigger["payload"]["severity"] == "error" and pagerduty.events[3]["payload"]["severity"] == "warning"
    assert trigger["payload"]["custom_details"]["expected"] == 1.2
    assert trigger["links"] == [{"href": "https://gs.example.com/incidents#id=12", "text": "Open in Groundswell"}]


def test_a_persons_acknowledgement_acknowledges_the_pagerduty_alert(db, tenant, pagerduty, make_sender):
    t, _ = tenant
    register(db, t.id, format="pagerduty", routing_key=fake_receivers.ROUTING_KEY, url=None,
             events=["opened", "grew", "acknowledged", "resolved", "reopened"])
    register(db, t.id, format="pagerduty", routing_key=fake_receivers.ROUTING_KEY, url=None,
             events=["opened", "resolved"], description="left as it was")
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 12, "acknowledged", 1, status="acknowledged", status_by="ana (Slack)")
    assert make_sender().run_once() == 3
    key = f"groundswell-{t.id}-12"
    assert sorted((e["event_action"], e["dedup_key"]) for e in pagerduty.events) == [
        ("acknowledge", key), ("trigger", key), ("trigger", key)]  # the second endpoint did not ask for it
    assert pagerduty.alerts == {key: "acknowledged"}
    add(db, t.id, 12, "resolved", 2, status="resolved")
    assert make_sender().run_once() == 2
    assert pagerduty.alerts == {key: "resolved"}
    # an endpoint registered after an incident opened hears nothing of its acknowledgement
    register(db, t.id, format="pagerduty", routing_key=fake_receivers.ROUTING_KEY, url=None,
             events=["opened", "grew", "acknowledged", "resolved", "reopened"], description="late")
    add(db, t.id, 13, "opened", 0)
    with db.session() as s:
        late = s.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.description == "late"))
        s.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == late))  # as if made after it
        s.commit()
    add(db, t.id, 13, "acknowledged", 1, status="acknowledged")
    with db.session() as s:
        assert s.scalars(select(WebhookDelivery.event).where(WebhookDelivery.endpoint_id == late)).all() == []


def test_pagerduty_refusing_an_event_is_not_retried(db, tenant, pagerduty,
                                                                                   make_sender):
    t, _ = tenant
    register(db, t.id, format="pagerduty", routing_key=fake_receivers.ROUTING_KEY, url=None)
    add(db, t.id, 12, "opened", 0, sentence="x" * 5000)
    with db.session() as s:  # a key PagerDuty refuses (stored before a format check, say)
        from server.notify.webhooks import encrypt_secret

        s.execute(WebhookEndpoint.__table__.update().values(secret_enc=encrypt_secret("short", secret_key=TEST_SECRET_KEY)))
        s.commit()
    add(db, t.id, 13, "opened", 0)
    sender = make_sender()
    sender.run_once()
    rows = {d.incident_id: d for d in deliveries(db)}
    assert rows[13].last_error == "not retried: http_400" and rows[13].sent_at is not None
    assert rows[12].last_error == "not retried: http_400"  # both went with the refused key
    assert pagerduty.events == []
    assert len(fake_receivers.FakePagerDuty.problems({"routing_key": fake_receivers.ROUTING_KEY,
                                                      "event_action": "trigger", "payload": {
                                                          "summary": "x" * 1025, "source": "s",
                                                          "severity": "error"}})) == 1


def test_pagerduty_summary_stays_within_its_limit(db, tenant, pagerduty, make_sender):
    t, _ = tenant
    register(db, t.id, format="pagerduty", routing_key=fake_receivers.ROUTING_KEY, url=None)
    add(db, t.id, 12, "opened", 0, sentence="x" * 5000)
    assert make_sender().run_once() == 1
    assert len(pagerduty.events[0]["payload"]["summary"]) == 1024


def test_partitions_split_tenants_and_a_claimed_row_is_not_sent_twice(db, make_tenant, receiver, make_sender):
    a, _ = make_tenant("A")
    b, _ = make_tenant("B")
    for t in (a, b):
        register(db, t.id, url=receiver.url)
        add(db, t.id, 1, "opened", 0)
    mine = make_sender(partition=(a.id % 2, 2))
    assert mine.run_once() == 1
    assert [e["tenant"]["id"] for e in receiver.events] == [a.id]
    other = make_sender(partition=(b.id % 2, 2))
    with db.session() as s:
        row = s.scalars(select(WebhookDelivery).where(WebhookDelivery.tenant_id == b.id)).one()
        assert other._claim(s, row, other.clock())
    assert other.run_once() == 0  # leased by the claim above
    assert len(receiver.events) == 1


def test_secrets_stay_out_of_logs_and_stored_errors(db, tenant, receiver, pagerduty, make_sender, caplog):
    t, _ = tenant
    hook = register(db, t.id, url=receiver.url + "?token=query-secret")
    register(db, t.id, format="pagerduty", routing_key=fake_receivers.ROUTING_KEY, url=None)
    add(db, t.id, 12, "opened", 0)
    receiver.fail(500)
    pagerduty.fail(500)
    with caplog.at_level(logging.DEBUG):
        make_sender().run_once()
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # werkzeug: the fakes' own log
    text = " ".join(ours + [str(d.last_error) for d in deliveries(db)])
    assert "/hooks/***?***" in text  # urllib3's request line, masked
    for secret in (hook["signing_secret"], fake_receivers.ROUTING_KEY, "query-secret"):
        assert secret not in text
    with db.session() as s:
        stored = " ".join(e.secret_enc for e in s.scalars(select(WebhookEndpoint)))
    assert hook["signing_secret"] not in stored and fake_receivers.ROUTING_KEY not in stored


def test_worker_thread_sends_and_stops(db, tenant, receiver, make_sender):
    t, _ = tenant
    register(db, t.id, url=receiver.url)
    add(db, t.id, 12, "opened", 0)
    thread = run_until(lambda stop: start_worker(make_sender(clock=utcnow), interval=0.01, stop=stop),
                       lambda: bool(receiver.requests))
    assert len(receiver.requests) == 1 and not thread.is_alive()


def test_deleting_a_tenant_endpoint_drops_its_pending_deliveries(db, tenant, receiver, make_sender):
    t, _ = tenant
    hook = register(db, t.id, url=receiver.url)
    add(db, t.id, 12, "opened", 0)
    with db.session() as s:
        service.delete_webhook(s, t.id, hook["id"])
    assert deliveries(db) == []
    assert make_sender().run_once() == 0 and receiver.requests == []
    with db.session() as s:
        assert s.get(Tenant, t.id) is not None


def test_a_connection_that_reaches_a_private_address_after_the_dns_check_is_refused(db, tenant, receiver,
                                                                                     make_sender):
    """DNS rebinding: the check's answer says public, the connection lands on 127.0.0.1."""
    t, _ = tenant
    register(db, t.id, url=receiver.url)
    add(db, t.id, 12, "opened", 0)

    sender = make_sender(allow_private=False, require_https=False, resolve=resolver("93.184.216.34"))
    assert sender.run_once() == 0
    row = deliveries(db)[0]
    assert row.last_error == "not retried: address_not_allowed" and row.sent_at is not None
    assert receiver.requests == []
    # the same endpoint with private addresses allowed (a receiver inside the network) is reached
    hook_ok = make_sender(allow_private=True, require_https=False)
    add(db, t.id, 13, "opened", 0)
    assert hook_ok.run_once() == 1 and len(receiver.requests) == 1
