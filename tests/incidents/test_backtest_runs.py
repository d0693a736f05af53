"""Backtests through the API: queued by a request, run by the detector's backtest worker, compared
with the stored settings and with the real incidents' ratings; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from server.eventlog import SqlEventLog
from server.incidents import backtest_runs
from server.incidents.backtest import BacktestReport
from server.incidents.backtest_runs import BacktestWorker, compare
from server.incidents.models import BacktestRun
from tests.incidents.factories import auth
from tests.incidents.test_stage import append, control, incidents, runner, stream
from tests.understand.fakes import HashingEmbedder

#: The wall clock of these tests: a day after the traffic's last ticket.
NOW = datetime(2026, 2, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def traffic():
    return stream()


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr("server.incidents.views.utcnow", lambda: NOW)
    return lambda: NOW


def worker(db, clock, **kw) -> BacktestWorker:
    return BacktestWorker(db, SqlEventLog(), HashingEmbedder().embed, clock=clock, **kw)


def burst_incident(db, tenant_id: int, traffic) -> int:
    burst = {b["detail"]["id"] for _, b in traffic if int(b["detail"]["requester_id"]) >= 50_000}
    (inc_id,) = [i for i, inc in incidents(db, tenant_id).items() if inc["tickets"] & burst]
    return inc_id


def test_a_backtest_compares_proposed_settings_with_the_stored_ones_and_the_ratings(db, client, make_tenant,
                                                                                    traffic, clock):
    t, creds = make_tenant("Tuning")
    append(db, t.id, traffic)  # live: the detector opens the burst's incident
    runner(db, batch_size=400).run_until_idle()
    inc_id = burst_incident(db, t.id, traffic)
    before = incidents(db, t.id)
    assert client.post(f"/api/v1/incidents/{inc_id}/feedback", json={"verdict": "noise", "by": "lead"},
                       headers=auth(creds)).status_code == 200

    res = client.post("/api/v1/backtests", json={"days": 30, "settings": {"sensitivity": {"spike": 0}}, "by": "admin"},
                      headers=auth(creds))
    assert res.status_code == 202, res.get_json()
    run = res.get_json()
    assert res.headers["Location"] == f"/api/v1/backtests/{run['id']}"
    assert run["status"] == "queued" and run["result"] is None and run["requested_by"] == "admin"
    assert run["settings"] == {"sensitivity": {"spike": 0.0}}
    assert run["progress"]["events_total"] > len(traffic)  # the tickets and the feedback's control event

    busy = client.post("/api/v1/backtests", json={}, headers=auth(creds))
    assert busy.status_code == 409 and busy.get_json()["error"]["fields"] == {"backtest_id": run["id"]}

    assert worker(db, clock).run_once() == run["id"]
    done = client.get(f"/api/v1/backtests/{run['id']}", headers=auth(creds)).get_json()
    assert done["status"] == "done" and done["error"] is None, done["error"]
    assert done["progress"]["events_done"] == done["progress"]["events_total"]
    result = done["result"]
    assert result["tickets"] == len(traffic)
    assert result["current"]["by_kind"].get("spike", 0) >= 1
    assert result["proposed"]["by_kind"].get("spike", 0) == 0
    assert result["removed"] >= 1 and result["added"] == 0
    # The burst, which people marked noise, is among what the proposed settings drop.
    dropped = [i for i in result["incidents"] if i["in"] == "current_only" and i["actual"]]
    assert [i["actual"]["id"] for i in dropped if i["actual"]["verdict"] == "noise"] == [inc_id]
    assert result["ratings"] == {"useful_kept": 0, "useful_dropped": 0, "noise_kept": 0, "noise_dropped": 1}
    assert sum(w["current"] for w in result["weekly"]) == result["current"]["count"]
    # The tickets begin on Monday 2 February, three weeks into the 30 days asked for: the rates are
    # counted over the ten days that have tickets, and the chart's weeks (from Monday 00:00 UTC, as the
    # report's) begin with the first ticket's.
    first = min(at for at, _ in traffic).replace(microsecond=0)  # its created_at, to the second
    weeks = (NOW - first).total_seconds() / 604800
    assert result["since"] == "2026-01-13T00:00:00+00:00" and result["data_since"] == first.isoformat()
    assert result["weeks"] == round(weeks, 2) and weeks < 1.5
    assert result["current"]["per_week"] == round(result["current"]["count"] / weeks, 2)
    assert result["weekly"][0]["week_start"] == "2026-02-02T00:00:00+00:00"
    assert result["weekly"][-1]["week_start"] == "2026-02-09T00:00:00+00:00"

    # Listed without results; nothing about the tenant's real incidents changed.
    listed = client.get("/api/v1/backtests", headers=auth(creds)).get_json()["backtests"]
    assert [(b["id"], b["status"]) for b in listed] == [(run["id"], "done")] and "result" not in listed[0]
    assert {i: (r["status"], r["detected_at"]) for i, r in incidents(db, t.id).items()} == \
        {i: (r["status"], r["detected_at"]) for i, r in before.items()}
    # Another may be asked for now.
    assert client.post("/api/v1/backtests", json={"days": 7}, headers=auth(creds)).status_code == 202


def test_the_stored_settings_compared_with_themselves_change_nothing(db, client, make_tenant, traffic, clock):
    t, creds = make_tenant("Same")
    append(db, t.id, traffic, received_late=True)  # history: a backtest counts every ticket as live
    run_id = client.post("/api/v1/backtests", json={"days": 30}, headers=auth(creds)).get_json()["id"]
    worker(db, clock).run_once()
    result = client.get(f"/api/v1/backtests/{run_id}", headers=auth(creds)).get_json()["result"]
    assert result["current"] == result["proposed"] and result["current"]["count"] >= 1
    assert result["added"] == result["removed"] == 0
    assert {i["in"] for i in result["incidents"]} == {"both"}
    assert all(i["actual"] is None for i in result["incidents"])  # nothing fired live on history


@pytest.mark.parametrize("body, field", [
    ({"days": 0}, "days"), ({"days": 91}, "days"), ({"days": "30"}, "days"),
    ({"settings": {"sensitivity": {"nope": 1}}}, "settings"), ({"settings": {"min_requesters": 1}}, "settings"),
    ({"settings": {"surprise": 1}}, "settings"), ({"by": ""}, "by"), ({"extra": 1}, "extra"),
])
def test_a_bad_backtest_request_names_its_field_and_queues_nothing(db, client, make_tenant, body, field, clock):
    t, creds = make_tenant("Bad")
    res = client.post("/api/v1/backtests", json=body, headers=auth(creds))
    assert res.status_code == 400 and field in res.get_json()["error"]["fields"]
    assert client.get("/api/v1/backtests", headers=auth(creds)).get_json()["backtests"] == []


def test_backtests_belong_to_their_tenant(db, client, make_tenant, clock):
    a, ca = make_tenant("A")
    b, cb = make_tenant("B")
    run_id = client.post("/api/v1/backtests", json={}, headers=auth(ca)).get_json()["id"]
    assert client.get(f"/api/v1/backtests/{run_id}", headers=auth(cb)).status_code == 404
    assert client.delete(f"/api/v1/backtests/{run_id}", headers=auth(cb)).status_code == 404
    assert client.get("/api/v1/backtests", headers=auth(cb)).get_json()["backtests"] == []
    assert client.post("/api/v1/backtests", json={}, headers=auth(cb)).status_code == 202  # A's does not block B
    assert client.get("/api/v1/backtests").status_code == 401
    for path in ("/api/v1/backtests/0", f"/api/v1/backtests/{2**31}", f"/api/v1/backtests/{2**63}"):
        assert client.get(path, headers=auth(ca)).status_code == 404
        assert client.delete(path, headers=auth(ca)).status_code == 404


def test_a_cancelled_backtest_is_not_run_and_a_running_one_stops(db, client, make_tenant, traffic, clock):
    t, creds = make_tenant("Cancel")
    append(db, t.id, traffic, received_late=True)
    queued = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]
    cancelled = client.delete(f"/api/v1/backtests/{queued}", headers=auth(creds)).get_json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    assert worker(db, clock).run_once() is None

    running = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]
    embed = HashingEmbedder().embed
    calls = []

    def embed_then_cancel(texts):  # someone cancels while the replay is under way
        calls.append(len(texts))
        if len(calls) == 1:
            assert client.delete(f"/api/v1/backtests/{running}", headers=auth(creds)).status_code == 200
        return embed(texts)

    w = BacktestWorker(db, SqlEventLog(), embed_then_cancel, clock=clock, progress_seconds=0.0)
    assert w.run_once() == running
    row = client.get(f"/api/v1/backtests/{running}", headers=auth(creds)).get_json()
    assert row["status"] == "cancelled" and row["result"] is None
    total = row["progress"]["events_total"]
    assert row["progress"]["events_done"] < total  # it stopped at its next progress write, not at the end
    # A finished one is left as it is.
    assert client.delete(f"/api/v1/backtests/{running}", headers=auth(creds)).get_json()["status"] == "cancelled"


def test_a_backtest_whose_worker_died_runs_again_and_is_given_up_after_three_tries(db, client, make_tenant, traffic,
                                                                                  clock):
    t, creds = make_tenant("Lease")
    append(db, t.id, traffic[:200], received_late=True)
    run_id = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]

    def die() -> None:  # a worker claimed it, and its process died before the lease ran out
        with db.session() as s:
            s.execute(update(BacktestRun).where(BacktestRun.id == run_id)
                      .values(status="running", attempts=BacktestRun.attempts + 1,
                              lease_until=NOW - timedelta(seconds=1)))
            s.commit()

    die()
    assert worker(db, clock).run_once() == run_id  # requeued and run
    assert client.get(f"/api/v1/backtests/{run_id}", headers=auth(creds)).get_json()["status"] == "done"

    again = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]
    run_id = again
    for _ in range(backtest_runs.MAX_ATTEMPTS):
        die()
    assert worker(db, clock).run_once() is None
    row = client.get(f"/api/v1/backtests/{again}", headers=auth(creds)).get_json()
    assert row["status"] == "failed" and row["error"] == "stopped 3 times without finishing"


def test_a_backtest_that_raises_fails_with_its_reason_and_the_worker_goes_on(db, client, make_tenant, traffic, clock):
    t, creds = make_tenant("Broken")
    append(db, t.id, traffic[:50], received_late=True)
    first = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]

    def broken(texts):
        raise RuntimeError("the model could not be read")

    w = BacktestWorker(db, SqlEventLog(), broken, clock=clock)
    assert w.run_once() == first
    row = client.get(f"/api/v1/backtests/{first}", headers=auth(creds)).get_json()
    assert row["status"] == "failed" and row["error"] == "RuntimeError: the model could not be read"
    second = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]
    assert worker(db, clock).run_once() == second


def test_a_worker_runs_only_its_partitions_tenants(db, client, make_tenant, clock):
    t, creds = make_tenant("Partitioned")
    run_id = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]
    other = (t.id + 1) % 2
    assert worker(db, clock, partition=(other, 2)).run_once() is None
    assert worker(db, clock, partition=(t.id % 2, 2)).run_once() == run_id


def test_only_the_last_twenty_backtests_are_kept(db, client, make_tenant, clock):
    t, creds = make_tenant("Many")
    ids = []
    for _ in range(backtest_runs.KEEP + 3):
        ids.append(client.post("/api/v1/backtests", json={"days": 1}, headers=auth(creds)).get_json()["id"])
        worker(db, clock).run_once()
    with db.session() as s:
        kept = s.scalars(select(BacktestRun.id).where(BacktestRun.tenant_id == t.id).order_by(BacktestRun.id)).all()
    assert kept == ids[-backtest_runs.KEEP:]


def _inc(kind: str, series: str, first: str, detected: str, resolved: str | None = None, **kw) -> dict:
    def at(s: str) -> datetime:
        return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)

    return {"kind": kind, "series": series, "title": f"{kind} {series}", "sentence": "s", "first_seen_at": at(first),
            "detected_at": at(detected), "resolved_at": at(resolved) if resolved else None,
            "last_activity_at": at(detected), "ticket_count": 5, "requester_count": 4, "p_value": 1e-6, **kw}


def test_compare_pairs_incidents_by_kind_series_and_time():
    since, now = datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 15, tzinfo=timezone.utc)
    shared = _inc("spike", "topic:1", "2026-03-02T10:00", "2026-03-02T10:20", "2026-03-02T13:00")
    current = BacktestReport(since, 100, 80, [
        shared,
        _inc("spike", "topic:2", "2026-03-03T10:00", "2026-03-03T10:20"),
        _inc("drop", "channel:email", "2026-03-09T10:00", "2026-03-09T11:00"),
    ])
    proposed = BacktestReport(since, 100, 80, [
        {**shared, "detected_at": shared["detected_at"] + timedelta(minutes=10)},  # later, same problem
        _inc("spike", "topic:2", "2026-03-05T10:00", "2026-03-05T10:20"),  # same series, days apart: another one
        _inc("new_topic", "topic:3", "2026-03-10T01:00", "2026-03-10T01:30"),
    ])
    rating = {"id": 7, "status": "resolved", "useful": 0, "noise": 2, "verdict": "noise"}
    actual = [{**_inc("spike", "topic:2", "2026-03-03T09:50", "2026-03-03T10:15"), "rating": rating}]
    out = compare(current, proposed, actual, now)
    where = {(i["series"], i["detected_at"][:10]): i["in"] for i in out["incidents"]}
    assert where == {("topic:1", "2026-03-02"): "both", ("topic:2", "2026-03-05"): "proposed_only",
                     ("topic:3", "2026-03-10"): "proposed_only", ("topic:2", "2026-03-03"): "current_only",
                     ("channel:email", "2026-03-09"): "current_only"}
    assert (out["added"], out["removed"]) == (2, 2)
    dropped = [i for i in out["incidents"] if i["actual"]]
    assert [(i["series"], i["in"], i["actual"]["id"]) for i in dropped] == [("topic:2", "current_only", 7)]
    assert out["ratings"]["noise_dropped"] == 1
    # The period starts on a Sunday: its week is the one from Monday 23 February (UTC), empty here.
    assert out["weeks"] == 2.0 and [(w["week_start"][:10], w["current"], w["proposed"]) for w in out["weekly"]] == \
        [("2026-02-23", 0, 0), ("2026-03-02", 2, 2), ("2026-03-09", 1, 1)]
    assert out["current"] == {"count": 3, "by_kind": {"drop": 1, "spike": 2}, "per_week": 1.5}
    assert [i["detected_at"] for i in out["incidents"]] == sorted((i["detected_at"] for i in out["incidents"]),
                                                                  reverse=True)


def test_compare_counts_each_incident_in_its_week_from_monday_utc_wherever_the_period_starts():
    # A 30-day backtest asked for on a Sunday afternoon: the incidents of Friday 4 December belong to the
    # week of Monday 30 November, not to a week counted from the period's start (Friday 6 November, 15:00).
    since, now = datetime(2026, 11, 6, 15, tzinfo=timezone.utc), datetime(2026, 12, 6, 15, tzinfo=timezone.utc)
    friday = [_inc("spike", f"topic:{n}", "2026-12-04T09:00", "2026-12-04T10:00") for n in range(7)]
    out = compare(BacktestReport(since, 100, 80, friday), BacktestReport(since, 100, 80, friday[:3]), [], now)
    assert [(w["week_start"], w["current"], w["proposed"]) for w in out["weekly"]] == [
        ("2026-11-02T00:00:00+00:00", 0, 0), ("2026-11-09T00:00:00+00:00", 0, 0), ("2026-11-16T00:00:00+00:00", 0, 0),
        ("2026-11-23T00:00:00+00:00", 0, 0), ("2026-11-30T00:00:00+00:00", 7, 3)]


def test_compare_counts_incidents_a_week_over_the_span_that_has_data_and_charts_it_from_its_week():
    # 30 days asked for on Saturday 5 December; the tenant's first ticket is from Friday 20 November.
    since, now = datetime(2026, 11, 5, 1, tzinfo=timezone.utc), datetime(2026, 12, 5, 1, tzinfo=timezone.utc)
    first = datetime(2026, 11, 20, 1, tzinfo=timezone.utc)
    two = [_inc("friction", "page:/billing:failed_request", "2026-12-04T13:00", "2026-12-04T14:00"),
           _inc("spike", "topic:1", "2026-11-24T09:00", "2026-11-24T10:00")]
    out = compare(BacktestReport(since, 100, 80, two, data_from=first),
                  BacktestReport(since, 100, 80, two[:1], data_from=first), [], now)
    assert out["since"] == since.isoformat() and out["data_since"] == first.isoformat()
    assert out["weeks"] == 2.14  # 15 days, not the 30 asked for
    assert (out["current"]["per_week"], out["proposed"]["per_week"]) == (0.93, 0.47)
    assert [(w["week_start"][:10], w["current"], w["proposed"]) for w in out["weekly"]] == [
        ("2026-11-16", 0, 0), ("2026-11-23", 1, 0), ("2026-11-30", 1, 1)]

    # Data from before the period: the period is all data; none at all: the rates are over the period.
    earlier = compare(BacktestReport(since, 100, 80, two, data_from=since - timedelta(days=60)),
                      BacktestReport(since, 100, 80, two), [], now)
    assert earlier["data_since"] == since.isoformat() and earlier["current"]["per_week"] == round(2 / (30 / 7), 2)
    assert earlier["weekly"][0]["week_start"][:10] == "2026-11-02"
    empty = compare(BacktestReport(since, 3, 0, []), BacktestReport(since, 3, 0, []), [], now)
    assert empty["data_since"] is None and empty["weeks"] == round(30 / 7, 2) and len(empty["weekly"]) == 5


def test_the_command_counts_incidents_a_week_from_the_first_ticket_and_says_so(db, make_tenant, traffic,
                                                                              monkeypatch, database_url, tmp_path):
    from click.testing import CliRunner

    from server import cli
    from tests.incidents.test_stage import append

    t, _ = make_tenant("Late start")
    append(db, t.id, traffic, received_late=True)
    monkeypatch.setattr("server.understand.embed.Embedder", lambda *a, **k: HashingEmbedder())
    monkeypatch.setattr("server.metrics.utcnow", lambda: NOW)
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", "LOG_FORMAT": "text",
           "COLUMNS": "250"}
    asked = ["backtest", "--tenant", t.slug, "--since", "2026-01-13", "--no-progress"]
    first = min(at for at, _ in traffic).replace(microsecond=0)  # Monday 2 February, three weeks in
    weeks = (NOW - first).total_seconds() / 604800

    report = json.loads(CliRunner().invoke(cli.main, asked + ["--json"], env=env).output)
    assert report["since"] == "2026-01-13T00:00:00+00:00" and report["data_since"] == first.isoformat()
    n = len(report["incidents"])
    assert n >= 1
    text = " ".join(CliRunner().invoke(cli.main, asked, env=env).output.split())
    assert f"; {n / weeks:.1f} a week (data only from {first:%Y-%m-%d %H:%M} UTC). Settings: as stored." in text

    compared = " ".join(CliRunner().invoke(cli.main, asked + ["--compare"], env=env).output.split())
    assert f"Since 2026-01-13 00:00 UTC (data only from {first:%Y-%m-%d %H:%M} UTC), {len(traffic)} tickets" \
        in compared
    as_json = json.loads(CliRunner().invoke(cli.main, asked + ["--compare", "--json"], env=env).output)
    assert as_json["data_since"] == first.isoformat() and as_json["weeks"] == round(weeks, 2)


def test_both_runs_use_their_settings_throughout_whatever_the_log_says_was_in_force(db, client, make_tenant,
                                                                                   traffic, clock):
    t, creds = make_tenant("Throughout")
    # The log begins with spikes turned off; they were turned on again later (the stored settings).
    control(db, t.id, "control.settings", {"detection": {"sensitivity": {"spike": 0}}}, traffic[0][0])
    append(db, t.id, traffic, received_late=True)
    run_id = client.post("/api/v1/backtests", json={"settings": {"sensitivity": {"spike": 0}}},
                         headers=auth(creds)).get_json()["id"]
    worker(db, clock).run_once()
    result = client.get(f"/api/v1/backtests/{run_id}", headers=auth(creds)).get_json()["result"]
    # The stored settings (spikes on) throughout: the burst; the proposal (spikes off) throughout: none.
    assert result["current"]["by_kind"].get("spike", 0) >= 1
    assert result["proposed"]["by_kind"].get("spike", 0) == 0 and result["removed"] >= 1


def test_the_commands_comparison_prints_ticket_words_as_text(capsys):
    from server.incidents.cli import _print_comparison

    since = datetime(2026, 3, 1, tzinfo=timezone.utc)
    current = BacktestReport(since, 10, 8, [_inc("spike", "topic:1", "2026-03-02T10:00", "2026-03-02T10:20",
                                                  sentence="5 tickets about 'refund [/b] [email]'")])
    out = compare(current, BacktestReport(since, 10, 8, []), [], since + timedelta(days=7))
    _print_comparison(out, "acme", "sensitivity.spike=0")
    printed = " ".join(capsys.readouterr().out.split())
    assert "[/b] [email]" in printed and "dropped" in printed and "With sensitivity.spike=0: 0 incidents" in printed


def test_a_worker_whose_lease_ran_out_cannot_write_over_the_claim_that_took_over(db, client, make_tenant, traffic,
                                                                                clock):
    t, creds = make_tenant("Takeover")
    append(db, t.id, traffic[:100], received_late=True)
    run_id = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]
    slow = worker(db, clock)
    claimed = slow._claim()  # claimed, then stalled past its lease
    assert claimed.id == run_id and claimed.attempts == 1
    with db.session() as s:
        s.execute(update(BacktestRun).where(BacktestRun.id == run_id).values(lease_until=NOW - timedelta(seconds=1)))
        s.commit()
    assert worker(db, clock).run_once() == run_id  # requeued and run by another
    assert not slow._write(claimed, status="failed", error="late")  # the stalled one's write is refused
    row = client.get(f"/api/v1/backtests/{run_id}", headers=auth(creds)).get_json()
    assert row["status"] == "done" and row["error"] is None


def test_a_backtest_tries_in_app_friction_settings_on_top_of_the_widget_s(db, client, make_tenant, monkeypatch):
    from server.widget.runtime import WidgetTenantData
    from tests.conftest import TEST_SECRET_KEY
    from tests.widget.helpers import T0 as W0
    from tests.widget.test_stage import append_logged, configure, traffic

    now = W0 + timedelta(days=5)
    monkeypatch.setattr("server.incidents.views.utcnow", lambda: now)
    t, creds = make_tenant("Friction tuning")
    configure(db, t.id)  # the stored widget settings: at least 3 sessions on a page (the default)
    append_logged(db, traffic(t.id))  # a burst of failed requests on /billing from 12 sessions
    bad = client.post("/api/v1/backtests", json={"friction": {"min_sessions": 0}}, headers=auth(creds))
    assert bad.status_code == 400 and "friction" in bad.get_json()["error"]["fields"]
    res = client.post("/api/v1/backtests", json={"days": 7, "friction": {"min_sessions": 1000}, "by": "Ada"},
                      headers=auth(creds))
    assert res.status_code == 202, res.get_json()
    assert res.get_json()["settings"] == {"friction": {"min_sessions": 1000}}
    BacktestWorker(db, SqlEventLog(), HashingEmbedder().embed, widget=WidgetTenantData(db, TEST_SECRET_KEY),
                   clock=lambda: now).run_once()
    run = client.get(f"/api/v1/backtests/{res.get_json()['id']}", headers=auth(creds)).get_json()
    assert run["status"] == "done" and run["requested_by"] == "Ada"
    result = run["result"]
    assert result["current"]["by_kind"].get("friction") == 1  # the stored widget settings open the page's incident
    assert "friction" not in result["proposed"]["by_kind"] and result["removed"] >= 1  # 1,000 sessions: it does not
    assert [i["kind"] for i in result["incidents"] if i["in"] == "current_only"] == ["friction"]
    # The widget's events are data too: they begin on Monday 2 March at midnight, before the first ticket
    # (the 7 days asked for begin on 27 February): the rates are over their 5 days, the chart from that week.
    assert result["data_since"] == W0.isoformat() and result["weeks"] == round(5 / 7, 2)
    assert result["current"]["per_week"] is None  # under a week of data: no rate a week
    assert [w["week_start"] for w in result["weekly"]] == [W0.isoformat()]


def test_the_time_left_prices_tickets_and_in_app_events_apart_and_holds_steady():
    from server.incidents.backtest_runs import TimeLeft

    # A log in runs: 3,000 in-app events (0.2 ms each), then 300 tickets (20 ms each), four times over.
    runs = [("widget", 3000, 0.0002), ("tickets", 300, 0.02)] * 4
    totals = {"widget": 12_000, "tickets": 1_200}
    whole = 4 * (3000 * 0.0002 + 300 * 0.02)
    now = [0.0]
    left = TimeLeft(totals, window=60.0, clock=lambda: now[0])
    assert left.seconds_left() is None  # nothing replayed yet
    guesses, by_rate, done, seen = [], [], 0, set()
    for group, n, cost in runs:
        for _ in range(n // 100):  # batches of 100
            now[0] += 100 * cost
            left.add({group: (100, 100 * cost), "widget" if group == "tickets" else "tickets": (0, 0.0)})
            done += 100
            seen.add(group)
            guess = left.seconds_left()
            if seen != {"widget", "tickets"}:
                assert guess is None  # the tickets' cost is not known yet
                continue
            guesses.append(now[0] + guess)
            by_rate.append(now[0] + (13_200 - done) * now[0] / done)  # events a second since the start
    assert all(abs(g - whole) < 0.01 * whole for g in guesses), (min(guesses), max(guesses), whole)
    assert max(by_rate) / min(by_rate) > 2  # what a rate of events a second made of the same run


def test_a_running_backtest_says_about_how_long_it_has_left(db, client, make_tenant, traffic, clock, monkeypatch):
    from server.incidents import backtest

    events_of = backtest.events_of
    monkeypatch.setattr(backtest, "events_of", lambda *a: events_of(*a, batch=100))  # progress after each 100
    t, creds = make_tenant("Time left")
    append(db, t.id, traffic, received_late=True)
    run_id = client.post("/api/v1/backtests", json={}, headers=auth(creds)).get_json()["id"]
    embed, seen = HashingEmbedder().embed, []

    def embed_and_look(texts):  # read the run as the page does, while the replay is under way
        seen.append(client.get(f"/api/v1/backtests/{run_id}", headers=auth(creds)).get_json())
        return embed(texts)

    assert BacktestWorker(db, SqlEventLog(), embed_and_look, clock=clock, progress_seconds=0.0).run_once() == run_id
    later = [r for r in seen if r["progress"]["events_done"]]
    assert later and all(r["status"] == "running" and r["result"] is None for r in later)
    assert all(isinstance(r["progress"]["seconds_left"], float) and r["progress"]["seconds_left"] >= 0
               for r in later)
    assert seen[0]["progress"]["seconds_left"] is None  # nothing replayed yet
    done = client.get(f"/api/v1/backtests/{run_id}", headers=auth(creds)).get_json()
    assert done["status"] == "done" and done["progress"]["seconds_left"] is None and done["result"]["tickets"]
