"""Per-page friction detectors: a spike on one page is found, normal friction is not."""

from __future__ import annotations

import math
import random
import re
from datetime import datetime, timedelta

import numpy as np

from server.widget.detectors import PageFrictionDetector, upper_tail
from server.widget.stage import WidgetStage
from tests.widget.helpers import T0, Log

PAGES = {"/billing": 0.6, "/settings": 0.3, "/reports": 2.0, "/team": 0.1}  # failed requests per hour


def background(detector: PageFrictionDetector, hours: int, rng: random.Random, start: float,
               daily_cycle: bool = False) -> list:
    alarms = []
    nprng = np.random.default_rng(rng.randint(0, 10**6))
    n = 0
    for h in range(hours):
        events = []
        shape = 0.2 + 1.8 * math.exp(-(((h % 24) - 14) / 4.0) ** 2) if daily_cycle else 1.0
        for page, rate in PAGES.items():
            for _ in range(nprng.poisson(rate * shape)):
                n += 1
                events.append((start + h * 3600 + rng.uniform(0, 3599), page, f"s{n}"))
        for ts, page, sid in sorted(events):
            a = detector.observe(page, "failed_request", sid, None, ts)
            if a:
                alarms.append(a)
    return alarms


def test_normal_friction_stays_within_the_weekly_false_alarm_budget():
    weeks = alarms = 0
    for seed in range(8):
        d = PageFrictionDetector(weekly_false_alarms=1.0)
        found = background(d, 24 * 14, random.Random(seed), T0.timestamp())
        alarms += len({(a.path, a.hour_start) for a in found})  # one alarm per page and hour at most
        weeks += 2
    assert alarms / weeks <= 1.0, alarms  # the budget: one a week, all pages and signals together


def test_a_daily_traffic_cycle_stays_within_the_budget_too():
    weeks = alarms = 0
    for seed in range(4):
        d = PageFrictionDetector(weekly_false_alarms=1.0)
        found = background(d, 24 * 14, random.Random(100 + seed), T0.timestamp(), daily_cycle=True)
        alarms += len({(a.path, a.hour_start) for a in found})
        weeks += 2
    assert alarms / weeks <= 1.0, alarms


def test_a_spike_on_one_page_is_found_and_names_the_page():
    rng = random.Random(8)
    d = PageFrictionDetector(weekly_false_alarms=1.0)
    start = T0.timestamp()
    background(d, 24 * 3, rng, start)
    spike = start + 24 * 3 * 3600 + 600
    alarms = [d.observe("/billing", "failed_request", f"x{i}", f"user{i % 4}", spike + 30 * i) for i in range(12)]
    first = next(a for a in alarms if a)
    assert first.path == "/billing" and first.observed >= 3 and first.expected < 2
    assert len(first.sessions) >= 3 and first.p < d.alpha()


def test_one_frantic_session_is_not_an_outage():
    d = PageFrictionDetector(weekly_false_alarms=1.0, warmup_hours=2)
    start = T0.timestamp()
    for h in range(5):
        d.observe("/billing", "rage_click", f"s{h}", None, start + h * 3600)
    alarms = [d.observe("/billing", "rage_click", "same", None, start + 5 * 3600 + i) for i in range(200)]
    assert not any(alarms)


def test_tail_probability_is_calibrated_for_poisson_counts():
    nprng = np.random.default_rng(1)
    draws = nprng.poisson(2.0, 200_000)
    for k in (4, 6, 8):
        assert abs(upper_tail(k, 2.0, 2.0) - (draws >= k).mean()) < 0.003


def stage_with_a_burst() -> tuple[WidgetStage, Log, datetime]:
    """Two days of people using /billing with its ordinary failures, then a burst of 15 failed payments from 15
    sessions (5 signed-in people) from 00:10 on the third day: the stage, the log and the burst's start."""
    stage, log = WidgetStage(lambda _t: {"friction": {"warmup_hours": 24}}), Log()
    rng = random.Random(2)
    for h in range(48):
        stage.apply(log.widget(f"v{h}", "page_view", T0 + timedelta(hours=h, minutes=1)))  # people use the page
        if rng.random() < 0.3:
            stage.apply(log.widget(f"b{h}", "failed_request", T0 + timedelta(hours=h, minutes=5),
                                   method="GET", path="/api/invoices", status=500))
    list(stage.outputs())
    burst = T0 + timedelta(hours=48, minutes=10)
    for i in range(15):
        stage.apply(log.widget(f"x{i}", "failed_request", burst + timedelta(seconds=20 * i), user_id=f"{100 + i % 5}",
                               method="POST", path="/api/pay", status=500))
    return stage, log, burst


