"""The volume tests on constructed ticket streams: spikes, new topics, neighbour topics, halos and
nearby tickets."""

from __future__ import annotations

import pickle
from datetime import timedelta

import numpy as np
import pytest

from server.incidents.engine import Engine, Observation
from tests.incidents.engine_data import DAYS, T0, _with_vectors, background, burst, fresh, opened, run


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
