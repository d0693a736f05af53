"""Detection in the detector process: log in, incident rows out, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from server.eventlog import SqlEventLog
from server.eventlog.log import NewEvent
from server.incidents.models import Incident, IncidentTicket, Notification, VolumePoint
from server.incidents.stage import LIVE_LAG, DetectStage
from server.pipeline import Runner
from server.pipeline.models import DetectorCheckpoint
from server.pipeline.registry import stage_factory
from server.topics.models import Ticket
from tests.understand.fakes import HashingEmbedder

START = datetime(2026, 2, 2, tzinfo=timezone.utc)  # a Monday
SUBJECTS = {
    1: ("Password reset email never arrives", "I asked for a password reset link but no email came."),
    2: ("Invoice PDF is blank", "The invoice PDF download shows an empty page."),
    3: ("Cannot export report to CSV", "Export to CSV spins forever and never downloads."),
    4: ("How do I add a team member", "Where do I invite a colleague to our workspace?"),
}
RATES = {1: 40.0, 2: 12.0, 3: 6.0, 4: 20.0}  # tickets per day


def payload(ticket_id: int, topic: int, at: datetime, requester: str) -> dict:
    subject, body = SUBJECTS[topic]
    return {"type": "zen:event-type:ticket.created", "account_id": 1, "id": f"ev-{ticket_id}",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{ticket_id}",
            "detail": {"id": str(ticket_id), "subject": subject, "description": f"{body} (ref {ticket_id})",
                       "status": "NEW", "requester_id": requester, "organization_id": str(900 + int(requester) % 40),
                       "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "via": {"channel": "web"}},
            "event": {}}


def stream(days: int = 9, seed: int = 1) -> list[tuple[datetime, dict]]:
    """Background traffic, then a burst of invoice tickets from distinct customers at 03:00."""
    rng = random.Random(seed)
    out = []
    n = 1000
    for h in range(days * 24):
        hour = START + timedelta(hours=h)
        shape = 0.3 + 1.7 * math.exp(-((hour.hour - 14) / 4.0) ** 2)
        for topic, per_day in RATES.items():
            lam = per_day / 24 * shape
            k = sum(1 for _ in range(40) if rng.random() < lam / 40)
            for _ in range(k):
                n += 1
                at = hour + timedelta(seconds=rng.uniform(0, 3599))
                out.append((at, payload(n, topic, at, str(rng.randint(1, 10_000)))))
    burst_at = START + timedelta(days=days - 1, hours=3)
    for i in range(10):
        n += 1
        at = burst_at + timedelta(minutes=3 * i)
        out.append((at, payload(n, 2, at, str(50_000 + i))))
    return sorted(out, key=lambda x: x[0])


def append(db, tenant_id: int, items, received_late: bool = False) -> None:
    log = SqlEventLog()
    with db.session() as s:
        for at, body in items:
            received = at + (timedelta(days=30) if received_late else timedelta(seconds=5))
            log.append(s, tenant_id, [NewEvent("zendesk", "zendesk.ticket.created", body["id"], at, body)], received)
        s.commit()


def control(db, tenant_id: int, kind: str, data: dict, at: datetime) -> None:
    with db.session() as s:
        SqlEventLog().append(s, tenant_id, [NewEvent("control", kind, f"{kind}-{at.timestamp()}", at, data)], at)
        s.commit()


def runner(db, **kw) -> Runner:
    factory = stage_factory(db, embed=HashingEmbedder().embed, topic_params={"assign_threshold": 0.5})
    return Runner(db, SqlEventLog(), factory, **kw)


def incidents(db, tenant_id: int) -> dict[int, dict]:
    with db.session() as s:
        rows = s.scalars(select(Incident).where(Incident.tenant_id == tenant_id)).all()
        links = s.execute(select(IncidentTicket.incident_id, IncidentTicket.zendesk_id)
                          .where(IncidentTicket.tenant_id == tenant_id)).all()
    out = {r.id: {"kind": r.kind, "series": r.series, "status": r.status, "sentence": r.sentence,
                  "detected_at": r.detected_at, "evidence": r.evidence, "tickets": set()} for r in rows}
    for incident_id, zendesk_id in links:
        out[incident_id]["tickets"].add(zendesk_id)
    return out


@pytest.fixture(scope="module")
def traffic():
    return stream()


def test_a_burst_in_the_log_becomes_one_incident_with_its_tickets(db, make_tenant, traffic):
    t, _ = make_tenant("Burst")
    append(db, t.id, traffic)
    runner(db, batch_size=400).run_until_idle()
    found = incidents(db, t.id)
    burst = {b["detail"]["id"] for _, b in traffic if int(b["detail"]["requester_id"]) >= 50_000}
    matching = [i for i in found.values() if i["tickets"] & burst]
    assert len(matching) == 1 and matching[0]["kind"] == "spike", [(i["kind"], i["series"], i["sentence"]) for i in found.values()]
    inc = matching[0]
    assert len(burst & inc["tickets"]) >= 8 and "pdf" in inc["sentence"]
    assert inc["evidence"]["observed"] >= 3 and inc["evidence"]["expected"] < 1.5
    assert inc["evidence"]["accounts"] >= 5 and inc["evidence"]["representatives"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.tenant_id == t.id)) >= 1
        points = s.scalar(select(func.count()).select_from(VolumePoint).where(VolumePoint.tenant_id == t.id,
                                                                                VolumePoint.series == "all"))
    assert points >= 8 * 24


def test_a_restarted_detector_opens_the_same_incidents(db, make_tenant, traffic):
    a, _ = make_tenant("Through")
    b, _ = make_tenant("Restarted")
    append(db, a.id, traffic)
    append(db, b.id, traffic)
    # a: one uninterrupted run. b: stopped after every few batches, rebuilt from its checkpoint.
    runner(db, batch_size=500, partition=(a.id % 7, 7)).run_until_idle()
    part = (b.id % 7, 7)
    assert part != (a.id % 7, 7)
    while True:
        r = runner(db, batch_size=500, partition=part)
        if sum(r.step() for _ in range(3)) == 0:
            break
    def strip(found):
        return {k: {**v, "detected_at": v["detected_at"].replace(tzinfo=None)} for k, v in found.items()}
    assert strip(incidents(db, a.id)) == strip(incidents(db, b.id)) != {}
    with db.session() as s:
        assert s.get(DetectorCheckpoint, f"p{part[0]}of7") is not None


def test_history_from_a_backfill_opens_nothing(db, make_tenant, traffic):
    t, _ = make_tenant("Backfilled")
    append(db, t.id, traffic, received_late=True)
    runner(db).run_until_idle()
    assert incidents(db, t.id) == {}


def test_people_s_decisions_reach_the_detector_through_the_log(db, make_tenant, traffic):
    t, _ = make_tenant("Decisions")
    cut = len(traffic) - 12
    append(db, t.id, traffic[:cut - 200])
    burst_at = min(at for at, b in traffic if int(b["detail"]["requester_id"]) >= 50_000)
    control(db, t.id, "control.release", {"version": "2.31", "deployed_at": (burst_at - timedelta(minutes=40)).isoformat(),
                                          "description": "new invoice renderer"}, traffic[cut - 200][0])
    append(db, t.id, traffic[cut - 200:])
    r = runner(db)
    r.run_until_idle()
    burst = {b["detail"]["id"] for _, b in traffic if int(b["detail"]["requester_id"]) >= 50_000}
    (inc_id, inc), = [(k, v) for k, v in incidents(db, t.id).items() if v["tickets"] & burst]
    assert inc["evidence"]["release"]["version"] == "2.31" and "after release 2.31" in inc["sentence"]
    # a person acknowledges it in the API (row + control event); the detector's mirror keeps it
    with db.session() as s:
        row = s.get(Incident, (t.id, inc_id))
        row.status, row.status_by = "acknowledged", "lead@example.com"
        s.commit()
    control(db, t.id, "control.status", {"incident_id": inc_id, "status": "acknowledged", "by": "lead@example.com"},
            traffic[-1][0] + timedelta(minutes=1))
    r.run_until_idle()
    assert r.stages[-1].engines[t.id].incidents[inc_id].status == "acknowledged"
    assert incidents(db, t.id)[inc_id]["status"] == "acknowledged"



def two_problems_seen_as_one(db, make_tenant, traffic, name: str):
    """The invoice burst and, the same night, ten customers writing about exports: one problem the detector
    sees as two incidents. Returns the tenant, its API headers, the runner, the incidents, the invoice and
    export incidents' ids, and when the log ends."""
    t, creds = make_tenant(name)
    burst_ids = {b["detail"]["id"] for _, b in traffic if int(b["detail"]["requester_id"]) >= 50_000}
    burst_at = min(at for at, b in traffic if b["detail"]["id"] in burst_ids)
    export = [(burst_at + timedelta(minutes=2 + 3 * i), payload(80_000 + i, 3, burst_at + timedelta(minutes=2 + 3 * i),
                                                                str(60_000 + i))) for i in range(10)]
    until = burst_at + timedelta(minutes=40)
    append(db, t.id, sorted([x for x in traffic if x[0] <= until] + export, key=lambda x: x[0]))
    r = runner(db)
    r.run_until_idle()
    found = incidents(db, t.id)
    invoices = next(k for k, v in found.items() if v["tickets"] & burst_ids)
    exports = next(k for k, v in found.items() if v["tickets"] & {str(80_000 + i) for i in range(10)})
    return t, {"Authorization": f"Bearer {creds.api_token}"}, r, found, invoices, exports, until


