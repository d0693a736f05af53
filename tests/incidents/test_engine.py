"""The detection engine on constructed ticket streams: what fires, what does not, and the lifecycle."""

from __future__ import annotations

import dataclasses
import math
import pickle
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy import special

from server.incidents.detectors.drop import _share_band, _share_lower_tail
from server.incidents.engine import Alert, Engine, IncidentState, Observation
from server.incidents.settings import DetectionSettings
from server.incidents.words import sentence

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday
#: Days of background history before each scenario (three weeks: the day-of-week profile is in use).
DAYS = 21
#: Tickets per day of each background topic (topic ids 1..6).
RATES = {1: 120.0, 2: 60.0, 3: 30.0, 4: 12.0, 5: 6.0, 6: 3.0}


def diurnal(at: datetime) -> float:
    """Business-hours peak, quiet nights, half volume at weekends (mean about 1 over a week)."""
    day = 0.25 + 1.9 * math.exp(-(((at.hour + at.minute / 60) - 14.0) / 4.0) ** 2)
    return day * (0.55 if at.weekday() >= 5 else 1.1)


def background(days: float, seed: int = 0, start: datetime = T0, rates: dict[int, float] = RATES,
               channels=("web", "email", "chat")) -> list[Observation]:
    rng = np.random.default_rng(seed)
    out: list[Observation] = []
    n = 0
    for h in range(int(days * 24)):
        hour = start + timedelta(hours=h)
        for topic, per_day in rates.items():
            for _ in range(rng.poisson(per_day / 24 * diurnal(hour))):
                n += 1
                out.append(Observation(
                    ticket_id=f"b{seed}-{n}", topic_id=topic, at=hour + timedelta(seconds=float(rng.uniform(0, 3600))),
                    requester=f"u{rng.integers(100_000)}", account=f"org{rng.integers(500)}",
                    segments={"channel": channels[int(rng.integers(len(channels)))],
                              "plan": ("free", "pro", "enterprise")[int(rng.integers(3))]},
                    sentiment=float(np.clip(rng.normal(0.0, 0.35), -1, 1)), text=f"topic {topic} ticket"))
    return sorted(out, key=lambda o: o.at)


def burst(topic: int, at: datetime, n: int, minutes: float = 30.0, prefix: str = "x", **fields) -> list[Observation]:
    step = minutes / max(n, 1)
    base = dict(account=None, segments={"channel": "web", "plan": "pro"}, sentiment=0.0, text="burst ticket")
    base.update(fields)
    return [Observation(ticket_id=f"{prefix}{i}", topic_id=topic, at=at + timedelta(minutes=step * i),
                        requester=f"{prefix}-customer-{i}", **base) for i in range(n)]


def run(engine: Engine, observations: list[Observation]) -> Engine:
    for obs in sorted(observations, key=lambda o: o.at):
        engine.observe(obs, lambda t: {"label": f"label {t}", "keywords": [f"term{t}"]})
    return engine


def opened(engine: Engine, after: datetime | None = None, kind: str | None = None):
    return [i for i in engine.incidents.values()
            if (after is None or i.detected_at >= after) and (kind is None or i.kind == kind)]


@pytest.fixture(scope="module")
def history() -> list[Observation]:
    return background(float(DAYS))


@pytest.fixture(scope="module")
def warmed(history) -> bytes:
    """An engine after three weeks of background traffic (pickled: each test gets its own copy)."""
    return pickle.dumps(run(Engine(), history))


def fresh(warmed: bytes) -> Engine:
    return pickle.loads(warmed)


def test_background_traffic_opens_at_most_a_few_incidents(warmed):
    engine = fresh(warmed)
    # three weeks, 230 tickets a day: the budget is one false alarm a week over every kind and topic.
    assert len(engine.incidents) <= 4


def test_a_spike_at_a_quiet_hour_is_found_and_the_same_rise_at_a_busy_hour_is_not(warmed):
    quiet = T0 + timedelta(days=DAYS, hours=3)  # 03:00 on a Monday
    busy = T0 + timedelta(days=DAYS, hours=14)
    # topic 1 expects about 9 customers per half hour at 14:00 and about 1 at 03:00
    night = run(fresh(warmed), background(0.5, seed=7, start=T0 + timedelta(days=DAYS)) + burst(1, quiet, 10))
    found = opened(night, after=quiet, kind="spike")
    assert [i.topic_id for i in found] == [1]
    assert abs((found[0].first_seen_at - quiet).total_seconds()) <= 600  # the onset, not the window's start
    day = run(fresh(warmed), background(0.7, seed=7, start=T0 + timedelta(days=DAYS)) + burst(1, busy, 10))
    assert not [i for i in opened(day, after=busy) if i.topic_id == 1]


def test_a_small_burst_in_a_quiet_topic_is_found_early(warmed):
    at = T0 + timedelta(days=DAYS, hours=11)
    engine = run(fresh(warmed), background(0.6, seed=8, start=T0 + timedelta(days=DAYS)) + burst(6, at, 6, minutes=40))
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 6]
    assert inc.kind == "spike"
    tickets = {o.ticket_id: o.at for o in burst(6, at, 6, minutes=40)}
    assert sum(1 for t in tickets.values() if t <= inc.detected_at) <= 5  # found within five of its tickets


def test_one_customer_writing_many_times_is_one_customer(warmed):
    at = T0 + timedelta(days=DAYS, hours=3)
    same = [Observation(ticket_id=f"r{i}", topic_id=5, at=at + timedelta(minutes=3 * i), requester="the-same-one",
                        segments={"channel": "web"}, text="again") for i in range(10)]
    engine = run(fresh(warmed), background(0.3, seed=9, start=T0 + timedelta(days=DAYS)) + same)
    assert not [i for i in opened(engine, after=at) if i.topic_id == 5]


def test_a_new_topic_that_grows_fast_is_found(warmed):
    at = T0 + timedelta(days=DAYS, hours=10)
    engine = run(fresh(warmed), background(0.5, seed=10, start=T0 + timedelta(days=DAYS)) + burst(99, at, 8, minutes=60))
    (inc,) = opened(engine, after=at, kind="new_topic")
    assert inc.topic_id == 99 and inc.evidence["top_terms"] == ["term99"]


def test_a_silent_channel_is_a_drop():
    start = T0 + timedelta(days=DAYS)
    web_heavy = ("web", "web", "email", "chat")  # the web form carries half the tickets
    engine = run(Engine(), background(float(DAYS), seed=3, channels=web_heavy))
    # the web form breaks at 09:00: no web tickets for the rest of the day
    later = [o for o in background(1.0, seed=11, start=start, channels=web_heavy)
             if not (o.segments["channel"] == "web" and o.at >= start + timedelta(hours=9))]
    run(engine, later)
    drops = opened(engine, kind="drop")
    assert [i.series for i in drops] == ["channel:web"]
    assert start + timedelta(hours=9) < drops[0].detected_at <= start + timedelta(hours=14)  # within five hours
    assert drops[0].direction == "down" and drops[0].evidence["observed"] < drops[0].evidence["lower"]


