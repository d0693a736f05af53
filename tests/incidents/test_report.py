"""The incidents report: counts, verdicts, response times and weeks over a period."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.eventlog import SqlEventLog
from server.incidents import actions, service
from server.incidents.report import incident_report
from tests.incidents.factories import T0, add_incident, auth
from tests.incidents.test_api import add_topic

# T0 is Monday 2026-03-02 09:00 UTC: incident n is detected n hours later unless told otherwise.
SINCE, UNTIL = T0 - timedelta(hours=9), T0 + timedelta(days=21) - timedelta(hours=9)  # three whole weeks


def act(db, tenant_id: int, incident_id: int, status: str, minutes: float, by: str = "Ana") -> None:
    """A person changes the incident's status ``minutes`` after its detection (as the API does)."""
    with db.session() as s:
        detected = service.get_incident(s, tenant_id, incident_id).detected_at
        s.rollback()
        actions.set_status(s, SqlEventLog(), tenant_id, incident_id, status=status, by=by,
                           now=detected + timedelta(minutes=minutes), view=False)


@pytest.fixture
def scene(db, tenant):
    t, creds = tenant
    add_topic(db, t.id, 1, "invoice pdf", name="Invoice PDFs")
    add_incident(db, t.id, 1, useful_count=2, noise_count=1)  # useful, acknowledged after 10 min then resolved
    add_incident(db, t.id, 2, kind="drop", series="channel:email", topic_id=None, noise_count=1)  # noise
    add_incident(db, t.id, 3, useful_count=1, noise_count=1)  # a tie counts as useful; resolved by the detector
    add_incident(db, t.id, 4, detected_at=T0 + timedelta(days=8))  # second week, unrated, merged into 5 after 30 min
    add_incident(db, t.id, 5, detected_at=T0 + timedelta(days=8, hours=1))  # open, nobody acted
    add_incident(db, t.id, 6, detected_at=T0 - timedelta(days=1))  # before the period
    add_incident(db, t.id, 7, detected_at=UNTIL)  # at its end: outside
    act(db, t.id, 1, "acknowledged", 10)
    act(db, t.id, 1, "resolved", 70)
    act(db, t.id, 2, "dismissed", 40)
    with db.session() as s:  # the detector resolved 3; a person reopens it a day later: no response to it
        row = service.get_incident(s, t.id, 3)
        row.status = "resolved"
        s.commit()
    act(db, t.id, 3, "open", 24 * 60)
    with db.session() as s:
        row = service.get_incident(s, t.id, 3)
        row.status, row.resolved_at = "resolved", row.detected_at + timedelta(minutes=125)
        s.commit()
        gone = service.get_incident(s, t.id, 4)
        actions.merge(s, SqlEventLog(), t.id, 4, into=5, by="Bo", now=gone.detected_at + timedelta(minutes=30))
    return t, creds


def test_the_report_counts_verdicts_response_times_weeks_and_series(db, scene):
    t, _ = scene
    with db.session() as s:
        r = incident_report(s, t.id, since=SINCE, until=UNTIL)
    assert r["incidents"] == 5
    assert r["by_kind"] == {"spike": 4, "drop": 1}
    assert r["by_status"] == {"open": 1, "resolved": 3, "dismissed": 1}
    assert r["merged"] == 1
    assert r["feedback"] == {"useful": 2, "noise": 1, "unrated": 2, "precision": 0.667}
    # first responses: 10 (ack of 1), 40 (dismissal of 2), 30 (merge of 4); 3 and 5 had none
    assert r["time_to_respond"] == {"count": 3, "median_minutes": 30.0, "p90_minutes": 40.0}
    # resolved and not merged: 1 after 70 min (a person), 3 after 125 (the detector)
    assert r["time_to_resolve"] == {"count": 2, "median_minutes": 97.5, "p90_minutes": 125.0}
    assert [(w["start"].isoformat(), w["incidents"], w["useful"], w["noise"]) for w in r["weeks"]] == [
        ("2026-03-02T00:00:00+00:00", 3, 2, 1), ("2026-03-09T00:00:00+00:00", 2, 0, 0),
        ("2026-03-16T00:00:00+00:00", 0, 0, 0)]
    assert r["weeks"][0]["by_kind"] == {"drop": 1, "spike": 2}
    assert [(x["series"], x["label"], x["incidents"], x["useful"], x["noise"]) for x in r["top_series"]] == [
        ("topic:1", "Invoice PDFs", 4, 2, 0), ("channel:email", "channel email", 1, 0, 1)]


def test_a_period_without_incidents_has_nulls_not_zeros(db, tenant):
    t, _ = tenant
    with db.session() as s:
        r = incident_report(s, t.id, since=SINCE, until=SINCE + timedelta(days=2))
    assert r["incidents"] == 0 and r["feedback"]["precision"] is None
    assert r["time_to_respond"] == {"count": 0, "median_minutes": None, "p90_minutes": None}
    assert len(r["weeks"]) == 1 and r["top_series"] == []


def test_the_api_serves_it_scoped_to_the_tenant_and_checks_the_period(client, db, scene, make_tenant):
    t, creds = scene
    q = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    res = client.get("/api/v1/incidents/report", query_string=q, headers=auth(creds))
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["incidents"] == 5 and body["weeks"][0]["start"] == "2026-03-02T00:00:00+00:00"
    _, other = make_tenant("Other")
    assert client.get("/api/v1/incidents/report", query_string=q, headers=auth(other)).get_json()["incidents"] == 0
    default = client.get("/api/v1/incidents/report", headers=auth(creds)).get_json()  # the last 28 days
    assert default["incidents"] == 0 and len(default["weeks"]) in (4, 5)
    for bad in ({"since": UNTIL.isoformat(), "until": SINCE.isoformat()},
                {"since": (UNTIL - timedelta(days=367)).isoformat(), "until": UNTIL.isoformat()},
                {"since": "yesterday"}, {"until": "2026-03-02T09:00:00"},  # no time zone
                {"until": "0001-01-01T00:00:00Z"}, {"since": "9999-12-31T00:00:00Z"}):  # a default span past year 1
        res = client.get("/api/v1/incidents/report", query_string=bad, headers=auth(creds))
        assert res.status_code == 400 and res.get_json()["error"]["fields"], bad
    assert client.get("/api/v1/incidents/report").status_code == 401


def test_series_read_as_people_name_them(db, tenant):
    from server.accounts.models import Organization
    from server.incidents.report import _labels

    t, _ = tenant
    add_topic(db, t.id, 3, "refund status")
    with db.session() as s:
        s.add(Organization(tenant_id=t.id, zendesk_id="900002", name="Kestrel Logistics", updated_at=T0))
        s.commit()
        got = _labels(s, t.id, ["topic:3", "topic:99", "channel:email", "form:360001", "all",
                                "page:/invoices:rage_click", "page:/a:b:failed_request", "page:/odd",
                                "organization:900002", "organization:7"])
    assert got == {"topic:3": "refund status", "topic:99": "topic 99", "channel:email": "channel email",
                   "form:360001": "form 360001", "all": "all tickets", "page:/invoices:rage_click": "/invoices (rage clicks)",
                   "page:/a:b:failed_request": "/a:b (failed requests)", "page:/odd": "page /odd",
                   "organization:900002": "Kestrel Logistics (organization 900002)",
                   "organization:7": "organization 7"}