def test_the_stage_opens_one_friction_incident_per_page_and_resolves_it():
    stage, log, burst = stage_with_a_burst()
    out = list(stage.outputs())
    snaps = [row for kind, _k, row in out if kind == "incident"]
    assert len(snaps) == 1
    # opened at three sessions, then grown materially (15: twice as many and at least 5 more)
    assert [(k[2], row["event"]) for kind, k, row in out if kind == "notification"] == [(0, "opened"), (1, "grew")]
    inc = snaps[0]
    assert inc["kind"] == "friction" and inc["status"] == "open" and inc["series"] == "page:/billing:failed_request"
    ev = inc["evidence"]
    assert ev["path"] == "/billing" and ev["signal"] == "failed_request" and ev["observed"] >= 3
    # the page's usual failures per visitor (about 0.2) times this hour's 15 visitors, all of them failing
    assert ev["sessions"] >= 3 and ev["users"] >= 3 and ev["expected"] < ev["observed"] / 4
    assert re.search(r"^\d+ failed requests among \d+ visitors so far on /billing in the hour from 00:00 UTC "
                     r"\(\d\.\d expected from that many\), above normal since 00:10 UTC, from \d+ sessions \(5 signed-in\)\.$",
                     inc["sentence"]), inc["sentence"]
    # first seen: when the hour's share of failing visitors became unusual (the burst's first failures), not
    # the hour's start
    assert inc["title"] == "Failed requests on /billing"
    assert burst <= inc["first_seen_at"] <= burst + timedelta(minutes=1)
    assert ev["window_start_at"] == (burst - timedelta(minutes=10)).isoformat()
    assert [x["signal"] for x in ev["signals"]] == ["failed_request"]
    # Its chart: the hours before it as its baseline judged them, then the hour it happens in (so far).
    points = {k[2]: row for kind, k, row in out if kind == "volume_point"}
    assert {k[1] for kind, k, _row in out if kind == "volume_point"} == {inc["series"]}
    starts = sorted(points)
    assert len(starts) >= 40 and starts[-1] == (burst - timedelta(minutes=10) - timedelta(hours=1)).timestamp()
    assert all(b - a == 3600 for a, b in zip(starts, starts[1:]))
    assert sum(p["tickets"] for p in points.values()) >= 8 and all(p["upper"] >= p["expected"] for p in points.values())
    hour = ev["hour_so_far"]
    assert hour["start"] == (burst - timedelta(minutes=10)).isoformat() and hour["tickets"] == ev["observed"]
    assert hour["requesters"] == ev["sessions"] and hour["tickets"] > hour["upper"]
    # calm hours later: resolved by the detector
    for h in range(4):
        stage.apply(log.widget(f"c{h}", "page_view", burst + timedelta(hours=h + 1)))
    out = list(stage.outputs())
    later = [row for kind, _k, row in out if kind == "incident"]
    assert later and later[-1]["id"] == inc["id"] and later[-1]["status"] == "resolved"
    # resolved after calm hours: the rise's hour closed long before, so no open hour rides along
    assert "hour_so_far" not in later[-1]["evidence"]
    after = sorted(k[2] for kind, k, _row in out if kind == "volume_point")
    assert after[0] == (burst - timedelta(minutes=10)).timestamp() and len(after) >= 3  # the chart goes on
    assert [(k[2], row["event"]) for kind, k, row in out if kind == "notification"] == [(2, "resolved")]


