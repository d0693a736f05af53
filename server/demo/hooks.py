"""The demo's incident webhook: a local receiver, and the demo tenant's webhook pointed at it.

``groundswell demo`` starts a small HTTP server on a free loopback port that does what a customer's
endpoint should: it checks each delivery's signature with the signing secret, answers 204, and prints
one line per incident event in the demo's terminal. The tenant's webhook (``Demo receiver``) is created
on the first run and pointed at this run's port on later ones; its secret is kept with the demo's
credentials. The incidents page shows each delivery under "Notifications".
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping

from server.notify.slack import EVENTS
from server.notify.webhooks import SIGNATURE_HEADER, verify

DESCRIPTION = "Demo receiver"
#: Largest body the receiver reads.
MAX_BODY = 1_000_000


def describe(body: Mapping[str, Any], signed: bool) -> str:
    """One terminal line for a delivery.

    >>> describe({"type": "incident.opened", "incident": {"id": 3, "title": "Spike: 'invoice pdf'"}}, True)
    "  webhook: incident.opened #3 Spike: 'invoice pdf' (signature verified)"
    """
    incident = body.get("incident") or {}
    what = f"#{incident.get('id')} {incident.get('title')}" if incident else ""
    check = "signature verified" if signed else "SIGNATURE DOES NOT MATCH"
    return f"  webhook: {body.get('type')} {what} ({check})"


class DemoReceiver:
    """A local endpoint that verifies and prints incident webhooks; ``events`` keeps what arrived."""

    def __init__(self, secret: str = "", out: Callable[[str], None] | None = None) -> None:
        self.secret = secret
        self.events: list[tuple[dict[str, Any], bool]] = []
        self._out = out or (lambda line: print(line, file=sys.stderr, flush=True))
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_response(413)
                    self.end_headers()
                    return
                raw = self.rfile.read(length)
                signed = verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), raw)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                receiver.events.append((body, signed))
                receiver._out(describe(body, signed))
                self.send_response(204 if signed else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/groundswell"
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-webhook-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def connect(cfg: Mapping[str, Any], receiver: DemoReceiver, stored_secret: str | None, slug: str = "acme") -> str:
    """Point the demo tenant's webhook at ``receiver`` (creating it, or making it anew when its secret was
    lost); returns the signing secret, which the receiver is given too."""
    from sqlalchemy import select

    from server import config as config_mod
    from server.db import from_config
    from server.notify import service
    from server.notify.models import WebhookEndpoint
    from server.tenants import find_by_slug

    db = from_config(dict(cfg))
    try:
        with db.session() as session:
            tenant = find_by_slug(session, slug)
            if tenant is None:
                raise RuntimeError(f"no tenant {slug!r}")
            ours = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant.id,
                                                                 WebhookEndpoint.description == DESCRIPTION)).first()
            if ours is not None and stored_secret and ours.secret_hint == stored_secret[-4:]:
                ours.url = receiver.url
                session.commit()
                secret = stored_secret
            else:
                if ours is not None:
                    service.delete_webhook(session, tenant.id, ours.id)
                made = service.create_webhook(session, tenant.id, {"format": "groundswell", "url": receiver.url,
                                                                   "events": list(EVENTS),
                                                                   "kinds": None, "description": DESCRIPTION},
                                              secret_key=config_mod.secret_key(dict(cfg)),
                                              now=datetime.now(timezone.utc), allow_private=True, require_https=False)
                secret = made["signing_secret"]
    finally:
        db.dispose()
    receiver.secret = secret
    return secret