def test_a_merge_made_in_the_api_moves_the_tickets_in_the_detector_and_later_ones_follow(db, client, make_tenant,
                                                                                           traffic):
    t, headers, r, found, invoices, exports, until = two_problems_seen_as_one(db, make_tenant, traffic, "Merge")
    assert invoices != exports
    res = client.post(f"/api/v1/incidents/{exports}/merge", json={"into": invoices, "by": "lead"}, headers=headers)
    assert res.status_code == 200, res.get_json()
    r.run_until_idle()
    after = incidents(db, t.id)
    assert found[exports]["tickets"] <= after[invoices]["tickets"]
    assert after[exports]["status"] == "resolved" and after[exports]["evidence"]["merged_into_incident"] == invoices
    assert after[invoices]["evidence"]["merged_incidents"] == [exports]
    # An export ticket that arrives later joins the incident that stayed.
    at = until + timedelta(minutes=5)
    append(db, t.id, [(at, payload(90_000, 3, at, "61000"))])
    r.run_until_idle()
    assert "90000" in incidents(db, t.id)[invoices]["tickets"]


def test_a_merge_undone_in_the_api_gives_the_tickets_back_in_the_detector(db, client, make_tenant, traffic):
    t, headers, r, found, invoices, exports, until = two_problems_seen_as_one(db, make_tenant, traffic, "Unmerge")
    assert client.post(f"/api/v1/incidents/{exports}/unmerge", json={"by": "lee"}, headers=headers).status_code == 409
    res = client.post(f"/api/v1/incidents/{exports}/merge", json={"into": invoices, "by": "lead"}, headers=headers)
    assert res.status_code == 200, res.get_json()
    r.run_until_idle()
    at = until + timedelta(minutes=5)  # an export ticket arrives while merged: it joins the one that stayed
    append(db, t.id, [(at, payload(90_000, 3, at, "61000"))])
    r.run_until_idle()
    assert "90000" in incidents(db, t.id)[invoices]["tickets"]
    res = client.post(f"/api/v1/incidents/{exports}/unmerge", json={"by": "lee"}, headers=headers)
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert (body["id"], body["status"], body["status_by"]) == (exports, "open", "lee")
    assert "merged_into_incident" not in body["evidence"]
    r.run_until_idle()
    after = incidents(db, t.id)
    assert after[invoices]["tickets"] == found[invoices]["tickets"]  # its own, no export ticket
    assert after[exports]["tickets"] == found[exports]["tickets"] | {"90000"}
    assert after[exports]["status"] == "open" and "merged_incidents" not in after[invoices]["evidence"]
    history = client.get(f"/api/v1/incidents/{exports}", headers=headers).get_json()["history"]
    assert [h["text"] for h in history if h["event"] in ("merged", "unmerged")] == [
        f"Merged into incident #{invoices} by lead", f"Merge into incident #{invoices} undone by lee"]
    # A later export ticket joins the export incident again; the undo cannot be repeated.
    at += timedelta(minutes=5)
    append(db, t.id, [(at, payload(90_001, 3, at, "61001"))])
    r.run_until_idle()
    assert "90001" in incidents(db, t.id)[exports]["tickets"]
    res = client.post(f"/api/v1/incidents/{exports}/unmerge", json={"by": "lee"}, headers=headers)
    assert res.status_code == 409 and "was not merged" in res.get_json()["error"]["message"]