def test_while_its_hour_is_open_a_friction_sentence_says_the_expectation_is_for_the_visitors_so_far():
    stage, log, burst = stage_with_a_burst()
    [inc] = [row for kind, _k, row in stage.outputs() if kind == "incident"]
    # 15 of the hour's 15 visitors so far failed: what that many usually bring is not what an hour usually has
    so_far = re.search(r"^15 failed requests among 15 visitors so far on /billing in the hour from 00:00 UTC "
                       r"\((\d+\.\d) expected from that many\), above normal since 00:10 UTC", inc["sentence"])
    assert so_far, inc["sentence"]
    assert [(x["visitors"], x["so_far"]) for x in inc["evidence"]["signals"]] == [(15, True)]
    for i in range(15):  # later in the hour more people use the page, and it works for them
        stage.apply(log.widget(f"w{i}", "page_view", burst + timedelta(minutes=20, seconds=30 * i)))
    assert [row for kind, _k, row in stage.outputs() if kind == "incident"] == []
    stage.apply(log.widget("next", "page_view", burst + timedelta(hours=1)))  # the hour has closed
    [closed] = [row for kind, _k, row in stage.outputs() if kind == "incident"]
    whole = re.search(r"^15 failed requests \(usually (\d+\.\d)\) among 30 visitors on /billing in the hour from "
                      r"00:00 UTC, above normal since 00:10 UTC, from 15 sessions \(5 signed-in\)\.$", closed["sentence"])
    assert whole, closed["sentence"]
    assert float(whole[1]) > float(so_far[1])  # the whole hour's 30 visitors usually bring more
    [sig] = closed["evidence"]["signals"]
    assert (sig["observed"], sig["visitors"], sig["so_far"]) == (15, 30, False)
    assert f"{sig['expected']:.1f}" == whole[1] and closed["status"] == "open"


def _hours_of_traffic(stage: WidgetStage, log: Log, start, hours: int, failing: int, tag: str) -> list:
    """``hours`` hours from ``start``: 12 sessions an hour view /billing, ``failing`` of them, spread over the
    hour, meet a failed request."""
    out = []
    for h in range(hours):
        for i in range(12):
            at = start + timedelta(hours=h, minutes=4 * i + 1)
            sid = f"{tag}{h}-{i}"
            stage.apply(log.widget(sid, "page_view", at))
            if (i * failing) % 12 < failing:
                stage.apply(log.widget(sid, "failed_request", at + timedelta(seconds=5), method="GET",
                                       path="/api/invoices", status=500))
        out += [row for kind, _k, row in stage.outputs() if kind == "incident"]
    return out


def test_hours_without_any_traffic_teach_no_friction_baseline():
    # 30 hours with 4 failing sessions an hour, then the site is down for three days (no widget event at all),
    # then traffic comes back as before: no incident.
    stage, log = WidgetStage(lambda _t: {"friction": {"warmup_hours": 24}}), Log()
    assert _hours_of_traffic(stage, log, T0, 30, 4, "a") == []
    assert _hours_of_traffic(stage, log, T0 + timedelta(hours=30 + 72), 6, 8, "b") == []  # twice as many: not news
    series = stage.tenants[1].detector.series[("/billing", "failed_request")]
    assert series.hours < 40 and series.mean.get() > 3.5  # the silent hours were not learnt as zeros


def test_hours_with_traffic_but_no_failures_are_learnt():
    # The same, but during those three days people kept using the page without failures: when the failures
    # come back they are news.
    stage, log = WidgetStage(lambda _t: {"friction": {"warmup_hours": 24}}), Log()
    assert _hours_of_traffic(stage, log, T0, 30, 4, "a") == []
    assert _hours_of_traffic(stage, log, T0 + timedelta(hours=30), 72, 0, "q") == []
    opened = _hours_of_traffic(stage, log, T0 + timedelta(hours=30 + 72), 2, 12, "b")
    assert opened and opened[0]["kind"] == "friction" and opened[0]["evidence"]["path"] == "/billing"


def _visitors(d: PageFrictionDetector, rng: random.Random, start: float, hours: int, per_hour, share: float,
              tag: str, surge_hour: int | None = None, surge_share: float = 0.0) -> list:
    """``hours`` hours of /billing visitors (``per_hour(h)`` of them), each failing with ``share`` (or
    ``surge_share`` in ``surge_hour``); the alarms, as the widget stage feeds the detector."""
    alarms = []
    for h in range(hours):
        p = surge_share if h == surge_hour else share
        for ts in sorted(start + h * 3600 + rng.uniform(0, 3599) for _ in range(per_hour(h))):
            sid = f"{tag}{ts}"
            d.seen(ts)
            d.visit("/billing", sid, ts)
            if rng.random() < p:
                a = d.observe("/billing", "failed_request", sid, None, ts + 1)
                if a:
                    alarms.append((h, a))
    return alarms


