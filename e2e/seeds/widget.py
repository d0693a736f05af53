"""The widget's browser tests: nudge content and a known issue for the demo billing page.

Settings: two nudges for ``/demo/acme/billing``, each for the friction it answers: "Having trouble paying an
invoice?" with a help link for the failing payment request, "Coupon not accepted?" for the rejected coupon;
holdout 0, caps high enough for repeated decisions, the cold-start friction rule on (a session is stuck
on a page after the same request fails 3 times there, or a rage click plus a failed request). An OPEN
friction incident names ``/demo/acme/billing``, so known-issues returns it (banner), linking to Acme's status
page (``/demo/acme/status``).

Options (``--opt``): ``identity_required=1`` makes the backend ignore user ids without a valid
``user_hash``; ``incident=0`` leaves the incident out. Returns ``incident_id`` and ``identity_secret``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.incidents.models import Incident
from server.widget import service

PAGE = "/demo/acme/billing"
INCIDENT_ID = 1


def seed(ctx):  # noqa: ANN001, ANN201
    now = datetime.now(timezone.utc)
    log = ctx.app.extensions["groundswell.log"]
    secret_key = ctx.app.extensions["groundswell.secret_key"]
    settings = {
        "nudges": [{"id": "billing-help", "match": PAGE, "title": "Having trouble paying an invoice?",
                    "body": "If the payment keeps failing, you can pay by bank transfer or ask us to retry it.",
                    "link_url": "/demo/acme/help/payments", "link_text": "Other ways to pay",
                    "when": [{"signal": "failed_request", "target": "POST /demo/acme/api/pay"}]},
                   {"id": "coupon-help", "match": PAGE, "title": "Coupon not accepted?",
                    "body": "Codes are case-sensitive: type it exactly as in your e-mail.",
                    "when": [{"signal": "form_error", "target": "coupon"}]}],
        "known_issues": [],
        "holdout": 0.0,
        "cap_per_session": 100,
        "cap_per_day": 1000,
        "threshold": 0.5,
        "identity_required": ctx.options.get("identity_required") == "1",
        "cold_start": {"enabled": True, "repeat_failures": 3},
        "status_page_url": "/demo/acme/status",
    }
    with ctx.db.session() as session:
        service.put_settings(session, log, ctx.tenant_id, settings, now=now)
        identity_secret = service.rotate_identity_secret(session, ctx.tenant_id, secret_key=secret_key, now=now)
        incident_id = None
        if ctx.options.get("incident", "1") != "0":
            started = now - timedelta(minutes=20)
            session.add(Incident(
                tenant_id=ctx.tenant_id, id=INCIDENT_ID, kind="friction", status="open", status_by="detector",
                status_changed_at=started, series=f"page:{PAGE}:failed_request", topic_id=None,
                title=f"Failed requests on {PAGE}",
                sentence=f"14 failed requests on {PAGE} in the last hour from 6 sessions (4 signed-in users); "
                         "usually 0.4.",
                direction="up", first_seen_at=started, detected_at=started, last_activity_at=now, resolved_at=None,
                ticket_count=0, requester_count=4, account_count=0, p_value=1e-6, surprise=13.8,
                evidence={"path": PAGE, "signal": "failed_request", "observed": 14, "expected": 0.4,
                          "sessions": 6, "users": 4, "first_seen_at": started.isoformat()},
                useful_count=0, noise_count=0, updated_at=now))
            session.commit()
            incident_id = INCIDENT_ID
    return {"incident_id": incident_id, "identity_secret": identity_secret}