def test_an_acknowledgement_in_the_api_reaches_the_outbox_through_the_detector(db, client, make_tenant, traffic):
    t, creds = make_tenant("Ack")
    burst_ids = {b["detail"]["id"] for _, b in traffic if int(b["detail"]["requester_id"]) >= 50_000}
    burst_at = min(at for at, b in traffic if b["detail"]["id"] in burst_ids)
    append(db, t.id, [x for x in traffic if x[0] <= burst_at + timedelta(minutes=40)])
    r = runner(db)
    r.run_until_idle()
    inc_id = next(k for k, v in incidents(db, t.id).items() if v["tickets"] & burst_ids)
    headers = {"Authorization": f"Bearer {creds.api_token}"}
    res = client.patch(f"/api/v1/incidents/{inc_id}/status", json={"status": "acknowledged", "by": "Dana"},
                       headers=headers)
    assert res.status_code == 200, res.get_json()
    r.run_until_idle()
    r.run_until_idle()  # read again: nothing more to tell

    def told() -> list[tuple[str, str]]:
        with db.session() as s:
            return [(n.event, n.payload["status_by"]) for n in s.scalars(
                select(Notification).where(Notification.tenant_id == t.id, Notification.incident_id == inc_id)
                .order_by(Notification.seq))]

    assert told()[0][0] == "opened" and told()[-1] == ("acknowledged", "Dana")
    assert [e for e, _ in told()].count("acknowledged") == 1
    # resolved by hand, then reopened by another person: the thread hears both, each once
    for status, by in (("resolved", "Dana"), ("open", "Lee")):
        res = client.patch(f"/api/v1/incidents/{inc_id}/status", json={"status": status, "by": by}, headers=headers)
        assert res.status_code == 200, res.get_json()
        r.run_until_idle()
    r.run_until_idle()
    assert told()[-2:] == [("resolved", "Dana"), ("reopened", "Lee")]
    # acknowledged, then taken back ("Back to open"), then acknowledged again: the thread and its parent
    # say open between the two acknowledgements instead of hearing two acknowledgements in a row
    for status, by in (("acknowledged", "Lee"), ("open", "Kim"), ("acknowledged", "Kim")):
        res = client.patch(f"/api/v1/incidents/{inc_id}/status", json={"status": status, "by": by}, headers=headers)
        assert res.status_code == 200, res.get_json()
        r.run_until_idle()
    r.run_until_idle()
    assert told()[-3:] == [("acknowledged", "Lee"), ("reopened", "Kim"), ("acknowledged", "Kim")]


