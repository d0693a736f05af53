"""Page clues: the pages customers met friction on before writing, and which of them an incident names."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import datetime, timedelta, timezone

from scipy import special

from server.incidents.engine import Engine, IncidentState
from tests.incidents.engine_data import DAYS, T0, background, fresh, run


def test_a_page_everyone_fails_on_is_no_clue_to_an_incident_but_a_rare_one_is():
    engine, t0 = Engine(), T0.timestamp()
    for i in range(600):  # a week: half of the customers who write met friction on /upgrade first
        engine._count_pages(t0 + i * 1000.0, {"/upgrade"} | ({"/invoices"} if i % 100 == 1 else set()) if i % 2
                            else set())
    now = t0 + 600 * 1000.0
    assert 0.4 < engine.page_share("/upgrade", now) < 0.6 and engine.page_share("/invoices", now) < 0.02
    assert engine.page_share("/never-seen", now) < 0.001
    engine.watermark = now
    at = datetime.fromtimestamp(now, timezone.utc)
    inc = IncidentState(id=1, kind="spike", series="topic:4", topic_id=4, first_seen_at=at, detected_at=at,
                        requesters={f"c{i}" for i in range(8)}, evidence={"observed": 8, "expected": 1.0})
    inc.pages = {"/upgrade": ({f"s{i}" for i in range(6)}, {f"c{i}" for i in range(6)}),
                 "/invoices": ({"s1", "s2", "s3"}, {"c1", "c2", "c3"}),
                 "/team": ({"s4"}, {"c4"})}
    snap = engine.snapshot(inc)
    rows = snap["evidence"]["pages"]
    assert [(r["path"], r["users"], r["associated"]) for r in rows] == [
        ("/invoices", 3, True), ("/upgrade", 6, False), ("/team", 1, False)]  # the page it names first
    assert rows[0]["p_value"] < 1e-3 < 0.1 < rows[1]["p_value"]
    assert snap["sentence"].endswith("; 3 of its 8 customers met friction on /invoices first")
    inc.pages.pop("/invoices")
    assert "met friction" not in engine.snapshot(inc)["sentence"]  # six of eight, as usual for /upgrade
    # the shares survive a restart
    again = pickle.loads(pickle.dumps(engine))
    assert again.page_share("/upgrade", now) == engine.page_share("/upgrade", now)


def test_an_incident_is_judged_against_the_pages_share_without_its_own_tickets():
    engine, t0 = Engine(), T0.timestamp()
    for i in range(12):  # a young tenant: twelve earlier tickets, none after friction on /billing
        engine._count_pages(t0 + i * 600.0, set())
    at = datetime.fromtimestamp(t0 + 12 * 600.0, timezone.utc)
    inc = IncidentState(id=1, kind="spike", series="topic:4", topic_id=4, first_seen_at=at, detected_at=at,
                        requesters={f"c{i}" for i in range(8)}, ticket_ids=[f"t{i}" for i in range(8)],
                        evidence={"observed": 8, "expected": 1.0})
    inc.pages = {"/billing": ({f"s{i}" for i in range(5)}, {f"c{i}" for i in range(5)})}
    for i in range(8):  # its own tickets, five of them after friction there, are counted as they come
        engine._count_pages(at.timestamp() + i, {"/billing"} if i < 5 else set(), f"t{i}")
    engine.watermark = at.timestamp() + 8
    (row,) = engine.snapshot(inc)["evidence"]["pages"]
    assert row["usual_share"] < 0.01 and row["associated"]  # with them in, the share was 0.25: not named
    assert engine.page_share("/billing", engine.watermark) > 0.2


def test_a_page_the_customers_writing_beside_the_incident_meet_as_often_is_no_clue():
    """Weeks of tickets read before the widget was installed teach every page a usual share near nought;
    then everyone writing meets friction on /upgrade about as often as the incident's customers (a third
    of them, the page's ordinary failures), and a good part of them on /invoices, which is failing for
    everyone right now. Neither is a clue to this incident; a page only its customers met is."""
    engine, t0 = Engine(), T0.timestamp()
    for i in range(2000):  # three weeks of history without the widget
        engine._count_pages(t0 + i * 900.0, set(), f"h{i}")
    now = t0 + 2000 * 900.0
    assert engine.page_share("/upgrade", now) < 0.001
    for i in range(90):  # the last three hours: the widget is on
        paths = ({"/upgrade"} if i % 3 == 0 else set()) | ({"/invoices"} if i % 2 == 0 else set())
        engine._count_pages(now + i * 120.0, paths, f"o{i}")
    now += 90 * 120.0
    at = datetime.fromtimestamp(now, timezone.utc)
    inc = IncidentState(id=1, kind="concentration", series="topic:9", topic_id=9, first_seen_at=at,
                        detected_at=at, requesters={f"c{i}" for i in range(28)},
                        ticket_ids=[f"t{i}" for i in range(28)], evidence={"observed": 28, "expected": 2.0})
    inc.pages = {"/upgrade": ({f"s{i}" for i in range(10)}, {f"c{i}" for i in range(10)}),
                 "/invoices": ({f"s{i}" for i in range(10, 22)}, {f"c{i}" for i in range(10, 22)}),
                 "/export": ({f"s{i}" for i in range(30, 40)}, {f"c{i}" for i in range(18, 28)})}
    for i in range(28):  # its own tickets are left out of the share they are judged at
        engine._count_pages(now + i, {"/upgrade"} if i < 10 else set(), f"t{i}")
    engine.watermark = now + 28
    rows = {r["path"]: r for r in engine.snapshot(inc)["evidence"]["pages"]}
    assert rows["/upgrade"]["usual_share"] < 0.05 and 0.3 < rows["/upgrade"]["recent_share"] < 0.4
    # at the usual share alone, ten of 28 would have named /upgrade
    assert special.bdtrc(9, 28, rows["/upgrade"]["usual_share"]) < 1e-6
    assert rows["/upgrade"]["recent_tickets"] == 90
    assert not rows["/upgrade"]["associated"] and not rows["/invoices"]["associated"]
    assert rows["/export"]["associated"] and rows["/export"]["recent_share"] < 0.01
    assert "met friction on /export first" in engine.snapshot(inc)["sentence"]
    # six hours on, the tickets beside it have aged out of the recent window
    engine._count_pages(now + 7 * 3600.0, set(), "late")
    assert len(engine.page_recent) == 1
    # a tenant without the widget keeps no recent tickets
    quiet = Engine()
    quiet._count_pages(t0, set(), "x")
    assert "page_recent" not in quiet.__dict__


def test_tickets_teach_each_page_its_usual_share(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    day = [dataclasses.replace(o, pages=(("/upgrade", f"s-{o.ticket_id}"),))
           for o in background(1, seed=21, start=at - timedelta(days=1))]
    engine = fresh(warmed)
    before = engine.page_share("/upgrade", at.timestamp())
    run(engine, day)
    assert engine.page_share("/upgrade", at.timestamp()) > 10 * before
    assert engine.page_share("/upgrade", at.timestamp()) > 10 * engine.page_share("/invoices", at.timestamp())
