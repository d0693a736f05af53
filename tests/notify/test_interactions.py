"""The buttons on incident messages: Slack's signed interaction requests, against the real endpoint, with
the press's response_url on a local fake Slack."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from server.eventlog import Event
from server.incidents.models import Feedback, Incident
from server.notify.interactions import flush, parse, signature, verified
from server.notify.outbox import enqueue
from server.notify.slack import incident_blocks
from tests.incidents.factories import add_incident, auth
from tests.notify.conftest import T0, configure, incident_payload
from tests.notify.fake_slack import SIGNING_SECRET, TOKEN, blocks_problem, interaction


@pytest.fixture
def slack_app(app, db, tenant, slack):  # type: ignore[no-untyped-def]
    """A tenant with Slack (Web API) and its app's signing secret, and open incident #12 announced."""
    app.config["SLACK_WEBHOOK_HOSTS"] = "127.0.0.1,localhost"
    app.config["PUBLIC_URL"] = "https://gs.example.com"
    t, _ = tenant
    configure(db, t.id, mode="web_api", bot_token=TOKEN, channel="#incidents", signing_secret=SIGNING_SECRET)
    add_incident(db, t.id, 12, evidence={"observed": 15, "expected": 1.2})
    with db.session() as s:
        enqueue(s, t.id, 12, "opened", incident_payload(12), T0, 0)
        s.commit()
    return t


def press(client: Any, slug: str, action: str, value: str, **kw: Any) -> Any:
    body, headers = interaction(action, value, **kw)
    resp = client.post(f"/api/v1/slack/interactions/{slug}", data=body, headers=headers)
    flush()  # the answer goes out from a worker thread once the request is answered
    return resp


