"""Session friction features from constructed event streams, and the cold-start rule."""

from __future__ import annotations

import pickle
from datetime import timedelta

from server.widget.features import MAX_DISMISSED, MAX_PAGES, SessionFeatures
from server.widget.settings import WidgetConfig, page_path, path_matches
from tests.widget.helpers import SITE, T0, Log, failing


def fold(events) -> SessionFeatures:
    s = SessionFeatures(events[0].payload["session_id"], started_ms=int(events[0].event_time.timestamp() * 1000))
    for e in events:
        s.add(e.payload, int(e.event_time.timestamp() * 1000))
    return s


def test_counts_per_page_and_failures_by_request_and_status():
    log = Log()
    events = failing(log, "s1", T0, n=3) + [
        log.widget("s1", "page_view", T0 + timedelta(seconds=30), "/settings"),
        log.widget("s1", "js_error", T0 + timedelta(seconds=40), "/settings", message="TypeError"),
        log.widget("s1", "form_submit", T0 + timedelta(seconds=50), "/settings", target="form#profile", valid=False),
        log.widget("s1", "form_error", T0 + timedelta(seconds=55), "/settings", target="form#profile"),
        log.widget("s1", "dead_click", T0 + timedelta(seconds=56), "/settings", target="a.more"),
        log.widget("s1", "click", T0 + timedelta(seconds=57), "/settings", target="button#save", error_click=True),
        log.widget("s1", "form_abandon", T0 + timedelta(seconds=58), "/settings", flow="onboarding"),
    ]
    events.append(log.widget("s1", "js_error", T0 + timedelta(seconds=59), "/settings", target="button#save",
                             error_click=True))
    events.append(log.widget("s1", "form_error", T0 + timedelta(seconds=59), "/settings", form="form#card",
                             field="number"))
    s = fold(events)
    billing, settings = s.pages["/billing"], s.pages["/settings"]
    assert billing.failures == {"POST /api/pay 500": 3} and billing.count("failed_request") == 3
    assert billing.views == 1 and billing.time_ms == 15_000 + 15_000  # to the last failure, then to the next page
    assert settings.counts == {"js_error": 2, "form_error": 3, "dead_click": 1, "error_click": 2, "form_abandon": 1}
    assert settings.forms == {"form#profile": 2, "form#card": 1} and settings.error_targets == {"button#save": 2}
    assert s.totals["failed_request"] == 3 and s.events == len(events)
    assert s.to_json()["pages"]["/billing"]["failures"] == {"POST /api/pay 500": 3}


def test_failed_request_paths_lose_ids_and_queries():
    log = Log()
    s = fold([log.widget("s", "failed_request", T0, method="get", path="/api/users/12345/cards?number=4111", status=402)])
    assert s.pages["/billing"].failures == {"GET /api/users/:id/cards 402": 1}


def test_time_on_page_ignores_long_gaps():
    log = Log()
    s = fold([log.widget("s", "page_view", T0), log.widget("s", "click", T0 + timedelta(seconds=20)),
              log.widget("s", "click", T0 + timedelta(hours=2))])
    assert s.pages["/billing"].time_ms == 20_000


def test_cold_start_rule_same_failure_three_times_or_rage_plus_failure():
    log = Log()
    assert fold(failing(log, "a", T0, n=3)).stuck_on(3) == ["/billing"]
    assert fold(failing(log, "b", T0, n=2)).stuck_on(3) == []
    mixed = [log.widget("c", "failed_request", T0, method="GET", path=f"/api/{n}", status=500) for n in "abc"]
    assert fold(mixed).stuck_on(3) == []  # three different failures are not "the same action"
    rage = [log.widget("d", "rage_click", T0, target="button#pay"),
            log.widget("d", "failed_request", T0 + timedelta(seconds=1), method="POST", path="/api/pay", status=502)]
    assert fold(rage).stuck_on(3) == ["/billing"]
    forms = [log.widget("e", "form_error", T0 + timedelta(seconds=i), target="form#card") for i in range(3)]
    assert fold(forms).stuck_on(3) == ["/billing"]
    assert fold([log.widget("f", "rage_click", T0)]).stuck_on(3) == []


