"""The widget stage in the detector process: log in, rows out, replay from a checkpoint, and friction
pages on ticket incidents."""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timedelta

from sqlalchemy import select

from server.eventlog import SqlEventLog
from server.eventlog.log import NewEvent
from server.incidents.models import Incident, Notification
from server.pipeline import Runner
from server.pipeline.models import DetectorCheckpoint
from server.pipeline.registry import stage_factory
from server.widget import service
from server.widget.models import WidgetDecision, WidgetSession
from server.widget.stage import WidgetStage
from tests.conftest import TEST_SECRET_KEY
from tests.incidents.factories import add_incident, auth
from tests.incidents.test_stage import append as append_tickets
from tests.incidents.test_stage import incidents, stream
from tests.understand.fakes import HashingEmbedder
from tests.widget.helpers import T0, Log, failing

SETTINGS = {"ticket_user_keys": ["requester_id"], "friction": {"warmup_hours": 12},
            "cold_start": {"min_outcomes": 30, "min_positives": 5}}


def runner(db, **kw) -> Runner:
    factory = stage_factory(db, embed=HashingEmbedder().embed, topic_params={"assign_threshold": 0.5},
                            secret_key=TEST_SECRET_KEY)
    return Runner(db, SqlEventLog(), factory, **kw)


def configure(db, tenant_id, settings=SETTINGS):
    with db.session() as s:
        service.put_settings(s, SqlEventLog(), tenant_id, settings, now=T0 - timedelta(days=1))


def traffic(tenant_id: int, days: int = 3, seed: int = 5):
    """Sessions on /billing over a few days (some stuck, some writing in), then a burst of failures there."""
    rng, log = random.Random(seed), Log(tenant_id)
    out = []
    for i in range(days * 60):
        at = T0 + timedelta(minutes=24 * i)
        user = str(7000 + i)
        if rng.random() < 0.3:
            out += failing(log, f"s{i}", at, n=rng.randint(3, 5), user_id=user)
            if rng.random() < 0.7:
                out.append(log.ticket(90_000 + i, at + timedelta(hours=rng.uniform(0.2, 10)), requester_id=user))
        else:
            out += [log.widget(f"s{i}", "page_view", at, "/billing", user_id=user),  # the page works for most
                    log.widget(f"s{i}", "click", at + timedelta(seconds=4), "/billing", user_id=user)]
    burst = T0 + timedelta(days=days, hours=1)
    for j in range(12):
        out += failing(log, f"b{j}", burst + timedelta(minutes=2 * j), n=2, user_id=str(8000 + j))
    return sorted(out, key=lambda e: (e.event_time, e.offset))


def append_logged(db, events) -> None:
    log = SqlEventLog()
    with db.session() as s:
        for e in events:
            log.append(s, e.tenant_id, [NewEvent(e.source, e.kind, e.idempotency_key, e.event_time, e.payload)],
                       e.received_at)
        s.commit()


def summary(stage: WidgetStage) -> dict:
    out = {}
    for tenant_id, tw in stage.tenants.items():
        lr = tw.classifier.model["LogisticRegression"]
        out[tenant_id] = {
            "sessions": {sid: (t.features.to_json(), t.outcome, t.ticket_at, t.p, t.features.user_id)
                         for sid, t in tw.sessions.items()},
            "weights": {k: round(v, 9) for k, v in lr.weights.items()},
            "outcomes": (tw.classifier.outcomes, tw.classifier.positives),
            "series": {k: (s.count, s.hours, round(s.mean.get(), 9)) for k, s in tw.detector.series.items()},
            # ids come from the tenant's incident counter in the detector, from a fallback counter alone
            "incidents": [{k: v for k, v in i.snapshot().items() if k != "id"} for i in tw.incidents.incidents.values()],
            "watermark": tw.watermark,
        }
    return out


def checkpointed_widget_state(db) -> WidgetStage:
    with db.session() as s:
        saved = pickle.loads(s.get(DetectorCheckpoint, "p0of1").state)
    stage = WidgetStage()
    stage.load_state(saved["widget"])
    return stage