def daily_visitors(h: int) -> int:
    """Visitors of the hour: 200 at 14:00, 10 at night."""
    return round(10 + 190 * math.exp(-(((h % 24) - 14) / 4.0) ** 2))


def test_per_visitor_a_night_surge_is_found_and_the_same_count_at_the_busy_hour_is_not():
    start = T0.timestamp()
    night, busy = 24 * 3 + 3, 24 * 3 + 14
    # at 03:00 eight of ten visitors fail (usually 5%): the afternoon's ordinary count, a night outage
    found = {}
    for per_visitor in (True, False):
        d = PageFrictionDetector(warmup_hours=24, per_visitor=per_visitor)
        found[per_visitor] = _visitors(d, random.Random(4), start, night + 1, daily_visitors, 0.05, "a",
                                       surge_hour=night, surge_share=0.8)
    assert [h for h, _a in found[True]] and {h for h, _a in found[True]} == {night}
    assert found[False] == []  # the hourly count alone: 8 is a usual afternoon hour's
    first = found[True][0][1]
    assert len(first.sessions) <= 6 and first.expected < 1.0  # early, and against what 03:00 brings
    # at 14:00 about ten failures among two hundred visitors are ordinary
    d = PageFrictionDetector(warmup_hours=24)
    assert _visitors(d, random.Random(5), start, busy + 1, daily_visitors, 0.05, "b") == []


def test_per_visitor_more_visitors_failing_at_the_usual_share_is_no_incident():
    # a campaign brings ten times the visitors; the same 5% of them fail: the count is ten times the usual
    start = T0.timestamp()
    for per_visitor, expect_alarm in ((True, False), (False, True)):
        d = PageFrictionDetector(warmup_hours=24, per_visitor=per_visitor)
        alarms = _visitors(d, random.Random(6), start, 49, lambda h: 300 if h == 48 else 30, 0.05, "c")
        assert bool([h for h, _a in alarms if h == 48]) is expect_alarm, per_visitor


def test_per_visitor_learning_and_an_old_checkpoint():
    import pickle

    d = PageFrictionDetector(warmup_hours=24)
    _visitors(d, random.Random(7), T0.timestamp(), 40, lambda h: 40, 0.1, "d")
    s = d.series[("/billing", "failed_request")]
    q, rho, learnt = s.share()
    assert 0.07 < q < 0.13 and 0 <= rho < 0.05 and s.exposed_hours >= 30
    # a detector checkpointed before visitors were counted: no visitor fields, no index of pages
    for name in ("visitors", "exposed_hours", "ew_count", "ew_visitors", "ew_affected", "ew_spread"):
        del s.__dict__[name]
    del d.__dict__["pages"]
    del d.__dict__["per_visitor"]
    old = pickle.loads(pickle.dumps(d))
    t = old.series[("/billing", "failed_request")]
    assert t.exposed_hours == 0 and t.visitors == 0 and old.per_visitor is True
    _visitors(old, random.Random(8), T0.timestamp() + 40 * 3600, 30, lambda h: 40, 0.1, "e")
    assert t.exposed_hours >= 24 and old.__dict__["pages"] == {"/billing": {"failed_request"}}


def test_per_visitor_a_rise_is_dated_from_when_the_share_went_up_not_from_the_hours_start():
    d, rng = PageFrictionDetector(warmup_hours=24), random.Random(9)
    start = T0.timestamp()
    _visitors(d, rng, start, 30, lambda h: 120, 0.05, "f")
    hour, surge_at = start + 30 * 3600, start + 30 * 3600 + 1800
    alarms = []
    for i in range(120):  # two visitors a minute; from minute 30 on, most of them fail
        ts, sid = hour + 30 * i, f"g{i}"
        d.seen(ts)
        d.visit("/billing", sid, ts)
        if rng.random() < (0.05 if ts < surge_at else 0.7):
            a = d.observe("/billing", "failed_request", sid, None, ts + 1)
            if a:
                alarms.append(a)
    assert alarms and surge_at - 120 <= alarms[0].rising_since <= alarms[0].hour_start + 3600
    assert alarms[0].rising_since < min(a.hour_start for a in alarms) + 3600 and alarms[0].rising_since >= surge_at - 120


