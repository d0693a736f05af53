"""Nudge decisions (caps, holdout, reasons) and the holdout and interval arithmetic."""

from __future__ import annotations

import math

import pytest

from server.widget.decisions import SessionView, decide, holdout_bucket, in_holdout
from server.widget.measurement import Arm, compare, newcombe, wilson
from server.widget.settings import WidgetConfig

NUDGE = {"id": "pay", "match": "/billing", "title": "Trouble paying?", "body": "Try a card.", "link_url": "/help"}


def cfg(**kw) -> WidgetConfig:
    return WidgetConfig.from_dict({"nudges": [NUDGE], "holdout": 0.0, **kw})


def run(config, session, path="/billing", sid="s1", in_session=0, in_day=0):
    return decide(config, tenant_id=1, session_id=sid, path=path, session=session, session_nudges=in_session,
                  day_nudges=in_day)


STUCK = SessionView(None, False, ("/billing",))


def test_reasons_in_order():
    assert run(cfg(), None).reason == "no_data"
    assert run(cfg(), SessionView(None, False, ())).reason == "cold_start"
    assert run(cfg(), STUCK, path="/other").reason == "cold_start"  # stuck elsewhere, not here
    assert run(cfg(nudges=[]), STUCK).reason == "no_content"
    assert run(cfg(cap_per_session=1), STUCK, in_session=1).reason == "cap_session"
    assert run(cfg(cap_per_session=5, cap_per_day=2), STUCK, in_session=2, in_day=2).reason == "cap_day"
    d = run(cfg(), STUCK)
    assert d.reason == "nudge" and d.nudge.id == "pay" and d.would_nudge and not d.holdout


def test_the_classifier_decides_once_ready_and_the_rule_before():
    ready_high = SessionView(0.9, True, ())
    ready_low = SessionView(0.1, True, ("/billing",))  # the rule would say stuck; the model says no
    assert run(cfg(threshold=0.5), ready_high).reason == "nudge"
    assert run(cfg(threshold=0.5), ready_low).reason == "below_threshold"
    assert run(cfg(threshold=0.95), ready_high).reason == "below_threshold"
    not_ready = SessionView(0.01, False, ("/billing",))
    assert run(cfg(), not_ready).reason == "nudge" and run(cfg(), not_ready).p_ticket == 0.01
    assert run(cfg(cold_start={"enabled": False}), not_ready).reason == "learning"


def test_the_reason_says_what_decided_not_stuck():
    # the classifier is still learning: a high estimate is not what decided, the cold-start rule did
    high_while_learning = SessionView(0.945, False, ())
    d = run(cfg(threshold=0.5), high_while_learning)
    assert (d.reason, d.p_ticket, d.would_nudge) == ("cold_start", 0.945, False)
    # once it is ready, it decides, and below the threshold says so
    assert run(cfg(threshold=0.5), SessionView(0.3, True, ("/billing",))).reason == "below_threshold"
    # ready but no estimate for this session: the rule decides
    assert run(cfg(), SessionView(None, True, ())).reason == "cold_start"
    assert run(cfg(), SessionView(None, True, ("/billing",))).reason == "nudge"
    # the rule turned off while the classifier learns: nothing says stuck yet
    assert run(cfg(cold_start={"enabled": False}), SessionView(0.945, False, ())).reason == "learning"
    assert run(cfg(cold_start={"enabled": False}), SessionView(0.945, True, ())).reason == "nudge"


def test_holdout_sessions_are_never_nudged_but_their_would_be_nudge_is_kept():
    config = cfg(holdout=0.5)
    held = next(f"s{i}" for i in range(100) if in_holdout(1, f"s{i}", 0.5))
    shown = next(f"s{i}" for i in range(100) if not in_holdout(1, f"s{i}", 0.5))
    d = run(config, STUCK, sid=held)
    assert d.reason == "holdout" and d.nudge is None and d.holdout and d.would_nudge and d.content.id == "pay"
    assert run(config, STUCK, sid=shown).reason == "nudge"
    # held-out sessions are capped like the others, so both groups stay comparable
    assert run(config, STUCK, sid=held, in_session=1).reason == "cap_session"
    assert run(config, SessionView(None, False, ()), sid=held).would_nudge is False