def test_log_to_rows_and_a_restart_from_a_checkpoint_reaches_the_same_state(db, make_tenant):
    t, _ = make_tenant("Replay")
    configure(db, t.id)
    events = traffic(t.id)
    append_logged(db, events)
    # reference: the pure stage, event by event, in log order
    with db.session() as s:
        logged = SqlEventLog().read(s, 0, 100_000)
    reference = WidgetStage(lambda _t: None)
    for e in logged:
        reference.apply(e)
    # the detector: a few batches, a "crash", a new process restoring the checkpoint, the rest
    first = runner(db, batch_size=97)
    for _ in range(4):
        first.step()
    second = runner(db, batch_size=61)
    assert second.offset == first.offset > 0
    second.run_until_idle()
    got, want = summary(checkpointed_widget_state(db)), summary(reference)
    for k in want[t.id]:
        assert got[t.id][k] == want[t.id][k], k
    tw = reference.tenant(t.id)
    assert tw.classifier.outcomes > 50 and tw.classifier.positives > 10 and tw.ready
    with db.session() as s:
        rows = {r.session_id: r for r in s.scalars(select(WidgetSession).where(WidgetSession.tenant_id == t.id))}
        friction = s.scalars(select(Incident).where(Incident.tenant_id == t.id, Incident.kind == "friction")).all()
    assert len(rows) == len(tw.sessions)
    stuck = max((r for r in rows.values() if r.stuck_pages), key=lambda r: r.last_seen_at)
    assert stuck.stuck_pages == ["/billing"] and stuck.features["pages"]["/billing"]["failures"]
    assert stuck.model_ready is True and stuck.p_ticket is not None
    calm = next(r for r in rows.values() if not r.stuck_pages and r.p_ticket is not None)
    assert max(r.p_ticket for r in rows.values() if r.stuck_pages and r.p_ticket is not None) > calm.p_ticket
    assert {r.outcome for r in rows.values()} >= {"ticket", "none"}
    # the burst of failures on /billing opened one friction incident, and the widget shows it
    assert [(i.kind, i.evidence["path"], i.evidence["signal"]) for i in friction] == [
        ("friction", "/billing", "failed_request")]
    with db.session() as s:  # Slack hears of it through the outbox, in one thread: opened early, then grown
        sent = s.scalars(select(Notification).where(Notification.tenant_id == t.id,
                                                    Notification.incident_id == friction[0].id)).all()
    assert [(n.seq, n.event, n.payload["kind"]) for n in sent] == [(0, "opened", "friction"), (1, "grew", "friction")]
    assert sent[0].payload["evidence"]["sessions"] < 12 == friction[0].evidence["sessions"]
    with db.session() as s:
        config = service.WidgetConfig.from_dict(service.stored_config(s, t.id))
        issues = service.known_issues(s, t.id, "/billing", config)
    assert issues[0]["incident_id"] == friction[0].id


def burst_after_friction(db, tenant_id: int, before: timedelta, extra=()) -> tuple[dict, dict]:
    """The sample stream's burst of tickets, each writer having failed on /invoices/123/pdf ``before`` writing
    (and ``extra`` widget events), logged in arrival order: widget events as they happen, before the tickets
    they lead to. Returns the incidents and the burst's spike."""
    configure(db, tenant_id)
    tickets = stream()
    burst = [(at, b) for at, b in tickets if int(b["detail"]["requester_id"]) >= 50_000]
    log = Log(tenant_id)
    friction = [e for at, b in burst for e in failing(log, f"w{b['detail']['requester_id']}", at - before, n=3,
                                                     page="/invoices/123/pdf", user_id=b["detail"]["requester_id"])]
    friction = sorted(friction + [e(log, burst[0][0]) for e in extra], key=lambda e: e.event_time)
    split = burst[0][0] - before - timedelta(hours=1)
    append_tickets(db, tenant_id, [(at, b) for at, b in tickets if at < split])
    append_logged(db, friction)
    append_tickets(db, tenant_id, [(at, b) for at, b in tickets if at >= split])
    runner(db, batch_size=400).run_until_idle()
    found = incidents(db, tenant_id)
    burst_ids = {b["detail"]["id"] for _, b in burst}
    return found, next(i for i in found.values() if i["tickets"] & burst_ids and i["kind"] != "friction")


