"""Incidents from alerts: attaching tickets, resolving, reopening, and the evidence they carry."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.incidents.words import sentence
from tests.incidents.engine_data import DAYS, T0, background, burst, fresh, opened, run


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
