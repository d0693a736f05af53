"""People's decisions on incidents: status changes, merges and their undoing, noise and useful marks."""

from __future__ import annotations

import pickle
from datetime import timedelta

import numpy as np

from server.incidents.engine import Alert, Observation
from tests.incidents.engine_data import DAYS, T0, _with_vectors, background, burst, fresh, opened, run


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