def test_a_negative_shift_in_sentiment_is_found(warmed):
    at = T0 + timedelta(days=DAYS, hours=12)
    angry = burst(2, at, 14, minutes=300, prefix="s")
    for i, o in enumerate(angry):  # arriving at the topic's usual pace: a tone change, not a spike
        angry[i] = Observation(**{**o.__dict__, "at": at + timedelta(minutes=20 * i), "sentiment": -0.5 - 0.03 * i,
                                  "text": f"angry {i}"})
    calm = [Observation(**{**o.__dict__, "at": at + timedelta(minutes=50 * i + 5), "sentiment": 0.6})
            for i, o in enumerate(burst(2, at, 4, prefix="c"))]
    engine = run(fresh(warmed), background(0.6, seed=12, start=T0 + timedelta(days=DAYS),
                                           rates={k: v for k, v in RATES.items() if k != 2}) + angry + calm)
    found = opened(engine, after=at, kind="sentiment")
    assert found and found[0].direction == "down"
    assert not opened(engine, after=at, kind="spike")
    # Its tickets are the ones below the usual tone, and its representatives the angriest of them.
    tone = {o.ticket_id: o.sentiment for o in angry + calm}
    mine = [t for t in found[0].ticket_ids if t in tone]
    assert mine and not {o.ticket_id for o in calm} & set(mine)
    reps = [r["ticket_id"] for r in found[0].representatives]
    before = [o.ticket_id for o in angry if o.at <= found[0].detected_at]
    assert reps == sorted(before, key=tone.get)[:3]
    # Its evidence is in the tone's units: the window's mean below the band of a mean of that many tickets.
    ev = found[0].evidence
    assert -1.0 <= ev["observed"] < ev["lower"] < ev["expected"] < ev["upper"] <= 1.0
    assert ev["measure"].startswith("mean sentiment") and ev["window_tickets"] >= 3
    assert sentence(found[0]).startswith(f"{ev['window_tickets']} tickets in ")
    assert ev["segments"] == [] and f" with mean sentiment {ev['observed']:+.2f} on a -1 to +1 scale; usually " in sentence(found[0])
    assert sentence(found[0]).endswith(f"; {len(found[0].ticket_ids)} tickets below the usual tone so far")
    # evidence stored before carried the tone as a segment and the ticket count as observed
    old = dataclasses.replace(found[0], evidence={**ev, "observed": 14,
                                                  "segments": [{"name": "mean_sentiment", "value": "-0.41"}]})
    assert " with mean sentiment -0.41 on a -1 to +1 scale; usually " in sentence(old)


def test_a_change_of_tone_begins_where_the_tone_turned_not_at_an_earlier_cross_ticket(warmed):
    at = T0 + timedelta(days=DAYS, hours=12)
    early = [Observation(**{**o.__dict__, "at": at - timedelta(minutes=150 - 20 * i), "sentiment": -0.6,
                            "text": f"unrelated cross {i}"}) for i, o in enumerate(burst(2, at, 2, prefix="u"))]
    usual = [Observation(**{**o.__dict__, "at": at - timedelta(minutes=110 - 18 * i), "sentiment": 0.1})
             for i, o in enumerate(burst(2, at, 6, prefix="n"))]
    angry = [Observation(**{**o.__dict__, "at": at + timedelta(minutes=20 * i), "sentiment": -0.5 - 0.03 * i,
                            "text": f"angry {i}"}) for i, o in enumerate(burst(2, at, 14, prefix="s"))]
    engine = run(fresh(warmed), background(0.6, seed=12, start=T0 + timedelta(days=DAYS),
                                           rates={k: v for k, v in RATES.items() if k != 2}) + early + usual + angry)
    (found,) = opened(engine, after=at, kind="sentiment")
    assert found.detected_at - timedelta(hours=6) < early[0].at  # they were in its window
    assert found.first_seen_at == at  # the first angry ticket, not the cross ones hours before
    assert not {o.ticket_id for o in early} & set(found.ticket_ids)
    assert {o.ticket_id for o in angry if o.at <= found.detected_at} <= set(found.ticket_ids)


def test_cross_tickets_hours_before_with_none_calm_between_do_not_start_the_change_of_tone(warmed):
    """A segment that rarely writes: three unrelated cross tickets four hours before the outage, and no
    calm ticket between them and it, add little to the outage's own run: it begins at the outage."""
    at = T0 + timedelta(days=DAYS, hours=12)
    early = [Observation(**{**o.__dict__, "at": at - timedelta(minutes=240 - 25 * i), "sentiment": -0.45,
                            "text": f"unrelated cross {i}"}) for i, o in enumerate(burst(2, at, 3, prefix="u"))]
    angry = [Observation(**{**o.__dict__, "at": at + timedelta(minutes=3 * i), "sentiment": -0.45 - 0.01 * i,
                            "text": f"angry {i}"}) for i, o in enumerate(burst(2, at, 14, prefix="s"))]
    engine = run(fresh(warmed), background(0.6, seed=12, start=T0 + timedelta(days=DAYS),
                                           rates={k: v for k, v in RATES.items() if k != 2}) + early + angry)
    (found,) = opened(engine, after=at, kind="sentiment")
    assert found.detected_at - timedelta(hours=6) < early[0].at  # they were in its window
    assert found.first_seen_at == at
    assert not {o.ticket_id for o in early} & set(found.ticket_ids)


def test_a_change_of_tone_arriving_at_random_begins_at_its_first_ticket_whatever_its_pauses():
    """Ordinary pauses inside a burst (tickets arriving at random, about one every 3 minutes) are no
    silence: the onset is never after the burst's first ticket in 300 random bursts; a silence of hours
    before the burst, after cross tickets, is one."""
    from server.incidents.state import _Ticket

    def ticket(ts: float, tone: float, i: int) -> _Ticket:
        return _Ticket(ts, f"t{i}", f"c{i}", None, {}, tone, "x", pages=())

    rng = np.random.default_rng(7)
    for _ in range(300):
        times = np.cumsum(rng.exponential(900.0, 20))
        pool = [ticket(float(t), float(rng.normal(0.1, 0.3)), i) for i, t in enumerate(times)]
        start = float(times[-1]) + 600.0
        burst_times = start + np.concatenate([[0.0], np.cumsum(rng.exponential(180.0, 9))])
        pool += [ticket(float(t), float(rng.normal(-0.6, 0.1)), 100 + i) for i, t in enumerate(burst_times)]
        # never inside the burst (calm tickets that happened to be low just before it may join the run)
        assert Engine._tone_onset(pool, 0.1, 0.3) <= start
    cross = [ticket(1000.0 + 1500.0 * i, -0.5, i) for i in range(3)]
    outage = [ticket(20000.0 + 120.0 * i, -0.5, 10 + i) for i in range(8)]
    assert Engine._tone_onset(cross + outage, 0.1, 0.3) == 20000.0
    assert Engine._tone_onset(cross + outage[:2], 0.1, 0.3) == 1000.0  # two are no run of their own


def test_a_rise_carried_by_one_plan_tier_is_a_concentration(warmed):
    at = T0 + timedelta(days=DAYS, hours=13)
    enterprise = [Observation(**{**o.__dict__, "segments": {"channel": ("web", "email", "chat")[i % 3], "plan": "enterprise"}})
                  for i, o in enumerate(burst(1, at, 24, minutes=120, prefix="e"))]
    engine = run(fresh(warmed), background(0.7, seed=13, start=T0 + timedelta(days=DAYS)) + enterprise)
    found = [i for i in opened(engine, after=at) if i.topic_id == 1]
    assert found
    segments = {(s["name"], s["value"]) for s in found[0].evidence["segments"]}
    assert ("plan", "enterprise") in segments
    # the concentration's sentence: its share is of the whole topic's tickets, and says so
    conc = next(i for i in found if i.kind == "concentration")
    seg = conc.evidence["segments"][0]
    assert f" customers in plan enterprise in 2 h about 'label 1', {round(100 * seg['share'])}% of the topic's " \
           f"tickets then (usually {round(100 * seg['baseline_share'])}%); expected " in engine.snapshot(conc)["sentence"]


def test_an_organizations_name_labels_its_incidents(warmed):
    # a customer's tickets carry its organization's name now and then (as trigger bodies do); its
    # incidents read "Kestrel Logistics (organization 900002)" rather than the id alone
    rng = np.random.default_rng(31)
    org = {"organization": "900002"}
    name = {"organization": "Kestrel <b>Logistics</b>"}
    day = T0 + timedelta(days=DAYS)
    usual = [Observation(ticket_id=f"k{i}", topic_id=1 + i % 3, at=day + timedelta(minutes=25 * i),
                         requester=f"kestrel-{i}", segments={**org, "channel": "web", "plan": "pro"},
                         sentiment=float(rng.normal(0.0, 0.3)), text="topic ticket", names=name if i % 5 == 0 else {})
             for i in range(50)]
    at = day + timedelta(hours=22)
    angry = [Observation(ticket_id=f"a{i}", topic_id=1 + i % 3, at=at + timedelta(minutes=20 * i),
                         requester=f"kestrel-angry-{i}", segments={**org, "channel": "web", "plan": "pro"},
                         sentiment=-0.8, text="angry ticket") for i in range(14)]
    engine = run(fresh(warmed), background(1.2, seed=32, start=day) + usual + angry)
    assert engine.label("organization:900002") == "Kestrel <b>Logistics</b> (organization 900002)"
    assert engine.label("organization:123") == "organization:123" and engine.label("all") == "all"
    [inc] = [i for i in opened(engine, after=at, kind="sentiment") if i.series == "organization:900002"]
    snap = engine.snapshot(inc)
    assert snap["title"] == "Sentiment falling: Kestrel <b>Logistics</b> (organization 900002)"  # a name: unquoted
    assert " on Kestrel <b>Logistics</b> (organization 900002) with mean sentiment " in snap["sentence"]
    # a concentration's segment carries the name as its label
    seg = engine._named({"name": "organization", "value": "900002", "share": 0.46})
    assert seg["label"] == "Kestrel <b>Logistics</b>"
    inc.kind, inc.series, inc.topic_id = "concentration", "topic:1", 1
    inc.evidence = {**inc.evidence, "segments": [seg], "topic_label": "sso login"}
    assert "46% from Kestrel <b>Logistics</b> (organization 900002)" in sentence(inc)  # evidence stored before
    inc.evidence["segments"] = [{**seg, "baseline_share": 0.08}]
    assert (" customers in Kestrel <b>Logistics</b> (organization 900002) in 6 h about 'sso login', 46% of the "
            "topic's tickets then (usually 8%); expected ") in sentence(inc)


