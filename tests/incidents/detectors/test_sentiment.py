"""The sentiment test: a change of tone, where it begins, and the tone of a spike's tickets."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np

from server.incidents.engine import Engine, Observation
from server.incidents.words import sentence
from tests.incidents.engine_data import DAYS, RATES, T0, background, burst, fresh, opened, run


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