def test_a_backtest_reads_the_vectors_the_detector_stored_and_finds_the_same_incidents(db, make_tenant, traffic):
    from server.incidents.backtest import backtest_variants
    from server.topics.models import TextVector

    t, _ = make_tenant("Vectors")
    append(db, t.id, traffic)
    r = runner(db)
    r.run_until_idle()
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(TextVector).where(TextVector.tenant_id == t.id))
        placed = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.tenant_id == t.id,
                                                                        Ticket.topic_id.is_not(None)))
    assert 0 < stored <= placed  # one row a distinct embedded text
    since = min(at for at, _ in traffic)
    cold, warm = HashingEmbedder(), HashingEmbedder()
    (fresh,) = backtest_variants(db, SqlEventLog(), t.id, since, embed=cold.embed, settings=None, variants=[None],
                                 stored_vectors=False)
    (reused,) = backtest_variants(db, SqlEventLog(), t.id, since, embed=warm.embed, settings=None, variants=[None])
    assert sum(cold.calls) == fresh.tickets and sum(warm.calls) == 0  # every text read back, none embedded
    assert fresh.incidents and [(i["kind"], i["series"], i["detected_at"], i["ticket_count"]) for i in reused.incidents] \
        == [(i["kind"], i["series"], i["detected_at"], i["ticket_count"]) for i in fresh.incidents]
    # A tenant's vectors serve that tenant only; a text the detector never embedded is embedded.
    other, _ = make_tenant("Other vectors")
    append(db, other.id, traffic[:50])
    elsewhere = HashingEmbedder()
    backtest_variants(db, SqlEventLog(), other.id, since, embed=elsewhere.embed, settings=None, variants=[None])
    assert sum(elsewhere.calls) > 0