def test_incident_lifecycle_attach_update_and_resolve(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = fresh(warmed)
    run(engine, background(0.1, seed=14, start=T0 + timedelta(days=DAYS)) + burst(4, at, 4))
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    assert inc.status == "open" and len(inc.ticket_ids) >= 3
    first = engine.take_changes()
    assert [n[1] for n in first["notifications"] if n[0] == inc.id] == ["opened"]
    # a renewed rise an hour later updates the same incident and grows it
    run(engine, burst(4, at + timedelta(hours=1), 12, prefix="y"))
    assert [i.id for i in opened(engine, after=at) if i.topic_id == 4] == [inc.id]
    assert {f"y{i}" for i in range(12)} <= set(inc.ticket_ids) and len(inc.requesters) >= 15
    assert set(n[1] for n in engine.take_changes()["notifications"] if n[0] == inc.id) == {"grew"}
    # back to normal for the resolve period: resolved by the detector
    run(engine, background(0.5, seed=15, start=at + timedelta(hours=1, minutes=31)))
    assert inc.status == "resolved" and inc.status_by == "detector" and inc.resolved_at is not None
    assert [n[1] for n in engine.take_changes()["notifications"] if n[0] == inc.id] == ["resolved"]


def test_people_decide_status_and_a_dismissed_problem_stays_quiet(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 8))
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    assert [n[1] for n in engine.take_changes()["notifications"] if n[0] == inc.id][0] == "opened"
    engine.set_status(inc.id, "acknowledged", "lead@example.com", at + timedelta(minutes=40))
    assert inc.status == "acknowledged" and (inc.series, "volume") in engine.active
    # the thread and a PagerDuty alert hear who is on it, once
    assert [(n[1], n[3]["status"], n[3]["status_by"]) for n in engine.take_changes()["notifications"]
            if n[0] == inc.id] == [("acknowledged", "acknowledged", "lead@example.com")]
    engine.set_status(inc.id, "acknowledged", "other@example.com", at + timedelta(minutes=41))
    assert [n for n in engine.take_changes()["notifications"] if n[0] == inc.id] == []
    engine.set_status(inc.id, "dismissed", "lead@example.com", at + timedelta(minutes=45))
    # what was announced is closed (the Slack thread, a PagerDuty alert), once
    assert [(n[1], n[3]["status"], n[3]["status_by"]) for n in engine.take_changes()["notifications"]
            if n[0] == inc.id] == [("resolved", "dismissed", "lead@example.com")]
    engine.set_status(inc.id, "resolved", "lead@example.com", at + timedelta(minutes=46))
    assert [n for n in engine.take_changes()["notifications"] if n[0] == inc.id] == []
    run(engine, burst(4, at + timedelta(hours=1), 10, prefix="z"))
    assert [i.id for i in opened(engine, after=at) if i.topic_id == 4] == [inc.id]
    # a person reopening what was announced as ended tells the thread (and PagerDuty alerts again), once
    engine.set_status(inc.id, "open", "agent@example.com", at + timedelta(hours=2))
    engine.set_status(inc.id, "acknowledged", "agent@example.com", at + timedelta(hours=2, minutes=1))
    assert [(n[1], n[3]["status"], n[3]["status_by"]) for n in engine.take_changes()["notifications"]
            if n[0] == inc.id] == [("reopened", "acknowledged", "agent@example.com"),
                                   ("acknowledged", "acknowledged", "agent@example.com")]


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


def test_a_person_merging_two_incidents_makes_one_that_later_tickets_join(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 8, account="org-a") + burst(5, at - timedelta(minutes=10), 7, prefix="w",
                                                                         account="org-b"))
    (a,) = [i for i in opened(engine, after=at - timedelta(minutes=10)) if i.topic_id == 4]
    (b,) = [i for i in opened(engine, after=at - timedelta(minutes=10)) if i.topic_id == 5]
    b_first = b.first_seen_at
    assert b_first < a.first_seen_at  # the one merged away began first: the one that stays says so after
    engine.take_changes()
    merged_at = at + timedelta(minutes=40)
    engine.merge_incidents(b.id, a.id, "lead@example.com", merged_at)
    assert (b.status, b.status_by, b.resolved_at) == ("resolved", "lead@example.com", merged_at)
    assert b.evidence["merged_into_incident"] == a.id and a.evidence["merged_incidents"] == [b.id]
    assert set(b.ticket_ids) <= set(a.ticket_ids) and b.requesters <= a.requesters
    assert a.accounts == {"org-a", "org-b"} and a.first_seen_at == b_first
    changes = engine.take_changes()
    assert {i["id"] for i in changes["incidents"]} == {a.id, b.id}
    assert {(inc_id, tid) for inc_id, tid, _ in changes["attached"]} == {(a.id, t) for t in b.ticket_ids
                                                                         if t.startswith("w")}
    assert [n[1] for n in changes["notifications"] if n[0] == b.id] == ["resolved"]
    # Later tickets on the merged incident's topic join the one that stayed; nothing new opens there.
    restarted = pickle.loads(pickle.dumps(engine))  # and a restart keeps it so
    run(restarted, burst(5, at + timedelta(minutes=50), 6, prefix="v"))
    assert {f"v{i}" for i in range(6)} <= set(a.ticket_ids) | set(restarted.incidents[a.id].ticket_ids)
    assert {f"v{i}" for i in range(6)} <= set(restarted.incidents[a.id].ticket_ids)
    assert [i.id for i in opened(restarted, after=at) if i.status != "resolved"] == [a.id]
    # The topic model merging that topic into another: the other now leads to the same incident.
    copy = pickle.loads(pickle.dumps(restarted))
    copy.merge_topic(5, 6)
    assert copy.incidents[a.id].series == "topic:4" and copy.incidents[a.id].active
    assert copy.active[("topic:6", "volume")] == a.id and ("topic:5", "volume") not in copy.active
    copy.merge_topic(4, 6)  # and its own topic into that one: still one incident, active
    assert copy.incidents[a.id].series == "topic:6" and copy.incidents[a.id].active
    # Once the one that stayed ends (and things calmed down for two hours), the merged topic is free: a later
    # rise there is a new incident.
    restarted.set_status(a.id, "resolved", "lead@example.com", at + timedelta(hours=1))
    assert restarted.incidents[a.id].id not in restarted.active.values()
    run(restarted, burst(5, at + timedelta(hours=4), 12, prefix="u"))
    new = [i for i in opened(restarted, after=at + timedelta(hours=4)) if i.topic_id == 5]
    assert len(new) == 1 and {f"u{i}" for i in range(12)} & set(new[0].ticket_ids)
    # A merge read after the other one ended: the person's decision about this one stands (it is resolved
    # as merged, as the API wrote it), and nothing moves to the ended one.
    before = restarted.snapshot(restarted.incidents[a.id])
    restarted.merge_incidents(new[0].id, a.id, "x", at + timedelta(hours=5))
    assert restarted.snapshot(restarted.incidents[a.id]) == before
    assert (new[0].status, new[0].status_by, new[0].evidence["merged_into_incident"]) == ("resolved", "x", a.id)
    assert new[0].id not in restarted.active.values()


