"""`GET /api/v1/accounts/changes`: the report from stored tickets and widget sessions, through the API."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np

from server.accounts.models import Organization
from server.topics.models import Ticket
from server.widget.models import WidgetSession


def auth(creds) -> dict:
    return {"Authorization": f"Bearer {creds.api_token}"}


def add_history(db, tenant_id: int, now: datetime, *, surge_org: str | None = None, quiet_account: str | None = None,
                seed: int = 1) -> None:
    """Nine weeks of tickets from 30 organizations (about 4 a week each) and sessions of 20 product accounts
    (about 15 users a week each); the named organization writes 20 tickets in the last week, the named
    account goes silent."""
    rng = np.random.default_rng(seed)
    n = 0
    with db.session() as s:
        for week in range(9):
            start = now - timedelta(days=7 * (9 - week))
            for org in range(30):
                count = int(rng.poisson(4))
                if week == 8 and f"org{org}" == surge_org:
                    count = 20
                for i in range(count):
                    n += 1
                    s.add(Ticket(tenant_id=tenant_id, zendesk_id=str(n), subject="x", organization_id=f"org{org}",
                                 requester_id=f"p{org}-{i % 3}",
                                 created_at=start + timedelta(seconds=float(rng.uniform(1, 7 * 86400 - 1)))))
            for acc in range(20):
                if week == 8 and f"acc{acc}" == quiet_account:
                    continue
                for u in range(int(rng.poisson(15))):
                    at = start + timedelta(seconds=float(rng.uniform(1, 7 * 86400 - 1)))
                    s.add(WidgetSession(tenant_id=tenant_id, session_id=f"w{week}-{acc}-{u}", user_id=f"u{acc}-{u}",
                                        account_id=f"acc{acc}", started_at=at, last_seen_at=at, last_path="/",
                                        features={}, p_ticket=None, stuck_pages=[], model_ready=False, outcome=None,
                                        ticket_at=None, updated_at=now))
        s.commit()


def test_the_report_flags_a_surging_organization_and_a_silent_account(client, make_tenant, db):
    t, creds = make_tenant("Acme")
    other, _ = make_tenant("Other")
    now = datetime.now(timezone.utc)
    add_history(db, t.id, now, surge_org="org7", quiet_account="acc3", seed=3)
    add_history(db, other.id, now, surge_org="org9", seed=2)  # another tenant's surge is not this one's

    assert client.get("/api/v1/accounts/changes").status_code == 401
    r = client.get("/api/v1/accounts/changes", headers=auth(creds))
    assert r.status_code == 200
    report = r.get_json()
    flagged = {(a["account_id"], a["signal"], a["direction"]) for a in report["accounts"]}
    assert ("org7", "tickets", "up") in flagged
    assert ("acc3", "users", "down") in flagged and ("acc3", "sessions", "down") in flagged
    assert all(a[0] in {"org7", "acc3"} for a in flagged), [(a["account_id"], a["observed"], a["expected"], a["history"], a["q_value"]) for a in report["accounts"]]
    org7 = next(a for a in report["accounts"] if a["account_id"] == "org7")
    assert org7["source"] == "organization" and org7["observed"] == 20 and org7["requesters"] == 3
    assert len(org7["history"]) == 8 and 2 < org7["expected"] < 7 and org7["q_value"] <= 0.05
    assert org7["sentence"].startswith("Organization org7: 20 tickets in the last 7 days, expected ")
    assert org7["sentence"].endswith("from 3 people.")
    acc3 = next(a for a in report["accounts"] if a["account_id"] == "acc3" and a["signal"] == "users")
    assert acc3["label"] == "Churn risk: fewer active users" and acc3["observed"] == 0
    assert "(-100%)" in acc3["sentence"]
    assert report["tested"] == {"tickets": 30, "sessions": 20, "users": 20}
    assert org7["name"] is None and acc3["name"] is None  # no payload has named it yet
    with db.session() as s:
        s.add(Organization(tenant_id=t.id, zendesk_id="org7", name="<b>Kestrel</b>", updated_at=now))
        s.add(Organization(tenant_id=other.id, zendesk_id="org7", name="Someone else", updated_at=now))
        s.commit()
    named = next(a for a in client.get("/api/v1/accounts/changes", headers=auth(creds)).get_json()["accounts"]
                 if a["account_id"] == "org7")
    assert named["name"] == "<b>Kestrel</b>"  # data: the page and Slack render it as text
    assert named["sentence"].startswith("Organization <b>Kestrel</b> (org7): 20 tickets in the last 7 days")
    assert report["days"] == 7 and report["weeks"] == 8 and len(report["totals"]["tickets"]["history"]) == 8


def test_a_quiet_tenant_reports_nothing_and_bad_parameters_are_400(client, tenant, db):
    t, creds = tenant
    add_history(db, t.id, datetime.now(timezone.utc), seed=4)
    report = client.get("/api/v1/accounts/changes", headers=auth(creds)).get_json()
    assert report["accounts"] == []
    for query in ("days=0", "weeks=1", "fdr=0.9", "min_ratio=0.5", "days=28&weeks=20", "days=x"):
        r = client.get(f"/api/v1/accounts/changes?{query}", headers=auth(creds))
        assert r.status_code == 400, query
        assert r.get_json()["error"]["fields"], query
    # Another window length reads the same data in other windows.
    r = client.get("/api/v1/accounts/changes?days=14&weeks=3", headers=auth(creds))
    assert r.status_code == 200 and r.get_json()["tested"]["tickets"] == 30


def test_a_day_window_is_judged_against_the_same_weekday(client, tenant, db):
    """Organization org2 writes only on Mondays (15 tickets each), the others every day: on a Monday,
    a day window against the Mondays before finds nothing unusual about org2, where comparing with
    the days just before would."""
    t, creds = tenant
    now = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)  # a Monday, late
    rng = np.random.default_rng(8)
    n = 0
    with db.session() as s:
        for day in range(57):
            start = now - timedelta(days=day + 1) + timedelta(hours=1)
            for org in range(12):
                count = (15 if start.weekday() == 0 else 0) if org == 2 else int(rng.poisson(6))
                for _ in range(count):
                    n += 1
                    s.add(Ticket(tenant_id=t.id, zendesk_id=str(n), organization_id=f"org{org}",
                                 requester_id=f"p{n % 7}", created_at=start + timedelta(seconds=float(rng.uniform(1, 86000)))))
        s.commit()

    from server.accounts.service import account_changes

    with db.session() as s:
        report = account_changes(s, t.id, now=now + timedelta(hours=1), days=1, weeks=6)
    assert report["tested"]["tickets"] == 12
    assert all(a["account_id"] != "org2" for a in report["accounts"])
    assert report["window_start"].weekday() == 0


def test_the_sidebar_context_names_the_tickets_organization_when_it_is_flagged(client, tenant, db):
    t, creds = tenant
    now = datetime.now(timezone.utc)
    add_history(db, t.id, now, surge_org="org7", seed=3)
    with db.session() as s:
        surging = s.query(Ticket).filter_by(tenant_id=t.id, organization_id="org7").order_by(Ticket.created_at.desc()).first()
        calm = s.query(Ticket).filter_by(tenant_id=t.id, organization_id="org1").first()
        ids = surging.zendesk_id, calm.zendesk_id
    note = client.get(f"/api/v1/tickets/{ids[0]}/context", headers=auth(creds)).get_json()["account"]
    assert note["account_id"] == "org7" and note["direction"] == "up" and note["days"] in (1, 7)
    assert note["label"] == "More tickets than usual" and note["sentence"].startswith("Organization org7: ")
    assert client.get(f"/api/v1/tickets/{ids[1]}/context", headers=auth(creds)).get_json()["account"] is None


def test_the_sidebar_note_reuses_a_tenants_reports_for_a_while(tenant, db):
    from server.accounts.service import NOTE_TTL, account_note

    t, _creds = tenant
    now = datetime.now(timezone.utc)
    add_history(db, t.id, now, seed=3)
    cache: dict = {}
    clock = [0.0]
    with db.session() as s:
        assert account_note(s, t.id, "org5", now=now, cache=cache, clock=lambda: clock[0]) is None
    assert set(cache) == {(t.id, 1), (t.id, 7)}
    with db.session() as s:  # org5 now writes 30 tickets in the last hour
        for i in range(30):
            s.add(Ticket(tenant_id=t.id, zendesk_id=f"9{i:05d}", organization_id="org5", requester_id=f"x{i}",
                         created_at=now - timedelta(minutes=i + 1)))
        s.commit()
    with db.session() as s:
        assert account_note(s, t.id, "org5", now=now, cache=cache, clock=lambda: clock[0]) is None  # cached
        clock[0] = NOTE_TTL + 1
        note = account_note(s, t.id, "org5", now=now, cache=cache, clock=lambda: clock[0])
    assert note is not None and note["account_id"] == "org5" and note["observed"] >= 30
    assert account_note(None, t.id, None, now=now) is None  # a ticket without an organization reads nothing


def test_the_sidebar_note_reads_the_reports_the_detector_stored(make_tenant, db, monkeypatch):
    from server.accounts import service
    from server.accounts.models import AccountReport

    t, _ = make_tenant("Acme")
    other, _ = make_tenant("Other")
    now = datetime.now(timezone.utc)
    add_history(db, t.id, now, surge_org="org7", seed=3)
    assert service.refresh_all_reports(db, partition=(t.id % 2, 2), now=now) == 1  # its partition: one tenant
    with db.session() as s:
        rows = {(r.tenant_id, r.days): r for r in s.query(AccountReport)}
        assert set(rows) == {(t.id, 1), (t.id, 7)} and other.id % 2 != t.id % 2
        assert any(f["account_id"] == "org7" for f in rows[(t.id, 7)].accounts)

    def computed(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("the note computed a report although the detector stored one")

    monkeypatch.setattr(service, "account_changes", computed)
    cache: dict = {}
    with db.session() as s:
        note = service.account_note(s, t.id, "org7", now=now + timedelta(minutes=5), cache=cache)
    assert note["account_id"] == "org7" and note["direction"] == "up" and cache == {}
    monkeypatch.undo()
    with db.session() as s:  # stored too long ago (no detector running): the note computes its own
        note = service.account_note(s, t.id, "org7", now=now + timedelta(seconds=service.NOTE_STALE + 60), cache=cache)
    assert note["account_id"] == "org7" and set(cache) == {(t.id, 1), (t.id, 7)}


def test_the_cli_prints_the_report_and_writes_a_csv(db, database_url, tenant, tmp_path):
    from click.testing import CliRunner

    from server.cli import main

    t, _creds = tenant
    add_history(db, t.id, datetime.now(timezone.utc), surge_org="org7", seed=3)
    with db.session() as s:  # an id that would be markup to a terminal table
        s.query(Ticket).filter_by(tenant_id=t.id, organization_id="org7").update({"organization_id": "[bold]org7"})
        s.add(Organization(tenant_id=t.id, zendesk_id="[bold]org7", name="[red]Kestrel", updated_at=datetime.now(timezone.utc)))
        s.commit()
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "cli-key", "LOG_FORMAT": "text",
           "COLUMNS": "200"}
    out = tmp_path / "flags.csv"
    result = CliRunner().invoke(main, ["accounts", "--tenant", t.slug, "--csv", str(out)], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "More tickets than usual" in result.output
    assert "organization [red]Kestrel ([bold]org7)" in result.output  # as text
    rows = out.read_text().splitlines()
    assert rows[0].startswith("account_id,name,source,signal,direction")
    assert rows[1].startswith("[bold]org7,[red]Kestrel,organization,tickets,up")
    as_json = CliRunner().invoke(main, ["accounts", "--tenant", t.slug, "--json", "--days", "1"], env=env)
    assert json.loads(as_json.output)["days"] == 1
    bad = CliRunner().invoke(main, ["accounts", "--tenant", t.slug, "--days", "28", "--weeks", "20"], env=env)
    assert bad.exit_code == 2 and "400 days" in bad.output
    assert CliRunner().invoke(main, ["accounts", "--tenant", "nobody"], env=env).exit_code == 1


def test_the_sidebar_context_names_the_requesters_product_account_when_it_is_flagged(client, tenant, db):
    """The requester's widget session belongs to product account acc3, which has gone silent this week:
    the context's note is that account's, churn risk."""
    from server.widget.models import WidgetTicketSessions

    t, creds = tenant
    now = datetime.now(timezone.utc)
    add_history(db, t.id, now, quiet_account="acc3", seed=3)
    with db.session() as s:
        session = s.get(WidgetSession, (t.id, "w7-3-0"))
        at = session.started_at + timedelta(minutes=30)
        s.add(Ticket(tenant_id=t.id, zendesk_id="97777", subject="Where did my data go?", organization_id=None,
                     requester_id="u3-0", created_at=at))
        s.add(WidgetTicketSessions(tenant_id=t.id, zendesk_id="97777", session_ids=["w7-3-0"], ticket_at=at,
                                   updated_at=now))
        s.commit()
    ctx = client.get("/api/v1/tickets/97777/context", headers=auth(creds)).get_json()
    assert ctx["in_app"]["sessions"][0]["account_id"] == "acc3"
    note = ctx["account"]
    assert note["source"] == "account" and note["account_id"] == "acc3" and note["direction"] == "down"
    assert note["signal"] in ("users", "sessions") and note["label"].startswith("Churn risk")