def test_a_rise_after_a_persons_resolve_reopens_the_row_not_a_second_incident(db, client, make_tenant, traffic):
    t, creds = make_tenant("Resolved early")
    burst_ids = {b["detail"]["id"] for _, b in traffic if int(b["detail"]["requester_id"]) >= 50_000}
    burst_at = min(at for at, b in traffic if b["detail"]["id"] in burst_ids)
    until = burst_at + timedelta(minutes=40)
    append(db, t.id, [x for x in traffic if x[0] <= until])
    r = runner(db)
    r.run_until_idle()
    inc_id = next(k for k, v in incidents(db, t.id).items() if v["tickets"] & burst_ids)
    res = client.patch(f"/api/v1/incidents/{inc_id}/status", json={"status": "resolved", "by": "Dana"},
                       headers={"Authorization": f"Bearer {creds.api_token}"})
    assert res.status_code == 200, res.get_json()
    r.run_until_idle()
    more = [(until + timedelta(minutes=5 + 3 * i), payload(95_000 + i, 2, until + timedelta(minutes=5 + 3 * i),
                                                          str(70_000 + i))) for i in range(10)]
    append(db, t.id, more)
    r.run_until_idle()
    after = incidents(db, t.id)
    assert [k for k, v in after.items() if v["tickets"] & {str(95_000 + i) for i in range(10)}] == [inc_id]
    assert after[inc_id]["status"] == "open" and after[inc_id]["evidence"]["reopened"]["resolved_by"] == "Dana"
    with db.session() as s:
        events = [n.event for n in s.scalars(select(Notification).where(
            Notification.tenant_id == t.id, Notification.incident_id == inc_id).order_by(Notification.seq))]
    assert events[-2:] == ["resolved", "reopened"]