def test_holdout_assignment_is_stable_and_its_share_is_right():
    ids = [f"session-{i}" for i in range(20_000)]
    first = [in_holdout(7, s, 0.1) for s in ids]
    assert first == [in_holdout(7, s, 0.1) for s in ids]  # stable
    share = sum(first) / len(ids)
    assert abs(share - 0.1) < 3 * math.sqrt(0.1 * 0.9 / len(ids))  # within three standard errors
    assert sum(in_holdout(7, s, 0.0) for s in ids) == 0 and sum(in_holdout(7, s, 0.9) for s in ids) > 17_500
    # another tenant gets another assignment (no tenant shares a fixed control group)
    other = [in_holdout(8, s, 0.1) for s in ids]
    assert sum(a != b for a, b in zip(first, other)) > 2000
    assert all(0 <= holdout_bucket(1, s) < 1 for s in ids[:100])


def test_wilson_and_newcombe_on_published_numbers():
    # Newcombe (1998), Statistics in Medicine 17:857-872: 56/70 vs 48/80
    assert [round(v, 4) for v in wilson(56, 70)] == [0.6918, 0.877]
    assert [round(v, 4) for v in newcombe(56, 70, 48, 80)] == [0.0524, 0.3339]
    # a zero count keeps a sensible interval (Wald would give [0, 0])
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson(3, 0) is None and newcombe(1, 0, 1, 5) is None


def test_compare_reports_both_arms_and_the_difference():
    r = compare(Arm(1000, 50), Arm(100, 10))
    assert r["nudged"]["rate"] == 0.05 and r["holdout"]["rate"] == 0.1 and r["difference"] == -0.05
    lo, hi = r["interval"]
    assert lo < -0.05 < hi and lo > -0.2
    assert "no clear difference" in r["sentence"] or "fewer" in r["sentence"]
    empty = compare(Arm(0, 0), Arm(10, 1))
    assert empty["difference"] is None and empty["interval"] is None and "Not enough" in empty["sentence"]


def test_a_nudge_the_person_closed_is_not_offered_again_in_the_session_another_still_is():
    pay = {**NUDGE, "when": [{"signal": "failed_request", "target": "POST /api/pay"}]}
    coupon = {**NUDGE, "id": "coupon", "when": [{"signal": "form_error", "target": "coupon"}]}
    anything = {**NUDGE, "id": "any"}
    met = (("failed_request", "POST /api/pay", 4), ("form_error", "coupon/code", 3))
    config = cfg(nudges=[pay, coupon], cap_per_session=2)
    assert run(config, SessionView(None, False, ("/billing",), met)).nudge.id == "pay"
    closed = SessionView(None, False, ("/billing",), met, dismissed=("pay",))
    d = run(config, closed, in_session=1)
    assert (d.reason, d.nudge.id) == ("nudge", "coupon")  # the slot goes to a tip not refused
    assert run(config, SessionView(None, False, ("/billing",), met, dismissed=("pay", "coupon")),
               in_session=1).reason == "no_content"
    # a tip for any trouble on the page comes after those the person closed too; closing it ends the offers
    config = cfg(nudges=[pay, anything], cap_per_session=2)
    assert run(config, closed, in_session=1).nudge.id == "any"
    assert run(config, SessionView(None, False, ("/billing",), met, dismissed=("any", "pay")),
               in_session=1).reason == "no_content"
    # the holdout records a would-be nudge among those not refused, as the nudged group gets
    held = next(f"h{i}" for i in range(1000) if in_holdout(1, f"h{i}", 0.5))
    d = run(cfg(nudges=[pay, coupon], holdout=0.5, cap_per_session=2), closed, sid=held, in_session=1)
    assert (d.reason, d.content.id) == ("holdout", "coupon")