def actions(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def controls(db: Any, tenant_id: int) -> list[str]:
    with db.session() as s:
        return [e.kind for e in s.scalars(select(Event).where(Event.tenant_id == tenant_id, Event.source == "control"))]


def test_the_signature_is_slacks_v0_scheme_and_must_be_fresh():
    body = b"payload=%7B%7D"
    now = 1_700_000_000
    good = signature("s3cret", str(now), body)
    assert good.startswith("v0=") and len(good) == 67
    assert verified("s3cret", str(now), good, body, now + 299)
    assert not verified("s3cret", str(now), good, body, now + 301)  # a replay
    assert not verified("s3cret", str(now), good, body + b"x", now)
    assert not verified("other", str(now), good, body, now)
    assert not verified(None, str(now), good, body, now)
    assert not verified("s3cret", None, good, body, now) and not verified("s3cret", "12a", good, body, now)
    assert not verified("s3cret", str(now), None, body, now)
    assert not verified("s3cret", "\u00b2", good, body, now)  # a digit to str.isdigit, not to int()
    assert not verified("s3cret", str(now), "v0=\u00e9" + good[4:], body, now)  # not ASCII


def test_only_groundswells_buttons_with_an_incident_id_are_read():
    body, _ = interaction("gs_noise", "12", response_url="https://hooks.slack.com/actions/T/1/x")
    from urllib.parse import parse_qs

    payload = parse_qs(body.decode())["payload"][0]
    got = parse(payload)
    assert got is not None and (got.action, got.incident_id, got.by) == ("gs_noise", 12, "ana (Slack)")
    assert got.response_url == "https://hooks.slack.com/actions/T/1/x"
    other = json.loads(payload)
    assert parse(json.dumps({**other, "type": "view_submission"})) is None
    assert parse(json.dumps({**other, "actions": [{"action_id": "open_incident", "value": "12"}]})) is None
    for value in ("-1", "0", "12a", "99999999999"):
        assert parse(json.dumps({**other, "actions": [{"action_id": "gs_ack", "value": value}]})) is None
    assert parse("not json") is None and parse(None) is None and parse("[]") is None
    odd = parse(json.dumps({**other, "user": {"id": "U1", "username": "  <!channel>\n x\ud800\u0000 "}}))
    assert odd is not None and odd.by == "<!channel> x (Slack)"  # storable text; escaped where Slack shows it
    blank = parse(json.dumps({**other, "user": {"id": "U1", "username": "\u0000 ", "name": 5}}))
    assert blank is not None and blank.by == "U1 (Slack)"


def test_messages_carry_the_buttons_only_with_a_signing_secret():
    plain = incident_blocks(incident_payload(), "opened", "https://gs.example.com")
    assert actions(plain) == ["open_incident"]
    live = incident_blocks(incident_payload(), "opened", "https://gs.example.com", buttons=True)
    assert actions(live) == ["gs_ack", "gs_useful", "gs_noise", "open_incident"] and blocks_problem(live) is None
    values = {e["value"] for b in live["blocks"] if b["type"] == "actions" for e in b["elements"] if "value" in e}
    assert values == {"12"}
    acked = incident_blocks(incident_payload(status="acknowledged"), "opened", None, buttons=True)
    assert actions(acked) == ["gs_useful", "gs_noise"]
    reply = incident_blocks(incident_payload(), "grew", None, buttons=True)
    assert actions(reply) == []  # thread replies stay plain


def test_the_notifier_posts_the_buttons_when_the_tenant_has_a_signing_secret(slack_app, slack, make_notifier):
    assert make_notifier().run_once() == 1
    (parent,) = slack.parents().values()
    assert actions(parent) == ["gs_ack", "gs_useful", "gs_noise", "open_incident"]


def test_acknowledge_from_slack_changes_the_status_and_redraws_the_message(client, db, slack_app, slack):
    t = slack_app
    resp = press(client, t.slug, "gs_ack", "12", response_url=slack.response_url)
    assert resp.status_code == 200 and resp.get_data() == b""
    with db.session() as s:
        incident = s.get(Incident, (t.id, 12))
        assert (incident.status, incident.status_by) == ("acknowledged", "ana (Slack)")
    assert controls(db, t.id) == ["control.status"]  # the detector learns it as from the API
    (answer,) = slack.responses
    assert answer["replace_original"] is True and blocks_problem(answer) is None
    assert answer["blocks"][0]["text"]["text"].startswith(":eyes: [Acknowledged] #12 ")
    assert actions(answer) == ["gs_useful", "gs_noise", "open_incident"]
    assert "status *acknowledged* by ana (Slack)" in json.dumps(answer)
    again = press(client, t.slug, "gs_ack", "12", response_url=slack.response_url, user={"id": "U2", "username": "bo"})
    assert again.status_code == 200
    assert slack.responses[-1] == {"response_type": "ephemeral", "replace_original": False,
                                   "text": "Nothing changed: incident #12 is acknowledged (by ana (Slack))."}
    assert controls(db, t.id) == ["control.status"]


def test_useful_and_noise_from_slack_are_feedback_with_the_persons_name(client, db, slack_app, slack):
    t = slack_app
    assert press(client, t.slug, "gs_noise", "12", response_url=slack.response_url).status_code == 200
    assert press(client, t.slug, "gs_useful", "12", response_url=slack.response_url,
                 user={"id": "U2", "name": "bo"}).status_code == 200
    with db.session() as s:
        incident = s.get(Incident, (t.id, 12))
        assert (incident.noise_count, incident.useful_count) == (1, 1)
        votes = [(f.verdict, f.by) for f in s.scalars(select(Feedback).order_by(Feedback.id))]
    assert votes == [("noise", "ana (Slack)"), ("useful", "bo (Slack)")]
    assert controls(db, t.id) == ["control.feedback", "control.feedback"]
    assert [r["response_type"] for r in slack.responses] == ["ephemeral", "ephemeral"]
    assert slack.responses[0]["text"].startswith("Marked incident #12 as noise.")
    assert press(client, t.slug, "gs_noise", "99", response_url=slack.response_url).status_code == 200
    assert slack.responses[-1]["text"] == "Groundswell has no incident #99."
    assert press(client, t.slug, "gs_noise", "12", response_url=slack.response_url).status_code == 200  # again
    assert slack.responses[-1]["text"] == "You already marked incident #12 as noise; nothing changed."
    with db.session() as s:
        assert s.get(Incident, (t.id, 12)).noise_count == 1  # one person cannot raise the bar three times
    assert controls(db, t.id) == ["control.feedback", "control.feedback"]


def test_odd_headers_are_401_not_500(client, db, slack_app, slack):
    t = slack_app
    body, headers = interaction("gs_ack", "12", response_url=slack.response_url)
    for changes in ({"X-Slack-Request-Timestamp": "\u00b2"}, {"X-Slack-Signature": "v0=\u00e9"},
                    {"X-Slack-Request-Timestamp": "9" * 40}, {"X-Slack-Signature": ""}):
        resp = client.post(f"/api/v1/slack/interactions/{t.slug}", data=body, headers={**headers, **changes})
        assert resp.status_code == 401, changes
    # a slug no tenant can have (PostgreSQL refuses a NUL as a parameter: it was a 500 there) is no tenant
    for slug in (f"{t.slug}%00", "a%00b", "-x-", "x" * 70):
        assert client.post(f"/api/v1/slack/interactions/{slug}", data=body, headers=headers).status_code == 401, slug


def test_a_new_summary_keeps_a_persons_acknowledgement_on_the_redrawn_parent(client, db, slack_app, slack,
                                                                             make_notifier):
    t = slack_app
    notifier = make_notifier()
    assert notifier.run_once() == 1  # the parent, with its buttons
    press(client, t.slug, "gs_ack", "12", response_url=slack.response_url)
    with db.session() as s:
        s.get(Incident, (t.id, 12)).llm_summary = "Invoice PDFs are blank."
        s.commit()
    assert notifier.redraw(t.id, 12)
    (parent,) = slack.parents().values()
    assert parent["blocks"][0]["text"]["text"].startswith(":eyes: [Acknowledged] #12 ")
    assert actions(parent) == ["gs_useful", "gs_noise", "open_incident"]
    assert "_Summary by Claude:_ Invoice PDFs are blank." in json.dumps(parent)


def test_unsigned_stale_or_foreign_requests_change_nothing(client, db, slack_app, slack, make_tenant):
    t = slack_app
    other, _ = make_tenant("Other")  # no signing secret
    cases = [
        press(client, t.slug, "gs_ack", "12", response_url=slack.response_url, secret="wrong-secret-000000"),
        press(client, t.slug, "gs_ack", "12", response_url=slack.response_url, timestamp=int(time.time()) - 600),
        press(client, "no-such-tenant", "gs_ack", "12", response_url=slack.response_url),
        press(client, other.slug, "gs_ack", "12", response_url=slack.response_url),
        client.post(f"/api/v1/slack/interactions/{t.slug}", data={"payload": "{}"}),
    ]
    assert [r.status_code for r in cases] == [401] * 5
    assert all(r.get_json()["error"]["code"] == "unauthorized" for r in cases)
    with db.session() as s:
        assert s.get(Incident, (t.id, 12)).status == "open"
    assert controls(db, t.id) == [] and slack.responses == []


def test_a_signed_request_without_a_payload_is_400_and_other_interactions_are_ignored(client, db, slack_app, slack):
    t = slack_app
    ts = str(int(time.time()))
    body = b"something=else"
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature(SIGNING_SECRET, ts, body),
               "Content-Type": "application/x-www-form-urlencoded"}
    resp = client.post(f"/api/v1/slack/interactions/{t.slug}", data=body, headers=headers)
    assert resp.status_code == 400 and "payload" in resp.get_json()["error"]["fields"]
    link = press(client, t.slug, "open_incident", "", response_url=slack.response_url)
    assert link.status_code == 200 and slack.responses == [] and controls(db, t.id) == []