def test_an_undone_merge_gives_back_what_it_moved_and_what_joined_through_it(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 8, account="org-a") + burst(5, at - timedelta(minutes=10), 7, prefix="w",
                                                                         account="org-b"))
    (a,) = [i for i in opened(engine, after=at - timedelta(minutes=10)) if i.topic_id == 4]
    (b,) = [i for i in opened(engine, after=at - timedelta(minutes=10)) if i.topic_id == 5]
    engine.set_status(b.id, "acknowledged", "dana", at + timedelta(minutes=30))
    a_before = (list(a.ticket_ids), set(a.requesters), set(a.accounts), a.first_seen_at)
    b_before = (list(b.ticket_ids), set(b.requesters), set(b.accounts))
    engine.merge_incidents(b.id, a.id, "lead", at + timedelta(minutes=40))
    assert b.evidence["status_before_merge"] == "acknowledged" and a.first_seen_at == b.first_seen_at
    # Tickets on b's topic join a while merged; one on a's own topic too.
    run(engine, burst(5, at + timedelta(minutes=50), 3, prefix="v", account="org-c")
        + burst(4, at + timedelta(minutes=52), 2, prefix="y"))
    assert {"v0", "v1", "v2", "y0", "y1"} <= set(a.ticket_ids)
    engine.take_changes()
    engine = pickle.loads(pickle.dumps(engine))  # the record of what moved survives a restart
    a, b = engine.incidents[a.id], engine.incidents[b.id]
    undone = at + timedelta(minutes=70)
    engine.unmerge_incidents(b.id, a.id, "acknowledged", "lee", undone)
    assert (b.status, b.status_by, b.status_changed_at, b.resolved_at) == ("acknowledged", "lee", undone, None)
    assert "merged_into_incident" not in b.evidence and "merged_incidents" not in a.evidence
    # a is as it was, plus its own later tickets; b has its own, plus those that came through its topic.
    assert a.ticket_ids == a_before[0] + ["y0", "y1"]
    assert a.requesters == a_before[1] | {"y-customer-0", "y-customer-1"} and a.accounts == a_before[2]
    assert a.first_seen_at == a_before[3]
    assert b.ticket_ids == b_before[0] + ["v0", "v1", "v2"]
    assert b.requesters == b_before[1] | {f"v-customer-{i}" for i in range(3)}
    assert b.accounts == b_before[2] | {"org-c"}
    changes = engine.take_changes()
    assert set(changes["detached"]) == {(a.id, t) for t in b_before[0] + ["v0", "v1", "v2"] if t not in a_before[0]}
    assert {(i, t) for i, t, _ in changes["attached"]} == {(b.id, t) for t in ("v0", "v1", "v2")}
    assert {i["id"] for i in changes["incidents"]} == {a.id, b.id}
    # b's topic leads to b again: a later ticket there joins b, not a.
    assert engine.active[("topic:5", "volume")] == b.id and engine.active[("topic:4", "volume")] == a.id
    run(engine, burst(5, at + timedelta(minutes=75), 1, prefix="z"))
    assert "z0" in b.ticket_ids and "z0" not in a.ticket_ids
    # Undoing again, or an undo that names another incident, changes nothing.
    before = (engine.snapshot(a), engine.snapshot(b))
    engine.unmerge_incidents(b.id, a.id, "open", "lee", undone + timedelta(minutes=1))
    engine.unmerge_incidents(a.id, b.id, "open", "lee", undone + timedelta(minutes=1))
    assert (engine.snapshot(a), engine.snapshot(b)) == before


def test_a_merge_undone_before_the_detector_wrote_it_attaches_nothing_to_the_other(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 8) + burst(5, at + timedelta(minutes=5), 7, prefix="w"))
    (a,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    (b,) = [i for i in opened(engine, after=at) if i.topic_id == 5]
    engine.take_changes()
    engine.merge_incidents(b.id, a.id, "lead", at + timedelta(minutes=40))
    engine.unmerge_incidents(b.id, a.id, "open", "lead", at + timedelta(minutes=41))  # one batch: nothing written yet
    changes = engine.take_changes()
    assert not [x for x in changes["attached"] if x[0] == a.id and x[1] in b.ticket_ids]
    assert set(b.ticket_ids).isdisjoint(a.ticket_ids) and b.active


def test_an_undone_merge_follows_a_topic_merge_made_meanwhile(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 8) + burst(5, at + timedelta(minutes=5), 7, prefix="w"))
    (a,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    (b,) = [i for i in opened(engine, after=at) if i.topic_id == 5]
    engine.merge_incidents(b.id, a.id, "lead", at + timedelta(minutes=40))
    engine.merge_topic(5, 6)  # the topic model folds b's topic into topic 6 while b is merged
    assert engine.active[("topic:6", "volume")] == a.id
    engine.unmerge_incidents(b.id, a.id, "open", "lee", at + timedelta(minutes=50))
    assert engine.active[("topic:6", "volume")] == b.id and engine.active[("topic:4", "volume")] == a.id
    assert b.active and b.status_by == "lee"


def test_a_rise_right_after_a_persons_resolve_reopens_it_and_one_after_calm_hours_is_new(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 10))
    (inc,) = opened(engine, after=at)
    resolved = at + timedelta(minutes=35)
    engine.set_status(inc.id, "resolved", "dana", resolved)
    engine.take_changes()
    # More of the same soon after: it was not over. The same incident reopens, saying so, once.
    run(engine, burst(4, at + timedelta(minutes=45), 10, prefix="m"))
    assert opened(engine, after=at) == [inc] and inc.status == "open" and inc.status_by == "detector"
    assert inc.evidence["reopened"]["resolved_by"] == "dana" and {f"m{i}" for i in range(10)} & set(inc.ticket_ids)
    assert sentence(inc).endswith(f"; reopened at {inc.status_changed_at:%H:%M} UTC: still unusual after it was "
                                  f"resolved at {resolved:%H:%M} UTC")
    assert [n[1] for n in engine.take_changes()["notifications"]] == ["reopened"]
    # A person's resolve after which the topic stays calm for hours stands: a rise the next day is new.
    engine.set_status(inc.id, "resolved", "dana", at + timedelta(hours=2))
    assert "reopened" not in inc.evidence and "reopened at" not in sentence(inc)  # her decision is the news now
    run(engine, background(1.2, seed=31, start=at + timedelta(hours=2)) + burst(4, at + timedelta(hours=26), 10, prefix="n"))
    later = [i for i in opened(engine, after=at + timedelta(hours=25)) if i.topic_id == 4]
    assert len(later) == 1 and later[0].id != inc.id and inc.status == "resolved"


def test_merges_survive_stronger_alerts_topic_merges_and_a_dismissal(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 8) + burst(6, at + timedelta(minutes=2), 6, prefix="s")
                 + burst(5, at + timedelta(minutes=5), 7, prefix="w"))
    a, c, b = ([i for i in opened(engine, after=at) if i.topic_id == t][0] for t in (4, 6, 5))
    assert a.id < c.id < b.id
    engine.merge_incidents(a.id, b.id, "lead", at + timedelta(minutes=40))  # the older one joins the newer
    # A stronger alert refreshes the evidence of the one that stayed, not what it says about merges.
    stronger = Alert(kind="spike", series="topic:5", p=1e-12, direction="up", window=3600.0, observed=30,
                     expected=2.0, lower=0, upper=5, tickets=[], segments=[])
    engine._fill_evidence(b, stronger, lambda t: {"label": f"label {t}"})
    assert b.evidence["observed"] == 30 and b.evidence["merged_incidents"] == [a.id]
    engine._fill_evidence(a, stronger, lambda t: {"label": f"label {t}"})
    assert a.evidence["merged_into_incident"] == b.id
    # The topic model merges the one that stayed's topic into topic 6, whose older incident c stays: every
    # series that led to b leads to c (the merged topic 4 too), none to the resolved b.
    copy = pickle.loads(pickle.dumps(engine))
    copy.merge_topic(5, 6)
    assert not copy.incidents[b.id].active and copy.incidents[b.id].evidence["merged_into_incident"] == c.id
    assert copy.active[("topic:4", "volume")] == c.id and copy.active[("topic:6", "volume")] == c.id
    assert all(copy.incidents[i].active for i in copy.active.values())
    # A person dismissing the one that stayed quiets the merged topic too.
    engine.set_status(b.id, "dismissed", "lead", at + timedelta(hours=1, minutes=10))
    assert ("topic:4", "volume") in engine.suppressed and b.id not in engine.active.values()
    run(engine, burst(4, at + timedelta(hours=1, minutes=20), 12, prefix="u"))
    assert not [i for i in opened(engine, after=at + timedelta(hours=1)) if i.topic_id == 4]