def test_friction_before_tickets_names_the_page_on_the_ticket_incident(db, make_tenant):
    t, _ = make_tenant("Pages")
    def unrelated(log, first):  # someone else's rage click elsewhere, just before the burst
        return log.widget("unrelated", "rage_click", first - timedelta(minutes=5), "/team", user_id="1")

    found, spike = burst_after_friction(db, t.id, timedelta(minutes=10), extra=[unrelated])
    pages = spike["evidence"]["pages"]
    assert pages[0]["path"] == "/invoices/:id/pdf" and pages[0]["users"] >= 8 and pages[0]["sessions"] >= 8
    assert all(p["path"] != "/team" for p in pages)
    assert spike["sentence"].endswith(f"; {pages[0]['users']} of its {spike['evidence']['requesters']} customers "
                                      "met friction on /invoices/:id/pdf first")
    spike_id = next(i for i, v in found.items() if v is spike)
    with db.session() as s:  # while the incident is active, the widget shows it on that page
        s.get(Incident, (t.id, spike_id)).status = "open"
        s.commit()
        config = service.WidgetConfig.from_dict(service.stored_config(s, t.id))
        issues = service.known_issues(s, t.id, "/invoices/:id/pdf", config)
    assert [i["incident_id"] for i in issues] == [spike_id]


def test_friction_hours_before_the_tickets_names_no_page(db, make_tenant):
    """The same customers meeting the same page's failures, but three hours before writing (within the day,
    beyond FRICTION_BEFORE): that is the product's everyday friction, no clue to what they write about."""
    t, _ = make_tenant("Earlier")
    _found, spike = burst_after_friction(db, t.id, timedelta(hours=3))
    assert "pages" not in spike["evidence"] and "met friction" not in spike["sentence"]


def test_a_ticket_shows_what_its_requester_met_in_the_product(client, db, make_tenant):
    t, creds = make_tenant("InApp")
    other, other_creds = make_tenant("Other")
    configure(db, t.id)
    log = Log(t.id)
    at = T0 + timedelta(days=2)
    events = [log.widget("old", "page_view", at - timedelta(hours=30), "/home", user_id="4242")]  # over a day before
    events += failing(log, "stuck", at - timedelta(hours=3), n=3, page="/billing", user_id="4242")
    events += [log.widget("stuck", "rage_click", at - timedelta(hours=3) + timedelta(seconds=30), "/billing",
                          user_id="4242", target="button#pay"),
               log.widget("stuck", "page_view", at - timedelta(hours=3) + timedelta(seconds=40), "/account/7/cards",
                          user_id="4242")]
    events += [log.widget("calm", "page_view", at - timedelta(minutes=40), "/home", user_id="4242"),
               log.widget("anon", "rage_click", at - timedelta(minutes=30), "/billing"),
               log.widget("someone", "page_view", at - timedelta(minutes=20), "/home", user_id="5151")]
    events += [log.ticket(700, at, requester_id="4242"), log.ticket(701, at + timedelta(minutes=1), requester_id="99")]
    append_logged(db, events)
    runner(db, batch_size=5).run_until_idle()
    get = lambda zid, c=creds: client.get(f"/api/v1/tickets/{zid}/context", headers=auth(c))  # noqa: E731

    in_app = get(700).get_json()["in_app"]
    assert datetime.fromisoformat(in_app["ticket_at"]) == at
    assert [s["session_id"] for s in in_app["sessions"]] == ["calm", "stuck"]  # newest first, the day before only
    calm, stuck = in_app["sessions"]
    assert calm["minutes_before_ticket"] == 40 and calm["signals"] == {} and calm["last_path"] == "/home"
    assert stuck["minutes_before_ticket"] == 180 and stuck["signals"] == {"failed_request": 3, "rage_click": 1}
    billing = stuck["pages"][0]  # the page with friction first
    assert billing == {"path": "/billing", "views": 1, "seconds": 40, "signals": {"failed_request": 3, "rage_click": 1},
                       "failures": [{"request": "POST /api/pay 500", "count": 3}], "stuck": True, "incident": None}
    assert [p["path"] for p in stuck["pages"]] == ["/billing", "/account/:id/cards"]
    assert get(701).get_json()["in_app"] is None  # a requester the widget never saw

    with db.session() as s:  # the widget showed the stuck session a help nudge (and held another session out)
        service.put_settings(s, SqlEventLog(), t.id, {**SETTINGS, "nudges": [
            {"id": "pay", "match": "/billing*", "title": "Trouble paying?", "body": "Try another card."}]}, now=at)
        for sid, reason, minutes in (("stuck", "nudge", 170), ("calm", "holdout", 35), ("stuck", "nudge", 171)):
            s.add(WidgetDecision(tenant_id=t.id, session_id=sid, user_id="4242", path="/billing", reason=reason,
                                 nudge_id="pay", holdout=reason == "holdout", would_nudge=True, p_ticket=0.6,
                                 decided_at=at - timedelta(minutes=minutes)))
        s.add(WidgetDecision(tenant_id=t.id, session_id="gone", user_id="4242", path="/billing", reason="nudge",
                             nudge_id="old", holdout=False, would_nudge=True, p_ticket=None, decided_at=at))
        s.commit()
    sessions = {x["session_id"]: x for x in get(700).get_json()["in_app"]["sessions"]}
    assert sessions["calm"]["nudges"] == []  # held out: nothing shown
    first = {"nudge_id": "pay", "title": "Trouble paying?", "path": "/billing"}
    assert [{k: n[k] for k in first} for n in sessions["stuck"]["nudges"]] == [first, first]
    assert datetime.fromisoformat(sessions["stuck"]["nudges"][0]["at"]) == at - timedelta(minutes=171)

    add_incident(db, t.id, 1, kind="friction", series="page:/billing:failed_request", topic_id=None,
                 title="Failed requests on /billing", evidence={"path": "/billing", "signal": "failed_request"})
    add_incident(db, t.id, 2, kind="friction", series="page:/home:rage_click", topic_id=None, status="resolved",
                 evidence={"path": "/home", "signal": "rage_click"})
    pages = {p["path"]: p for s in get(700).get_json()["in_app"]["sessions"] for p in s["pages"]}
    assert pages["/billing"]["incident"] == {"id": 1, "title": "Failed requests on /billing", "status": "open"}
    assert pages["/home"]["incident"] is None  # resolved incidents are not shown
    assert get(700, other_creds).status_code == 404  # another tenant sees nothing of it