def test_a_response_url_off_the_allowed_hosts_is_not_called(client, db, app, slack_app, slack):
    t = slack_app
    assert slack.response_url.startswith("http://localhost:")
    app.config["SLACK_WEBHOOK_HOSTS"] = "127.0.0.1"  # the fake answers on localhost: now off the list
    resp = press(client, t.slug, "gs_noise", "12", response_url=slack.response_url)
    assert resp.status_code == 200 and slack.responses == []
    with db.session() as s:
        assert s.get(Incident, (t.id, 12)).noise_count == 1  # acted on all the same


def test_settings_store_the_signing_secret_and_never_return_it(client, db, tenant, app):
    t, creds = tenant
    app.config["PUBLIC_URL"] = "https://gs.example.com/"
    body = {"mode": "webhook", "webhook_url": "https://hooks.slack.com/services/T/B/x", "signing_secret": SIGNING_SECRET}
    resp = client.put("/api/v1/settings/notifications", json=body, headers=auth(creds))
    assert resp.status_code == 200, resp.get_json()
    view = resp.get_json()
    assert view["signing_secret_set"] is True and SIGNING_SECRET not in resp.get_data(as_text=True)
    assert view["interactions_url"] == f"https://gs.example.com/api/v1/slack/interactions/{t.slug}"
    bad = client.put("/api/v1/settings/notifications", json={**body, "signing_secret": "short"}, headers=auth(creds))
    assert bad.status_code == 400 and "signing_secret" in bad.get_json()["error"]["fields"]
    off = client.put("/api/v1/settings/notifications", json={"mode": "webhook", "signing_secret": None},
                     headers=auth(creds))
    assert off.get_json()["signing_secret_set"] is False
    assert client.get("/api/v1/settings/notifications", headers=auth(creds)).get_json()["signing_secret_set"] is False


def test_the_rate_limit_counts_each_calling_address_apart(client, app, slack_app, slack):
    t = slack_app
    app.config["RATE_LIMIT_WEBHOOK"] = "2/minute"
    body, headers = interaction("gs_useful", "12", response_url=None, secret="wrong-secret-000000")
    url = f"/api/v1/slack/interactions/{t.slug}"
    flood = [client.post(url, data=body, headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.9"})
             for _ in range(3)]
    assert [r.status_code for r in flood] == [401, 401, 429]
    real = press(client, t.slug, "gs_useful", "12", response_url=None)  # Slack, from another address
    assert real.status_code == 200