def test_noise_feedback_raises_the_bar_until_the_pattern_stops_alerting(warmed):
    """A recurring small burst in a quiet topic: marked noise, the same burst no longer opens anything."""
    engine = fresh(warmed)
    day = T0 + timedelta(days=DAYS)
    fired = []
    for d in range(4):
        at = day + timedelta(days=d, hours=4)
        before = set(engine.incidents)
        run(engine, background(1.0, seed=20 + d, start=day + timedelta(days=d)) + burst(5, at, 5, prefix=f"n{d}-"))
        new = [engine.incidents[i] for i in set(engine.incidents) - before if engine.incidents[i].topic_id == 5]
        fired.append(bool(new))
        for inc in new:
            engine.feedback(inc.id, "noise")
    assert fired[0] is True
    assert fired[-1] is False
    assert engine.alpha("spike", "topic:5") < engine.alpha("spike", "topic:4") / 99


def test_one_persons_marks_on_an_incident_count_once(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = run(fresh(warmed), burst(4, at, 8))
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    key = (inc.series, inc.kind)
    for _ in range(3):
        engine.feedback(inc.id, "noise", "ana")  # one person clicking three times: one step
    assert engine.noise[key] == 1 and inc.noise == 1
    engine.feedback(inc.id, "noise", "bo")
    assert engine.noise[key] == 2
    engine.feedback(inc.id, "useful", "ana")  # ana changes her mind: her step back, then one down
    assert engine.noise[key] == 0 and (inc.noise, inc.useful) == (1, 1)
    engine.feedback(inc.id, "noise", "ana")  # and back again: her useful step undone, one up
    assert engine.noise[key] == 2 and (inc.noise, inc.useful) == (2, 0)
    engine.feedback(inc.id, "noise")  # a mark without a name (an older control event) counts each time
    engine.feedback(inc.id, "noise")
    assert engine.noise[key] == 3
    # cy marked noise before marks were kept by name; changing to useful takes that step back too
    engine.noise[key] = 2
    engine.feedback(inc.id, "useful", "cy", was="noise")
    assert engine.noise[key] == 0 and engine.incidents[inc.id].__dict__["marks"]["cy"] == ("useful", -1)


def test_the_threshold_shrinks_as_more_series_are_tested():
    small = Engine()
    big = Engine()
    run(small, background(3.0, seed=30, rates={1: 50.0, 2: 50.0}))
    run(big, background(3.0, seed=30, rates={k: 5.0 for k in range(1, 41)}))
    assert big.alpha("spike", "topic:1") < small.alpha("spike", "topic:1")


def test_after_a_backfill_the_threshold_counts_tests_per_week_of_testing_not_of_history(history, warmed):
    """A tenant that backfilled three weeks and then went live a day ago has tested for a day: its test
    count is scaled to a week from that day, so its threshold is about that of a tenant live all along.
    Scaled from the first backfilled ticket instead, one day's tests would pass for a week's, and the
    threshold would be several times too loose in the very week people first judge the alerts."""
    day = background(1.0, seed=31, start=T0 + timedelta(days=DAYS))
    backfilled = run(Engine(), [Observation(**{**o.__dict__, "live": False}) for o in history] + day)
    always = run(fresh(warmed), day)
    ratio = backfilled.alpha("spike", "topic:1") / always.alpha("spike", "topic:1")
    assert 0.5 < ratio < 2.0, ratio
    assert always._test_count("spike") > 4 * backfilled._test_count("spike")  # it did test far less


def test_a_checkpoint_without_the_first_test_times_keeps_its_threshold(warmed):
    """A checkpoint written before the engine kept each kind's first test time: its week of test counts
    is still a week's, not an hour's scaled up 168 times."""
    day = background(0.2, seed=32, start=T0 + timedelta(days=DAYS))
    current = run(fresh(warmed), day)
    old = fresh(warmed)
    del old.__dict__["tests_since"]
    run(old, day)
    assert old.alpha("spike", "topic:1") == pytest.approx(current.alpha("spike", "topic:1"), rel=0.05)


def test_sensitivity_zero_turns_a_kind_off(warmed):
    engine = fresh(warmed)
    engine.configure(DetectionSettings.from_dict({"sensitivity": {"spike": 0}}))
    at = T0 + timedelta(days=DAYS, hours=3)
    run(engine, burst(1, at, 25))
    assert not opened(engine, after=at, kind="spike")


def test_evidence_names_the_release_before_the_incident(warmed):
    engine = fresh(warmed)
    at = T0 + timedelta(days=DAYS, hours=3)
    engine.release("2.31", at - timedelta(minutes=40), "invoice renderer")
    run(engine, burst(3, at, 10))
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 3]
    assert inc.evidence["release"]["version"] == "2.31"
    snap = engine.snapshot(inc)
    assert "after release 2.31" in snap["sentence"] and "label 3" in snap["sentence"]
    assert snap["evidence"]["lower"] <= snap["evidence"]["expected"] <= snap["evidence"]["upper"]


def test_a_backfilled_history_teaches_but_opens_nothing(history):
    engine = Engine()
    run(engine, [Observation(**{**o.__dict__, "live": False}) for o in history] + [
        Observation(**{**o.__dict__, "live": False}) for o in burst(1, T0 + timedelta(days=5, hours=3), 30)])
    assert engine.incidents == {}
    assert engine.series["topic:1"].hours >= (DAYS - 1) * 24


def test_a_restarted_engine_opens_the_same_incidents(history):
    stream = sorted(history + burst(4, T0 + timedelta(days=8, hours=3), 10) + burst(2, T0 + timedelta(days=9, hours=2), 12),
                    key=lambda o: o.at)
    through = run(Engine(), stream)
    half = len(stream) // 2
    first = run(Engine(), stream[:half])
    resumed = run(pickle.loads(pickle.dumps(first)), stream[half:])
    assert {i: through.snapshot(inc) for i, inc in through.incidents.items()} == \
        {i: resumed.snapshot(inc) for i, inc in resumed.incidents.items()}
    assert len(through.incidents) >= 2


def test_a_checkpoint_naming_its_classes_where_earlier_builds_kept_them_loads(history):
    """Checkpoints written before the engine was split into parts name its state's classes in
    server.incidents.engine (pickles name classes by module): they load, and the engine goes on."""
    stream = sorted(history + burst(4, T0 + timedelta(days=8, hours=3), 10), key=lambda o: o.at)
    half = len(stream) // 2
    engine = run(Engine(), stream[:half])
    raw = pickle.dumps(engine, protocol=2)  # classes as text lines: "c<module>\n<name>\n"
    old = raw.replace(b"cserver.incidents.state\n", b"cserver.incidents.engine\n")
    assert b"server.incidents.state" not in old and old.count(b"cserver.incidents.engine\n") > 3
    loaded = pickle.loads(old)
    assert type(loaded.series["all"]) is type(engine.series["all"]) and loaded.series.keys() == engine.series.keys()
    through, resumed = run(engine, stream[half:]), run(loaded, stream[half:])
    assert {i: through.snapshot(inc) for i, inc in through.incidents.items()} == \
        {i: resumed.snapshot(inc) for i, inc in resumed.incidents.items()}
    assert through.incidents


def test_merged_topics_expect_the_volume_of_both(warmed):
    engine = fresh(warmed)
    a, b = engine.series["topic:2"].share(), engine.series["topic:3"].share()
    engine.merge_topic(3, 2)
    assert "topic:3" not in engine.series
    assert engine.series["topic:2"].share() == pytest.approx(a + b, rel=0.02)
    # the merged topic's usual traffic (both topics' tickets, now placed in 2) is no spike
    at = T0 + timedelta(days=DAYS)
    later = [Observation(**{**o.__dict__, "topic_id": 2 if o.topic_id == 3 else o.topic_id})
             for o in background(1.0, seed=31, start=at)]
    run(engine, later)
    assert not [i for i in opened(engine, after=at) if i.topic_id == 2]