def test_backtest_replays_the_widget_too_and_takes_friction_what_ifs(db, make_tenant, monkeypatch, database_url,
                                                                     tmp_path):
    import json

    import pytest
    from click.testing import CliRunner

    from server import cli
    from server.incidents.backtest import backtest, parse_overrides

    t, _ = make_tenant("Friction backtest")
    configure(db, t.id)
    append_logged(db, traffic(t.id))
    since = T0
    report = backtest(db, SqlEventLog(), t.id, since, embed=HashingEmbedder().embed)
    friction = [i for i in report.incidents if i["kind"] == "friction"]
    assert [(i["evidence"]["path"], i["evidence"]["signal"]) for i in friction] == [("/billing", "failed_request")]
    assert report.by_kind()["friction"] == 1
    strict = backtest(db, SqlEventLog(), t.id, since, embed=HashingEmbedder().embed,
                      overrides=parse_overrides(["friction.weekly_false_alarms=0.000001"]))
    assert not [i for i in strict.incidents if i["kind"] == "friction"]  # the what-if beat the log's own settings
    with db.session() as s:  # nothing written
        assert s.scalars(select(Incident).where(Incident.tenant_id == t.id)).all() == []
    assert parse_overrides(["friction.min_sessions=5", "friction.weekly_false_alarms=0.5"]) == {
        "friction": {"min_sessions": 5, "weekly_false_alarms": 0.5}}
    for bad in ("friction.nope=1", "friction.min_sessions=2.5", "friction.warmup_hours=-1"):
        with pytest.raises(ValueError):
            parse_overrides([bad])

    monkeypatch.setattr("server.understand.embed.Embedder", lambda *a, **k: HashingEmbedder())
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", "LOG_FORMAT": "text"}
    res = CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--since", "2026-03-01", "--json",
                                        "--no-progress"], env=env)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["by_kind"]["friction"] == 1
    text = CliRunner().invoke(cli.main, ["backtest", "--tenant", t.slug, "--since", "2026-03-01", "--no-progress"],
                              env={**env, "COLUMNS": "250"})
    assert text.exit_code == 0 and "friction" in text.output and " sessions" in text.output, text.output
