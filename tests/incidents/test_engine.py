"""The detection engine's inputs and its false-alarm budget: what ordinary traffic opens, thresholds,
backfills, names learnt from tickets, and restarts from a checkpoint."""

from __future__ import annotations

import pickle
from datetime import timedelta

import numpy as np
import pytest

from server.incidents.engine import Engine, Observation
from server.incidents.settings import DetectionSettings
from server.incidents.words import sentence
from tests.incidents.engine_data import DAYS, T0, background, burst, fresh, opened, run


def test_background_traffic_opens_at_most_a_few_incidents(warmed):
    engine = fresh(warmed)
    # three weeks, 230 tickets a day: the budget is one false alarm a week over every kind and topic.
    assert len(engine.incidents) <= 4


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