def _with_neighbours(observations: list[Observation], near: dict[int, tuple[int, ...]]) -> list[Observation]:
    return [Observation(**{**o.__dict__, "neighbours": near.get(o.topic_id, ())}) for o in observations]


def test_a_rise_split_over_neighbour_topics_is_found_as_a_whole(warmed):
    # One intent spread by the topic model over topics 3, 4 and 5: each gets a few more customers than
    # usual in two hours, too few to stand out alone; together they are a spike.
    at = T0 + timedelta(days=DAYS, hours=9)
    rise = burst(3, at, 5, minutes=120, prefix="a") + burst(4, at, 5, minutes=120, prefix="b") + \
        burst(5, at, 5, minutes=120, prefix="c")
    day = background(0.6, seed=41, start=T0 + timedelta(days=DAYS))
    alone = run(fresh(warmed), day + rise)
    assert not [i for i in opened(alone, after=at) if i.topic_id in (3, 4, 5)]
    near = {3: (4, 5), 4: (3, 5), 5: (3, 4)}
    together = run(fresh(warmed), day + _with_neighbours(rise, near))
    found = [i for i in opened(together, after=at) if i.topic_id in (3, 4, 5)]
    assert len(found) >= 1 and found[0].kind == "spike"
    assert {t for i in found for t in i.ticket_ids} & {o.ticket_id for o in rise}


def test_a_quiet_topics_strays_count_in_its_halo(warmed):
    # Five customers write about topic 6's problem (about three tickets a day) within 45 minutes: two
    # tickets are placed in topic 6, the three others fit no topic and start topics of their own, each
    # naming topic 6 as a neighbour. No topic has three customers, and a new topic's first ticket is no
    # evidence; topic 6 with its strays (its halo) is five customers where a fraction of one is usual.
    start = T0 + timedelta(days=DAYS)
    at = start + timedelta(hours=10)
    own = burst(6, at, 2, minutes=45, prefix="q")
    strays = [Observation(**{**o.__dict__, "topic_id": 900 + i, "neighbours": (6,)})
              for i, o in enumerate(burst(6, at + timedelta(minutes=8), 3, minutes=36, prefix="s"))]
    day = background(0.6, seed=45, start=start)
    ids = {o.ticket_id for o in own + strays}
    found = [i for i in opened(run(fresh(warmed), day + own + strays), after=at) if ids & set(i.ticket_ids)]
    assert [(i.kind, i.series) for i in found] == [("spike", "topic:6")]
    assert len(ids & set(found[0].ticket_ids)) >= 4
    # the same tickets naming no neighbour: nothing ties them together
    alone = [Observation(**{**o.__dict__, "neighbours": ()}) for o in strays]
    assert not [i for i in opened(run(fresh(warmed), day + own + alone), after=at) if ids & set(i.ticket_ids)]


def test_a_busy_topics_borderline_tickets_are_not_a_quiet_neighbours_halo(warmed):
    # From 10:00 every ticket of topic 1 (120 a day) names topic 6 (3 a day) as a neighbour: they were
    # placed in an established topic, so they count there and not in topic 6's halo.
    start = T0 + timedelta(days=DAYS)
    day = [Observation(**{**o.__dict__, "neighbours": (6,)}) if o.topic_id == 1 and o.at >= start + timedelta(hours=10)
           else o for o in background(0.7, seed=46, start=start)]
    engine = run(fresh(warmed), day)
    assert not [i for i in opened(engine, after=start) if i.topic_id in (1, 6)]
    halo, topic = engine.halos["halo:6"], engine.series["topic:6"]
    assert halo.seen == topic.seen


def test_merged_topics_merge_their_halos(warmed):
    engine = fresh(warmed)
    a, b = engine.halos["halo:5"].share(), engine.halos["halo:6"].share()
    engine.merge_topic(6, 5)
    assert "halo:6" not in engine.halos
    assert engine.halos["halo:5"].share() == pytest.approx(a + b, rel=0.05)


def test_tickets_moving_between_neighbour_topics_open_nothing(warmed):
    # For three hours, customers who would write in topic 2 land in topic 5 instead (the topic model
    # moved the boundary): topic 5 rises, but with its neighbour the volume is as usual.
    start = T0 + timedelta(days=DAYS)
    at = start + timedelta(hours=11)
    day = background(0.7, seed=43, start=start)
    moved = [Observation(**{**o.__dict__, "topic_id": 5}) if o.topic_id == 2 and at <= o.at < at + timedelta(hours=3)
             else o for o in day]
    alone = run(fresh(warmed), moved)
    assert [i for i in opened(alone, after=at) if i.topic_id == 5]  # without its neighbours: a false alarm
    near = {2: (5,), 5: (2,)}
    together = run(fresh(warmed), _with_neighbours(moved, near))
    assert not [i for i in opened(together, after=at) if i.topic_id in (2, 5)]


def test_a_topic_that_absorbs_a_young_topic_keeps_its_own_expectation(warmed):
    engine = fresh(warmed)
    # not an incident (an incident would hold the young topic's share still): the merge is under test
    engine.configure(DetectionSettings.from_dict({"sensitivity": {"new_topic": 0}}))
    start = T0 + timedelta(days=DAYS)
    run(engine, background(0.25, seed=44, start=start) + burst(77, start + timedelta(hours=2), 3, minutes=20))
    engine.advance(start + timedelta(hours=6))
    own, young = engine.series["topic:2"].share(), engine.series["topic:77"].share()
    assert young > 0.2 * own  # three tickets in its first hour: a young topic's share is inflated
    engine.merge_topic(77, 2)
    # relearnt from the hours both topics saw: three more tickets on two weeks of topic 2's
    assert engine.series["topic:2"].share() == pytest.approx(own, rel=0.05)


def test_a_small_channel_going_silent_is_found_from_its_share_of_all_tickets():
    # api carries a fifth of the tickets: too few for its own hourly baseline to tell a silence from a
    # quiet spell soon, but against the day's other tickets its absence is plain.
    start = T0 + timedelta(days=DAYS)
    mix = ("web",) * 4 + ("email",) * 3 + ("chat", "api", "api")
    engine = run(Engine(), background(float(DAYS), seed=3, channels=mix))
    later = [o for o in background(1.0, seed=11, start=start, channels=mix)
             if not (o.segments["channel"] == "api" and o.at >= start + timedelta(hours=10))]
    run(engine, later)
    drops = opened(engine, kind="drop")
    assert [i.series for i in drops] == ["channel:api"]
    assert start + timedelta(hours=10) < drops[0].detected_at <= start + timedelta(hours=14)  # its own baseline: never
    assert engine.series["channel:api"].mix() == pytest.approx(0.2, abs=0.03)
    # its evidence band is the count expected among the window's tickets: a silence lies below it
    ev = drops[0].evidence
    assert ev["observed"] == 0 < ev["lower"] <= ev["expected"] <= ev["upper"]


def test_share_tail_and_band_are_the_beta_binomials():
    from scipy import stats

    rng = np.random.default_rng(5)
    for _ in range(200):
        n_all = int(rng.integers(1, 300))
        share, rho = float(rng.uniform(0.01, 0.9)), float(rng.uniform(0.002, 0.4))
        a, b = share * (1 / rho - 1), (1 - share) * (1 / rho - 1)
        n = int(rng.integers(0, n_all + 1))
        assert _share_lower_tail(n, n_all, share, rho) == pytest.approx(stats.betabinom.cdf(n, n_all, a, b), rel=1e-9, abs=1e-300)
        assert _share_band(n_all, share, rho) == (int(stats.betabinom.ppf(0.005, n_all, a, b)),
                                                  int(stats.betabinom.ppf(0.995, n_all, a, b)))


