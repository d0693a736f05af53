"""The concentration test: a rise carried by one segment of a topic."""

from __future__ import annotations

from datetime import timedelta

from server.incidents.engine import Observation
from tests.incidents.engine_data import DAYS, T0, background, burst, fresh, opened, run


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
