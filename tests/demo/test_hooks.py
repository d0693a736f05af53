"""The demo's incident webhook: its receiver verifies and prints what the real sender delivers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.demo.hooks import DESCRIPTION, DemoReceiver, connect
from server.notify.models import WebhookEndpoint
from server.notify.outbox import enqueue
from server.notify.webhooks import WebhookSender
from tests.conftest import TEST_SECRET_KEY
from tests.notify.conftest import T0, incident_payload


def test_the_demo_receiver_gets_signed_incident_events_and_the_webhook_follows_it(db: Any, app_config: dict[str, Any],
                                                                                 make_tenant: Any) -> None:
    acme, _ = make_tenant("Acme")
    lines: list[str] = []
    first = DemoReceiver(out=lines.append)
    second = DemoReceiver(out=lines.append)
    try:
        secret = connect(app_config, first, None, slug=acme.slug)
        assert secret.startswith("gs_whsec_") and first.secret == secret
        with db.session() as s:
            enqueue(s, acme.id, 3, "opened", incident_payload(3, title="Spike: 'invoice pdf'"), T0, generation=0)
            s.commit()
        sender = WebhookSender(db, secret_key=TEST_SECRET_KEY, allow_private=True, require_https=False)
        assert sender.run_once() == 1
        assert [(body["type"], ok) for body, ok in first.events] == [("incident.opened", True)]
        assert lines == ["  webhook: incident.opened #3 Spike: 'invoice pdf' (signature verified)"]

        # the next run listens elsewhere: the same webhook (and secret) points there
        assert connect(app_config, second, secret, slug=acme.slug) == secret
        with db.session() as s:
            [hook] = s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.description == DESCRIPTION)).all()
            assert hook.url == second.url
        # with the secret lost, a new webhook is made
        renewed = connect(app_config, second, None, slug=acme.slug)
        assert renewed != secret
        with db.session() as s:
            assert len(s.scalars(select(WebhookEndpoint)).all()) == 1
        second.secret = "gs_whsec_not-this-one"  # a delivery it cannot verify is refused and says so
        with db.session() as s:
            enqueue(s, acme.id, 4, "opened", incident_payload(4), T0, generation=0)
            s.commit()
        sender.run_once()
        assert second.events[-1][1] is False and "SIGNATURE DOES NOT MATCH" in lines[-1]
    finally:
        first.stop()
        second.stop()