def test_an_auto_resolved_incident_that_comes_back_soon_reopens(warmed):
    at = T0 + timedelta(days=DAYS, hours=2)
    engine = fresh(warmed)
    run(engine, background(0.1, seed=14, start=T0 + timedelta(days=DAYS)) + burst(4, at, 6))
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    run(engine, background(0.25, seed=15, start=at + timedelta(minutes=31)))
    assert inc.status == "resolved" and inc.status_by == "detector"
    engine.take_changes()
    # the same rise nine hours after the first, some six after it resolved: the same incident, reopened
    again = at + timedelta(hours=9)
    run(engine, background(0.1, seed=16, start=at + timedelta(hours=6, minutes=1)) + burst(4, again, 6, prefix="z"))
    assert [i.id for i in opened(engine, after=at) if i.topic_id == 4] == [inc.id]
    assert inc.status == "open" and inc.resolved_at is None and {f"z{i}" for i in range(6)} <= set(inc.ticket_ids)
    assert [n[1] for n in engine.take_changes()["notifications"] if n[0] == inc.id] == ["reopened"]
    # once resolved for longer than REOPEN_AFTER, a rise is a new incident
    run(engine, background(0.6, seed=17, start=again + timedelta(minutes=31)))
    assert inc.status == "resolved"
    late = again + timedelta(hours=20)
    run(engine, burst(4, late, 6, prefix="w"))
    newer = [i for i in opened(engine, after=late) if i.topic_id == 4]
    assert len(newer) == 1 and newer[0].id != inc.id


def test_over_dispersion_is_learnt_from_the_busy_hours_too():
    # topic 1's hourly rate is multiplied by a gamma factor of shape 2: negative binomial, 1/r = 0.5 (the
    # residuals are clipped, so the estimate stays below that; learnt from typical hours only it was 0.21)
    rng = np.random.default_rng(21)
    out = []
    for h in range(DAYS * 24):
        hour = T0 + timedelta(hours=h)
        factor = rng.gamma(2.0, 1 / 2.0)
        for topic, per_day, f in ((1, 240.0, factor), (2, 240.0, 1.0)):
            for k in range(rng.poisson(per_day / 24 * diurnal(hour) * f)):
                out.append(Observation(ticket_id=f"d{h}-{topic}-{k}", topic_id=topic, requester=f"u{h}-{topic}-{k}",
                                       at=hour + timedelta(seconds=float(rng.uniform(0, 3600))), segments={"channel": "web"}))
    engine = Engine(DetectionSettings.from_dict({"enabled": False}))
    run(engine, out)
    assert 0.22 <= engine.series["topic:1"].inv_r() <= 0.5
    assert engine.series["topic:2"].inv_r() < 0.08  # plain Poisson apart from the shared tenant profile


def _with_vectors(observations: list[Observation], seed: int, centres: dict[int, np.ndarray]) -> list[Observation]:
    """Each ticket gets its topic's direction plus noise (tickets of one topic have cosine about 0.73)."""
    rng = np.random.default_rng(seed)
    out = []
    for o in observations:
        v = centres[o.topic_id] + 0.6 * rng.normal(size=384) / math.sqrt(384)
        out.append(Observation(**{**o.__dict__, "vector": (v / np.linalg.norm(v)).astype(np.float32)}))
    return out


@pytest.fixture(scope="module")
def warmed_with_vectors(history) -> tuple[bytes, dict[int, np.ndarray]]:
    rng = np.random.default_rng(99)
    centres = {t: (lambda v: v / np.linalg.norm(v))(rng.normal(size=384)) for t in [*RATES, 50]}
    return pickle.dumps(run(Engine(), _with_vectors(history, 1, centres))), centres


def test_after_a_merge_tickets_close_to_the_merged_incidents_join_the_one_that_stayed(warmed_with_vectors):
    blob, centres = warmed_with_vectors
    engine = pickle.loads(blob)
    at = T0 + timedelta(days=DAYS, hours=2)
    u = np.random.default_rng(5).normal(size=384)
    u = (u / np.linalg.norm(u)).astype(np.float32)
    first = _with_vectors(burst(4, at, 8), 4, centres)
    second = [Observation(**{**o.__dict__, "vector": u}) for o in burst(5, at + timedelta(minutes=5), 7, prefix="w")]
    run(engine, first + second)
    (a,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    (b,) = [i for i in opened(engine, after=at) if i.topic_id == 5]
    engine.merge_incidents(b.id, a.id, "lead", at + timedelta(minutes=40))
    # A ticket of another topic, in meaning right beside the merged incident's tickets: it joins the one
    # that stayed (before the merge it would have joined the merged one).
    run(engine, [Observation(ticket_id="near", topic_id=6, at=at + timedelta(minutes=45), requester="late-customer",
                             segments={"channel": "web"}, vector=u)])
    assert "near" in a.ticket_ids and "near" not in b.ticket_ids


def test_a_burst_scattered_over_topics_is_found_by_its_nearby_tickets(warmed_with_vectors):
    # six customers write about one new problem within 40 minutes, but the topic model put their tickets
    # in six different busy topics: no topic rose, yet the tickets are close to each other in meaning
    blob, centres = warmed_with_vectors
    at = T0 + timedelta(days=DAYS, hours=11)
    scattered = [Observation(**{**o.__dict__, "topic_id": 1 + i % 6})
                 for i, o in enumerate(burst(50, at, 6, minutes=40, prefix="n"))]
    day = background(0.6, seed=18, start=T0 + timedelta(days=DAYS))
    with_vectors = _with_vectors(day, 2, centres) + [
        Observation(**{**o.__dict__, "vector": v}) for o, v in
        zip(scattered, (x.vector for x in _with_vectors(burst(50, at, 6, minutes=40, prefix="n"), 3, centres)))]
    engine = run(pickle.loads(blob), with_vectors)
    found = [i for i in opened(engine, after=at) if {f"n{k}" for k in range(6)} & set(i.ticket_ids)]
    assert len(found) == 1 and found[0].kind == "spike"
    assert len({f"n{k}" for k in range(6)} & set(found[0].ticket_ids)) >= 3
    assert found[0].detected_at <= at + timedelta(minutes=40)
    # the same tickets without embeddings: no test can see them
    engine = run(pickle.loads(blob), [Observation(**{**o.__dict__, "vector": None}) for o in with_vectors])
    assert not [i for i in opened(engine, after=at) if {f"n{k}" for k in range(6)} & set(i.ticket_ids)]


def test_nearby_tickets_of_ordinary_traffic_open_nothing(warmed_with_vectors):
    blob, centres = warmed_with_vectors
    engine = run(pickle.loads(blob), _with_vectors(background(2.0, seed=19, start=T0 + timedelta(days=DAYS)), 4, centres))
    assert not opened(engine, after=T0 + timedelta(days=DAYS))


def test_a_young_topic_splitting_off_an_old_one_is_no_new_topic(warmed_with_vectors):
    # from 10:00 the topic model starts placing half of topic 1's tickets in a new topic 77: topic 77 gathers
    # customers fast, but tickets like these always came at this rate (its neighbourhood in meaning is flat)
    blob, centres = warmed_with_vectors
    start = T0 + timedelta(days=DAYS)
    day = _with_vectors(background(0.75, seed=20, start=start), 5, centres)
    moved = [Observation(**{**o.__dict__, "topic_id": 77}) if o.topic_id == 1 and o.at >= start + timedelta(hours=10)
             and i % 2 else o for i, o in enumerate(day)]
    assert sum(o.topic_id == 77 for o in moved) >= 15
    engine = run(pickle.loads(blob), moved)
    assert not [i for i in opened(engine, after=start) if i.topic_id == 77]
    # the same young topic without embeddings: nothing tells it from a new problem
    engine = run(pickle.loads(blob), [Observation(**{**o.__dict__, "vector": None}) for o in moved])
    assert [i.kind for i in opened(engine, after=start) if i.topic_id == 77] == ["new_topic"]


def test_a_new_problem_with_embeddings_is_still_a_new_topic(warmed_with_vectors):
    blob, centres = warmed_with_vectors
    at = T0 + timedelta(days=DAYS, hours=10)
    fresh_burst = _with_vectors(burst(50, at, 8, minutes=60), 6, centres)
    engine = run(pickle.loads(blob), _with_vectors(background(0.5, seed=10, start=T0 + timedelta(days=DAYS)), 7, centres)
                 + fresh_burst)
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 50]
    assert inc.kind == "new_topic"


