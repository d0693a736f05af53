"""Hourly baselines: what they learn from busy, outlier and dormant hours, and topic merges."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from server.incidents.engine import Engine, Observation
from server.incidents.settings import DetectionSettings
from tests.incidents.engine_data import DAYS, T0, background, burst, diurnal, fresh, opened, run


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


def test_merged_topics_merge_their_halos(warmed):
    engine = fresh(warmed)
    a, b = engine.halos["halo:5"].share(), engine.halos["halo:6"].share()
    engine.merge_topic(6, 5)
    assert "halo:6" not in engine.halos
    assert engine.halos["halo:5"].share() == pytest.approx(a + b, rel=0.05)


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