def test_visitors_are_counted_once_per_page_and_hour_for_every_signal_and_only_on_watched_pages():
    d, t0 = PageFrictionDetector(), T0.timestamp()
    d.observe("/billing", "failed_request", "s1", None, t0 + 10)
    d.observe("/billing", "rage_click", "s1", None, t0 + 11)
    for i, sid in enumerate(["s2", "s2", "s3", "s2"]):
        d.visit("/billing", sid, t0 + 20 + i)
    d.visit("/home", "s2", t0 + 30)  # no friction series there: not tracked
    assert [d.series[("/billing", sig)].visitors for sig in ("failed_request", "rage_click")] == [2, 2]
    assert set(d.__dict__["page_visitors"]) == {"/billing"} and d.__dict__["page_visitors"]["/billing"][1] == {"s2", "s3"}
    d.visit("/billing", "s2", t0 + 3600 + 5)  # the next hour: counted again, the set starts over
    d.visit("/billing", "s3", t0 + 50)  # a late event of the closed hour: ignored
    assert d.series[("/billing", "failed_request")].visitors == 1
    assert d.__dict__["page_visitors"]["/billing"] == (t0 + 3600, {"s2"})


def test_a_friction_incident_resolved_by_a_person_within_its_hour_keeps_that_hour_for_its_chart():
    """Resolved while its hour is still open, the incident's rise stays on its chart until the hour closes
    (the closed hour is then written as a volume point); resolved in a later hour, no open hour rides along."""
    stage, log, burst = stage_with_a_burst()
    (opened,) = [row for kind, _k, row in stage.outputs() if kind == "incident"]
    rise = opened["evidence"]["hour_so_far"]
    stage.apply(log.control("control.status", burst + timedelta(minutes=20),
                            {"incident_id": opened["id"], "status": "resolved", "by": "Ana"}))
    (resolved,) = [row for kind, _k, row in stage.outputs() if kind == "incident"]
    assert resolved["status"] == "resolved" and resolved["evidence"]["hour_so_far"] == rise
    assert rise["tickets"] == 15 and rise["tickets"] > rise["upper"]
    stage.apply(log.control("control.status", burst + timedelta(minutes=25),
                            {"incident_id": opened["id"], "status": "open", "by": "Ana"}))
    list(stage.outputs())
    stage.apply(log.control("control.status", burst + timedelta(hours=1),  # the next hour
                            {"incident_id": opened["id"], "status": "resolved", "by": "Ana"}))
    (late,) = [row for kind, _k, row in stage.outputs() if kind == "incident"]
    assert late["status"] == "resolved" and "hour_so_far" not in late["evidence"]


def test_a_later_worse_hour_gives_its_counts_and_its_hour_to_the_sentence_and_the_evidence_alike():
    stage, log, burst = stage_with_a_burst()
    [inc] = [row for kind, _k, row in stage.outputs() if kind == "incident"]
    opening = (burst - timedelta(minutes=10)).isoformat()
    assert inc["evidence"]["window_start_at"] == inc["evidence"]["counts_hour_at"] == opening
    later = burst + timedelta(hours=1)  # the next hour: the page fails for twice as many people
    for i in range(30):
        stage.apply(log.widget(f"y{i}", "failed_request", later + timedelta(seconds=20 * i),
                               method="POST", path="/api/pay", status=500))
    snaps = [row for kind, _k, row in stage.outputs() if kind == "incident"]
    assert snaps and snaps[-1]["id"] == inc["id"]
    ev, said = snaps[-1]["evidence"], snaps[-1]["sentence"]
    assert ev["observed"] == 30 and ev["window_start_at"] == opening  # the hour that opened it stays said
    # the counts are the later hour's, and both the sentence and the evidence name that hour
    assert ev["counts_hour_at"] == (later - timedelta(minutes=10)).isoformat()
    assert said.startswith("30 failed requests") and " in the hour from 01:00 UTC" in said, said