def test_vector_grows_with_friction_and_stays_bounded():
    log = Log()
    calm = fold([log.widget("a", "page_view", T0), log.widget("a", "click", T0 + timedelta(seconds=3))])
    rough = fold(failing(log, "b", T0, n=10))
    assert rough.vector()["failed_request"] > calm.vector()["failed_request"] == 0.0
    assert rough.vector()["stuck"] == 1.0 and calm.vector()["stuck"] == 0.0
    many = fold([log.widget("c", "page_view", T0 + timedelta(seconds=i), f"/p{i}") for i in range(MAX_PAGES + 10)])
    assert len(many.pages) == MAX_PAGES


def test_page_paths_drop_ids_query_and_host():
    assert page_path(SITE + "/invoices/98765/pay?card=4111111111111111") == "/invoices/:id/pay"
    assert page_path(SITE + "/a/" + "x" * 500).startswith("/a/") and len(page_path(SITE + "/a/" + "x" * 500)) == 200
    assert page_path("javascript:alert(1)") == "/"
    assert path_matches("/billing*", "/billing/invoices") and not path_matches("/billing", "/billing/x")


def test_config_defaults_and_matching_content():
    c = WidgetConfig.from_dict({"nudges": [{"id": "a", "match": "/x/*", "title": "t", "body": "b"},
                                           {"id": "b", "match": "/x/y", "title": "t", "body": "b"}],
                                "known_issues": [{"id": "k", "match": "/x/*", "message": "m"}]})
    assert c.nudge_for("/x/y").id == "a" and c.issues_for("/x/z")[0].id == "k"
    assert c.cold_start.repeat_failures == 3 and c.holdout == 0.1 and c.friction.weekly_false_alarms == 1.0


def test_tips_the_person_closed_are_remembered_not_those_closed_by_leaving_the_page():
    log = Log()
    events = failing(log, "s1", T0) + [
        log.widget("s1", "nudge_shown", T0 + timedelta(seconds=20), nudge_id="pay"),
        log.widget("s1", "nudge_dismissed", T0 + timedelta(seconds=25), nudge_id="pay"),
        log.widget("s1", "nudge_dismissed", T0 + timedelta(seconds=30), nudge_id="coupon", left_page=True),
        log.widget("s1", "nudge_dismissed", T0 + timedelta(seconds=31)),  # names no tip
    ]
    s = fold(events)
    assert s.dismissed_tips() == ["pay"]
    assert s.to_json()["dismissed"] == ["pay"]
    assert s.pages["/billing"].counts == {"failed_request": 3}  # a closed tip is no friction
    for i in range(MAX_DISMISSED + 5):
        s.add({"type": "nudge_dismissed", "url": SITE + "/billing", "data": {"nudge_id": f"t{i}"}}, 40_000 + i)
    s.add({"type": "nudge_dismissed", "url": SITE + "/billing", "data": {"nudge_id": "x" * 500}}, 50_000)
    assert len(s.dismissed_tips()) == MAX_DISMISSED and s.dismissed_tips()[-1] == "x" * 64


def test_a_session_pickled_before_closed_tips_were_kept_loads_and_keeps_them_from_then_on():
    s = fold(failing(Log(), "s1", T0))
    del s.__dict__["dismissed"]  # as a checkpoint written before the field existed holds it
    old = pickle.loads(pickle.dumps(s))
    assert old.to_json()["dismissed"] == []
    old.add({"type": "nudge_dismissed", "url": SITE + "/billing", "data": {"nudge_id": "pay"}}, 99_000)
    assert old.dismissed_tips() == ["pay"] and old.to_json()["dismissed"] == ["pay"]