def test_backtest_reports_what_would_have_fired_without_writing(db, make_tenant, traffic, monkeypatch, database_url,
                                                                tmp_path):
    from server import cli

    t, _ = make_tenant("Backtest")
    append(db, t.id, traffic, received_late=True)  # history only: live detection opens nothing
    monkeypatch.setattr("server.understand.embed.Embedder", lambda *a, **k: HashingEmbedder())
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", "LOG_FORMAT": "text"}
    res = CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--since", "2026-02-01", "--json",
                                        "--no-progress"], env=env)
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["tickets"] == len(traffic) and report["by_kind"].get("spike", 0) >= 1
    off = CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--since", "2026-02-01", "--json",
                                        "--no-progress", "--set", "sensitivity.spike=0"], env=env)
    assert json.loads(off.output)["by_kind"].get("spike", 0) == 0
    assert incidents(db, t.id) == {}
    text = CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--since", "2026-02-01", "--no-progress",
                                         "--set", "sensitivity.spike=0", "--set", "min_requesters=4"], env=env)
    assert text.exit_code == 0 and f"Nothing would have fired for {t.slug} since 2026-02-01 00:00 UTC." in text.output
    first = min(at for at, _ in traffic)  # a day after --since: the rates are from there
    assert (f" 0 incidents (none); 0 a week (data only from {first:%Y-%m-%d %H:%M} UTC). Settings: as stored, with "
            "sensitivity.spike=0, min_requesters=4.") in " ".join(text.output.split())
    cmp = CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--since", "2026-02-01", "--no-progress",
                                        "--compare", "--set", "sensitivity.spike=0"], env=env)
    assert cmp.exit_code == 0, cmp.output
    flat = " ".join(cmp.output.split())
    assert "Stored settings: " in flat and "With sensitivity.spike=0: " in flat and "dropped" in flat
    as_json = json.loads(CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--since", "2026-02-01",
                                                       "--no-progress", "--compare", "--json", "--set",
                                                       "sensitivity.spike=0"], env=env).output)
    assert as_json["current"]["by_kind"].get("spike", 0) >= 1 and as_json["proposed"]["by_kind"].get("spike", 0) == 0
    assert as_json["removed"] >= 1
    bad = CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--set", "sensitivity.nope=1"], env=env)
    assert bad.exit_code == 2 and "sensitivity" in bad.output


def test_silences_are_checked_on_the_wall_clock_only_for_tenants_receiving_fresh_tickets(db, make_tenant, traffic):
    # Nine days of tickets reach the log while the history is still being sent: the newest are 3 h old
    # when they arrive. Draining the log at that moment must not move event time to now (the tickets of
    # the last 3 h are on their way, not missing).
    tenant, _ = make_tenant("Catching up")
    items = traffic
    wall = items[-1][0] + timedelta(hours=3)
    log = SqlEventLog()
    with db.session() as s:
        for at, body in items:
            received = wall if at > wall - LIVE_LAG else at + timedelta(seconds=5)
            log.append(s, tenant.id, [NewEvent("zendesk", "zendesk.ticket.created", body["id"], at, body)], received)
        s.commit()
    r = runner(db)
    r.run_until_idle()
    (detect,) = [st for st in r.stages if isinstance(st, DetectStage)]
    engine = detect.engines[tenant.id]
    before = engine.watermark
    detect.idle(wall)
    assert engine.watermark == before
    # The same tenant once its tickets arrive as they are written: the wall clock moves it on.
    at = items[-1][0] + timedelta(minutes=1)
    body = payload(99_999, 1, at, "4242")
    with db.session() as s:
        log.append(s, tenant.id, [NewEvent("zendesk", "zendesk.ticket.created", body["id"], at, body)],
                   at + timedelta(seconds=5))
        s.commit()
    r.run_until_idle()
    detect.idle(at + timedelta(hours=1))
    assert engine.watermark == (at + timedelta(minutes=55)).timestamp()


def test_organization_names_from_trigger_bodies_reach_the_detector(db, make_tenant):
    t, _ = make_tenant("Named")
    with db.session() as s:
        for i in range(3):
            at = START + timedelta(minutes=i)
            stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            body = {"ticket_id": str(7000 + i), "event": "created", "subject": "SSO login fails",
                    "description": "The SAML assertion is rejected.", "organization_id": "900002",
                    "organization_name": "Kestrel Logistics", "created_at": stamp, "updated_at": stamp}
            SqlEventLog().append(s, t.id, [NewEvent("zendesk", "zendesk.trigger", f"trig-{i}", at, body)], at)
        s.commit()
    r = runner(db)
    r.run_until_idle()
    assert r.stages[-1].engines[t.id].label("organization:900002") == "Kestrel Logistics (organization 900002)"
