"""``groundswell demo``: one command from a clean checkout to a live dashboard.

It sends fifteen days of history first (see server/demo/replay.py; a day more than two weeks, so that
the accounts report's day window has two of the same weekday before it), so that the detector has baselines
and the incidents page shows the stream's surges within minutes. A rerun on the same database sends
only the gap since the previous run's last ticket, and carries on its ticket ids.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from server.demo.replay import DEMO_ORIGIN, SESSION_HISTORY_HOURS, Replayer, history_window

#: Days of history sent before the live stream (the detector needs 2 to open incidents, 7 for drops).
HISTORY_DAYS = 15
#: Webhook and widget rate limits of the demo's server (per tenant and web worker), high enough for the history.
HISTORY_RATE_LIMIT = "2000/second"


def _credentials(cfg: dict[str, Any], port: int) -> dict[str, Any]:
    from server import config as config_mod
    from server import migrate
    from server.db import from_config
    from server.tenants import create_tenant, find_by_slug, rotate

    path = Path(cfg["INSTANCE_PATH"]) / "demo-credentials.json"
    db = from_config(cfg)
    migrate.upgrade(db)
    key = config_mod.secret_key(cfg)
    with db.session() as session:
        tenant = find_by_slug(session, "acme")
        if tenant is None:
            tenant, creds = create_tenant(session, "Acme Billing", secret_key=key, zendesk_subdomain="acme",
                                          slug="acme", origins=[DEMO_ORIGIN, f"http://127.0.0.1:{port}"])
        elif path.exists():
            session.close()
            db.dispose()
            return json.loads(path.read_text())
        else:  # the tenant exists but its secrets were lost: make new ones
            creds = rotate(tenant, secret_key=key, webhook_secret=True, api_token=True)
            creds = type(creds)(creds.webhook_secret, tenant.site_key, creds.api_token)
        session.commit()
    db.dispose()
    data = {"tenant": "acme", "site_key": creds.site_key, "webhook_secret": creds.webhook_secret,
            "api_token": creds.api_token}
    _save_credentials(cfg, data)
    return data


def _save_credentials(cfg: dict[str, Any], data: dict[str, Any]) -> None:
    """The demo's secrets, readable by its owner only."""
    fd = os.open(Path(cfg["INSTANCE_PATH"]) / "demo-credentials.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)


#: How the demo's tickets are joined to widget users: the replayed sessions identify users by their
#: Zendesk requester id (as a product whose users are its Zendesk requesters would).
DEMO_TICKET_USER_KEYS = ["requester_id", "email", "field:user_id"]


#: The demo tenant's per-page friction detectors start testing after 8 hours of in-app sessions (the
#: default is 24): the demo can send only the last day's sessions (the widget API keeps no older client
#: time), and sends the last 12 hours (``SESSION_HISTORY_HOURS``) so that it starts within a minute.
DEMO_FRICTION = {"warmup_hours": 8}

#: The Acme help page on getting an invoice by e-mail, which the invoice tip links to (server/demo/acme.py).
INVOICE_HELP = "/demo/acme/help/invoices"
#: Where the known-issue banners of the demo's incidents link ("Status and updates"): Acme's status page.
DEMO_STATUS_PAGE = "/demo/acme/status"
#: Where demo databases from before linked the invoice tip: a page about paying, not about e-mail.
OLD_INVOICE_HELP = "/demo/acme/help/payments"
#: The demo's help tips, each for the friction it answers (``when``) and linking to an Acme help page that
#: answers it, if there is one: a session stuck on Billing's coupon gets the coupon tip, not the payment one.
DEMO_NUDGES = [
    {"id": "acme-billing-help", "match": "/demo/acme/billing", "title": "Having trouble paying?",
     "body": "If the payment keeps failing, pay by bank transfer or ask us to retry the card.",
     "link_url": "/demo/acme/help/payments", "link_text": "Other ways to pay",
     "when": [{"signal": "failed_request", "target": "POST /demo/acme/api/pay"}]},
    {"id": "acme-coupon-help", "match": "/demo/acme/billing", "title": "Coupon not accepted?",
     "body": "Codes are case-sensitive and have no spaces: type it exactly as in your e-mail, e.g. WELCOME10.",
     "when": [{"signal": "form_error", "target": "coupon"}, {"signal": "failed_request",
                                                            "target": "POST /demo/acme/api/coupon"}]},
    {"id": "acme-invoice-help", "match": "/demo/acme/invoices",
     "title": "Invoice PDF not downloading?",
     "body": "Downloads are failing right now: we can e-mail the invoice to you instead.",
     "link_url": INVOICE_HELP, "link_text": "Get it by e-mail",
     "when": [{"signal": "failed_request", "target": "POST /demo/acme/api/invoices/*"}]},
]


def _demo_nudges(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An older demo database's tips as the demo has them now: its tips answer the friction they are
    about (they answered anything on their page), the coupon tip is added, and the invoice tip links to
    the e-mail help page; tips of the tenant's own are left alone."""
    demo = {n["id"]: n for n in DEMO_NUDGES}
    out = []
    for n in stored:
        if n["id"] == "acme-invoice-help" and n.get("link_url") == OLD_INVOICE_HELP:
            n = dict(n, link_url=INVOICE_HELP)
        if n["id"] in demo and not n.get("when") and n.get("match") == demo[n["id"]]["match"]:
            n = dict(n, when=demo[n["id"]]["when"])
        out.append(n)
    if "acme-billing-help" in {n["id"] for n in out} and "acme-coupon-help" not in {n["id"] for n in out}:
        out.insert([n["id"] for n in out].index("acme-billing-help") + 1, demo["acme-coupon-help"])
    return out


def _acme_widget(cfg: dict[str, Any], port: int) -> str:
    """The Acme Billing page's widget: its origins allowed, tickets joined by requester id, nudge content
    unless the tenant has its own (an older demo database's tips are brought up to date, ``_demo_nudges``),
    banners linking to Acme's status page unless a status page is set;
    returns the tenant's identity secret (made here if it has none), with which the replayed sessions sign
    their user ids."""
    from server import config as config_mod
    from server.db import from_config
    from server.eventlog import SqlEventLog
    from server.tenants import find_by_slug
    from server.widget import service as widget_service
    from server.widget.schemas import FrictionSettingsSchema

    db = from_config(cfg)
    try:
        with db.session() as session:
            tenant = find_by_slug(session, "acme")
            if tenant is None:
                return ""
            key = config_mod.secret_key(cfg)
            secret = widget_service.identity_secret(session, tenant.id, secret_key=key) or \
                widget_service.rotate_identity_secret(session, tenant.id, secret_key=key,
                                                      now=datetime.now(timezone.utc))
            wanted = {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
            if not wanted <= set(tenant.allowed_origins or []):
                tenant.allowed_origins = sorted(set(tenant.allowed_origins or []) | wanted)
                session.commit()
            stored = widget_service.stored_config(session, tenant.id)
            if stored.get("nudges"):
                changes: dict[str, Any] = {}
                if "requester_id" not in stored.get("ticket_user_keys", ()):
                    changes["ticket_user_keys"] = ["requester_id", *stored.get("ticket_user_keys", ())][:5]
                if stored["friction"] == FrictionSettingsSchema().load({}):  # a demo database from before
                    changes["friction"] = DEMO_FRICTION
                if not stored.get("status_page_url"):  # a demo database from before the status page
                    changes["status_page_url"] = DEMO_STATUS_PAGE
                nudges = _demo_nudges(stored["nudges"])
                if nudges != stored["nudges"]:
                    changes["nudges"] = nudges
                if changes:
                    widget_service.put_settings(session, SqlEventLog(), tenant.id, dict(stored, **changes),
                                                now=datetime.now(timezone.utc))
                return secret
            widget_service.put_settings(session, SqlEventLog(), tenant.id, {
                "nudges": DEMO_NUDGES,
                "holdout": 0.0, "cap_per_session": 2, "cap_per_day": 5,
                "cold_start": {"enabled": True, "repeat_failures": 3},
                "ticket_user_keys": DEMO_TICKET_USER_KEYS,
                "friction": DEMO_FRICTION,
                "status_page_url": DEMO_STATUS_PAGE,
            }, now=datetime.now(timezone.utc))
            return secret
    finally:
        db.dispose()


def _previous_run(cfg: dict[str, Any]) -> tuple[datetime | None, int]:
    """When the demo tenant's last Zendesk delivery arrived (None: never) and how many events it has."""
    from sqlalchemy import func, select

    from server.db import from_config
    from server.eventlog.log import as_utc
    from server.models import Event
    from server.tenants import find_by_slug

    db = from_config(cfg)
    try:
        with db.session() as session:
            tenant = find_by_slug(session, "acme")
            if tenant is None:
                return None, 0
            last = session.scalar(select(func.max(Event.received_at))
                                  .where(Event.tenant_id == tenant.id, Event.source == "zendesk"))
            count = session.scalar(select(func.count()).select_from(Event).where(Event.tenant_id == tenant.id))
            return (as_utc(last) if last is not None else None), int(count or 0)
    finally:
        db.dispose()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_demo(cfg: dict[str, Any], port: int, speed: float = 8.0, history_days: float = HISTORY_DAYS) -> int:
    creds = _credentials(cfg, port)
    creds = dict(creds, identity_secret=_acme_widget(cfg, port))
    from server.demo.agent import DemoZendesk

    zendesk = DemoZendesk(cfg)  # a local fake Zendesk the tenant is connected to, for the sidebar's actions
    from server.demo.hooks import DemoReceiver, connect

    receiver = DemoReceiver()  # the tenant's incident webhook lands here and is printed in this terminal
    secret = connect(cfg, receiver, creds.get("webhook_signing_secret"))
    if secret != creds.get("webhook_signing_secret"):
        _save_credentials(cfg, {k: v for k, v in dict(creds, webhook_signing_secret=secret).items()
                                if k != "identity_secret"})
    last, events = _previous_run(cfg)
    days = history_window(last, datetime.now(timezone.utc), history_days)
    url = f"http://127.0.0.1:{port}"
    # The history arrives as one burst of webhooks, far above a tenant's usual limit: lift it for the demo.
    env = dict(os.environ, LOG_FORMAT="text", LOG_LEVEL="WARNING")
    env.setdefault("RATE_LIMIT_WEBHOOK", HISTORY_RATE_LIMIT)
    env.setdefault("RATE_LIMIT_WIDGET", HISTORY_RATE_LIMIT)
    env.setdefault("DEMO_PAGES", "1")  # the sample product pages (Acme Billing with the widget)
    env.update(zendesk.env)  # zenpy in the server and detector talks to the fake Zendesk
    env.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")  # the demo's receiver listens on plain http on 127.0.0.1
    env.setdefault("WEBHOOK_REQUIRE_HTTPS", "0")
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)], env=env)
    signal.signal(signal.SIGTERM, _interrupt)  # stopped by a signal: still stop the server
    # Ctrl-C stops everything, even when this process started with SIGINT ignored (a shell's background job).
    signal.signal(signal.SIGINT, _interrupt)
    try:
        for _ in range(100):
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None:
                print(f"the server exited with code {server.returncode}; is port {port} free?", file=sys.stderr)
                return 1
            time.sleep(0.2)
        print(f"\n  Dashboard:  {url}/#token={creds['api_token']}\n"
              f"  Incidents:  {url}/incidents#token={creds['api_token']}\n  API docs:   {url}/api/v1/docs\n"
              f"  Metrics:    {url}/metrics\n  Acme Billing (sample product with the widget): {url}/demo/acme/billing\n"
              f"  Zendesk agent page (the sidebar app): {url}/demo/zendesk#token={creds['api_token']}\n"
              f"  Incident webhook: signed deliveries to {receiver.url}, printed here as they arrive\n", file=sys.stderr)
        unbuilt = [what for what, path in (("the widget", "/widget/v1/loader.js"), ("the Zendesk app", "/demo/zendesk"))
                   if requests.get(url + path, timeout=5).status_code == 404]
        if unbuilt:  # the Acme and Zendesk pages would answer with an error
            print(f"  Not built: {' and '.join(unbuilt)}. Run `npm run build` (`make demo` does) for the Acme and "
                  "Zendesk pages.\n", file=sys.stderr)
        print("\n  Replaying a realistic stream (Ctrl-C stops).\n", file=sys.stderr)
        # Ticket ids continue past every event the tenant already has, so none repeats a previous run's.
        replayer = Replayer(url, creds, speed=speed, first_ticket_id=100_000 + events if events else None)
        if days * 86400 >= 60:
            # The in-app sessions first (a minute): a page's friction detector starts at its first event, and
            # a live one from someone already trying the Acme pages would leave the past hours behind it unlearnt.
            replayer.send_session_history(min(SESSION_HISTORY_HOURS, days * 24))
            replayer.send_history(days)
        first = min((i.start_minute for i in replayer.model.incidents), default=0) / speed
        print(f"\n  Live from now: the first surge starts in about {first * 60:.0f} s and the detector opens an"
              " incident\n  a few minutes later (once it has worked through the history).\n", file=sys.stderr)
        replayer.run(alive=lambda: server.poll() is None)
        if server.poll() is not None:  # the server went away (stopped, killed): nothing left to feed
            print(f"\n  The server stopped (exit code {server.returncode}); the demo stops too.", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        pass
    finally:
        zendesk.stop()
        receiver.stop()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0