def test_the_embedding_bank_keeps_the_newest_tickets_within_its_cap(monkeypatch):
    from server.incidents import state as engine_module

    monkeypatch.setattr(engine_module, "NEAR_MAX", 300)
    bank = engine_module._Bank(4)
    t0 = T0.timestamp()
    compactions, rows = 0, bank.tickets
    for i in range(2000):  # one a minute: all within NEAR_HISTORY, so only the cap forgets
        ticket = engine_module._Ticket(t0 + 60.0 * i, f"k{i}", f"u{i}", None, {}, 0.0, "")
        bank.add(np.full(4, float(i), dtype=np.float32), ticket)
        compactions, rows = compactions + (bank.tickets is not rows), bank.tickets
        assert len(bank.ts) <= 2 * 300 + 256
    assert compactions <= 2000 // 150  # forgotten rows go in batches, never one copy per ticket
    assert len(pickle.loads(pickle.dumps(bank)).ts) == len(bank.tickets)  # a checkpoint holds the rows only
    vectors, ts, tickets = bank.recent()
    assert [t.ticket_id for t in tickets] == [f"k{i}" for i in range(1700, 2000)]
    assert ts[0] == t0 + 60.0 * 1700 and vectors[-1][0] == 1999.0
    # a week later: rows past NEAR_HISTORY go at the next compaction, and the room stays bounded
    for i in range(2000, 3000):
        ticket = engine_module._Ticket(t0 + 8 * 86400.0 + i, f"k{i}", f"u{i}", None, {}, 0.0, "")
        bank.add(np.zeros(4, dtype=np.float32), ticket)
        assert len(bank.ts) <= 2 * 300 + 256
    assert [t.ticket_id for t in bank.recent()[2]] == [f"k{i}" for i in range(2700, 3000)]
    assert all(t.ts > t0 + 7 * 86400.0 for t in bank.tickets)


def test_remembered_window_forecasts_follow_what_the_baseline_learns(warmed):
    engine = fresh(warmed)
    total = engine.series["all"]
    start = T0 + timedelta(days=DAYS)
    ahead = ((start + timedelta(hours=30)).timestamp(), (start + timedelta(hours=32, minutes=20)).timestamp())
    direct = lambda: [m * frac for m, _v, frac in total._slots(*ahead)]  # noqa: E731
    before = total.hourly(*ahead)
    assert before == direct()
    assert "_hourly" not in pickle.loads(pickle.dumps(total)).__dict__  # a cache, not checkpointed state
    run(engine, background(1.0, seed=31, start=start, rates={k: 3 * v for k, v in RATES.items()}))
    after = total.hourly(*ahead)
    assert after == direct() and after != before  # a day at three times the volume moved the forecast


def test_a_dormant_topic_that_comes_back_learns_its_new_level():
    # topic 60 had twelve tickets on the first day of the history and none since: its share is near 0, so
    # every hour with a ticket is an outlier. From day 21 it gets a ticket an hour for five days: one
    # rise, then its new normal. An outlier hour teaches the share the band's edge (at least one ticket);
    # learning nothing from such hours, the topic fired again and again.
    start = T0 + timedelta(days=DAYS)
    early = [Observation(ticket_id=f"e{i}", topic_id=60, requester=f"early-{i}", at=T0 + timedelta(hours=10 + i),
                         segments={"channel": "web"}) for i in range(12)]
    engine = run(Engine(), sorted(background(float(DAYS)) + early, key=lambda o: o.at))
    assert engine.series["topic:60"].share() < 2e-3
    back = [Observation(ticket_id=f"c{i}", topic_id=60, requester=f"back-{i}", at=start + timedelta(hours=i + 0.5),
                        segments={"channel": "web"}) for i in range(5 * 24)]
    events = []
    for day in range(5):
        d0 = start + timedelta(days=day)
        run(engine, background(1.0, seed=60 + day, start=d0) + [o for o in back if d0 <= o.at < d0 + timedelta(days=1)])
        events.append([n[1] for n in engine.take_changes()["notifications"]
                       if engine.incidents[n[0]].series == "topic:60" and n[1] in ("opened", "reopened")])
    assert events[0][0] == "opened"
    assert events[-2:] == [[], []], events  # learning nothing from its outlier hours, it fired every day
    assert engine.series["topic:60"].share() > 0.02  # 24 of about 250 tickets a day, learnt in part


def test_a_new_topics_expectation_is_the_gamma_mixture_over_each_window():
    """New topics' rates differ (gamma); a window's count is then Poisson with a gamma rate, whose
    extra-Poisson variance grows with the window. The prior learnt from first-day counts (first ticket
    plus the day's others) must give each window's mean and variance, not the day's dispersion."""
    rng = np.random.default_rng(11)
    rates = rng.gamma(0.4, 1 / 0.2, 200_000)  # customers a day beyond the first: mean 2, spread wide
    first_day = 1 + rng.poisson(rates)
    engine = Engine()
    engine.new_topic_prior = [500.0, float(first_day.mean()), float((first_day.astype(float) ** 2).mean())]
    for width in (1800.0, 7200.0, 21600.0, 86400.0):
        counts = rng.poisson(rates * width / 86400.0)
        mu, phi = engine._new_topic_expectation(width)
        assert mu == pytest.approx(counts.mean(), rel=0.03)
        assert mu * phi == pytest.approx(counts.var(), rel=0.05)
    # a half-hour window is barely over-dispersed; the day is very much so
    assert engine._new_topic_expectation(1800.0)[1] < 1.2 < 4.0 < engine._new_topic_expectation(86400.0)[1]


def test_an_active_incidents_snapshot_carries_its_open_hour_so_far(warmed):
    """Closed hours are written as volume points; while an incident is live its open hour, where the rise
    is, travels in the snapshot so a chart can show it. Resolved within that hour, it keeps it (the rise
    stays on its chart until the hour closes); resolved in a later hour, it is left out."""
    at = T0 + timedelta(days=DAYS, hours=2, minutes=10)
    engine = fresh(warmed)
    run(engine, background(0.1, seed=14, start=T0 + timedelta(days=DAYS)) + burst(4, at, 6, minutes=20))
    (inc,) = [i for i in opened(engine, after=at) if i.topic_id == 4]
    series = engine.series["topic:4"]
    hour = engine.snapshot(inc)["evidence"]["hour_so_far"]
    assert datetime.fromisoformat(hour["start"]) == T0 + timedelta(days=DAYS, hours=2)
    assert datetime.fromisoformat(hour["as_of"]) == at + timedelta(minutes=20 / 6 * 5)  # the last ticket
    assert (hour["tickets"], hour["requesters"]) == (series.tickets, len(series.who))
    assert hour["requesters"] >= 6 and hour["lower"] <= hour["expected"] <= hour["upper"] < hour["requesters"]
    mu, _phi = engine.forecast(series, series.bucket, series.bucket + 3600.0)
    assert hour["expected"] == pytest.approx(mu, abs=1e-4)
    inc.status, inc.resolved_at = "resolved", at + timedelta(minutes=25)
    assert engine.snapshot(inc)["evidence"]["hour_so_far"] == hour
    inc.resolved_at = T0 + timedelta(days=DAYS, hours=1, minutes=59)  # before the open hour began
    assert "hour_so_far" not in engine.snapshot(inc)["evidence"]


def test_a_spike_of_angrier_tickets_says_so_and_an_ordinary_one_does_not(warmed):
    quiet = T0 + timedelta(days=DAYS, hours=3)
    for tone, says in ((-0.8, True), (0.0, False)):
        engine = run(fresh(warmed), background(0.5, seed=7, start=T0 + timedelta(days=DAYS))
                     + burst(1, quiet, 10, sentiment=tone))
        [inc] = opened(engine, after=quiet, kind="spike")
        snap = engine.snapshot(inc)
        if says:  # the topic's tickets average about 0.0 (sd 0.35): ten at -0.8 are far below
            assert snap["evidence"]["sentiment"]["mean"] <= -0.6 and abs(snap["evidence"]["sentiment"]["usual"]) < 0.1
            assert snap["sentence"].endswith(f"; sentiment {snap['evidence']['sentiment']['mean']:+.2f}, usually "
                                             f"{snap['evidence']['sentiment']['usual']:+.2f}")
        else:
            assert "sentiment" not in snap["evidence"] and "sentiment" not in snap["sentence"]
