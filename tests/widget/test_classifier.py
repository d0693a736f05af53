"""The ticket-within-24h classifier learns online from delayed outcomes, in event time."""

from __future__ import annotations

import pickle
import random
from datetime import timedelta

from server.widget.classifier import TicketClassifier
from server.widget.stage import GRACE, HORIZON, WidgetStage
from tests.widget.helpers import T0, Log, failing

KEYS = {"ticket_user_keys": ["requester_id"]}


def calm(log: Log, sid: str, at, user: str):
    return [log.widget(sid, "page_view", at, user_id=user), log.widget(sid, "click", at + timedelta(seconds=8),
                                                                      user_id=user, target="a.next")]


def test_positive_when_the_users_ticket_comes_within_the_horizon_negative_when_it_passes():
    stage, log = WidgetStage(lambda _t: KEYS), Log()
    for e in failing(log, "s1", T0, user_id="1001") + calm(log, "s2", T0, "1002"):
        stage.apply(e)
    tw = stage.tenant(1)
    assert tw.classifier.outcomes == 0  # nothing is known yet
    stage.apply(log.ticket(1, T0 + timedelta(hours=3), requester_id="1001"))
    assert (tw.sessions["s1"].outcome, tw.sessions["s2"].outcome) == ("ticket", None)
    assert tw.classifier.outcomes == 1 and tw.classifier.positives == 1
    # the horizon of s2 passes (in event time: another session's event, a day later)
    stage.apply(log.widget("s3", "page_view", T0 + timedelta(seconds=HORIZON + GRACE + 1)))
    assert tw.sessions["s2"].outcome == "none" and tw.classifier.outcomes == 2
    # a late ticket from u2 after the horizon changes nothing; a ticket before the session is no label
    stage.apply(log.ticket(2, T0 + timedelta(hours=30), requester_id="1002"))
    assert tw.sessions["s2"].outcome == "none" and tw.classifier.positives == 1
    rows = {key[1]: row for kind, key, row in stage.outputs() if kind == "widget_session"}
    assert rows["s1"]["outcome"] == "ticket" and rows["s1"]["ticket_at"] is not None
    assert rows["s2"]["outcome"] == "none" and rows["s3"]["outcome"] is None


def test_tickets_join_by_email_hash_when_configured():
    stage, log = WidgetStage(lambda _t: {"ticket_user_keys": ["email"]}), Log()
    for e in failing(log, "s1", T0, user_id="Ann@Example.com"):
        stage.apply(e)
    stage.apply(log.ticket(1, T0 + timedelta(hours=1), email=" ann@example.com "))
    assert stage.tenant(1).sessions["s1"].outcome == "ticket"


def test_a_clear_signal_gives_higher_probability_after_training():
    rng = random.Random(3)
    stage, log = WidgetStage(lambda _t: {**KEYS, "cold_start": {"min_outcomes": 100, "min_positives": 10}}), Log()
    n_ticket = 0
    for i in range(400):
        at = T0 + timedelta(minutes=10 * i)
        user, sid = str(5000 + i), f"s{i}"
        stuck = rng.random() < 0.3
        events = failing(log, sid, at, n=rng.randint(3, 6), user_id=user) if stuck else calm(log, sid, at, user)
        for e in events:
            stage.apply(e)
        # stuck sessions mostly write in; calm ones rarely
        if rng.random() < (0.8 if stuck else 0.05):
            n_ticket += 1
            stage.apply(log.ticket(i, at + timedelta(hours=rng.uniform(0.1, 20)), requester_id=user))
    tw = stage.tenant(1)
    assert tw.classifier.outcomes > 150 and tw.classifier.positives > 30
    assert tw.ready
    probe_stuck = {k: v for k, v in tw.sessions["s399"].features.vector().items()}
    stuck_p = tw.classifier.predict(next(t.features.vector() for t in tw.sessions.values()
                                         if t.features.totals.get("failed_request", 0) >= 3))
    calm_p = tw.classifier.predict(next(t.features.vector() for t in tw.sessions.values()
                                        if not t.features.totals))
    assert stuck_p > 0.5 > 0.2 > calm_p, (stuck_p, calm_p, probe_stuck)
    # live sessions carry their latest probability in the rows the read side serves
    rows = [row for kind, _k, row in stage.outputs() if kind == "widget_session"]
    assert all(r["model_ready"] for r in rows) and any(r["p_ticket"] and r["p_ticket"] > 0.5 for r in rows)


def test_predict_changes_nothing_and_the_model_pickles():
    clf = TicketClassifier()
    for _ in range(50):
        clf.learn({"a": 1.0}, True)
        clf.learn({"a": 0.0}, False)
    before = pickle.dumps(clf)
    p = clf.predict({"a": 1.0})
    assert pickle.dumps(clf) == before
    again = pickle.loads(before)
    assert again.predict({"a": 1.0}) == p and again.outcomes == 100
