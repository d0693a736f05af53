"""Friction incidents: one per page, holding every signal that alarmed there, resolved once all are calm,
and back (not another one) when the page goes on failing after a resolve."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta

from sqlalchemy import select

from server.eventlog import SqlEventLog
from server.incidents import actions as incidents
from server.incidents.models import Incident, Notification
from server.incidents.writers import write_incident
from server.widget.detectors import HOUR, Alarm
from server.widget.friction import (CALM_HOURS_TO_RESOLVE, FAILING_AGAIN, REOPEN_AFTER, STILL_FAILING,
                                    FrictionIncident, FrictionIncidents)
from tests.widget.helpers import Log, failing
from tests.widget.test_stage import append_logged, configure, runner, traffic

H0 = 1_800_000_000.0 - 1_800_000_000.0 % HOUR


def alarm(path: str, signal: str, observed: int, expected: float = 2.0, p: float = 1e-6, hour: int = 0) -> Alarm:
    return Alarm(path, signal, observed, expected, p, {f"{path}{signal}{i}" for i in range(observed // 2)},
                 {f"u{i}" for i in range(3)}, H0 + hour * HOUR)


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def test_a_pages_failed_requests_and_rage_clicks_are_one_incident_and_another_page_is_another():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12, 4.9), H0 + 600, ids)
    fi.alarm(alarm("/invoices", "rage_click", 30, 10.1, p=1e-9), H0 + 700, ids)
    fi.alarm(alarm("/invoices", "failed_request", 20, 4.9), H0 + 900, ids)  # grows
    fi.alarm(alarm("/billing", "rage_click", 9, 1.0), H0 + 950, ids)
    snaps = {s["id"]: s for s in fi.take_changes()}
    assert sorted(snaps) == [1, 2]
    inv = snaps[1]
    assert inv["title"] == "Failed requests and rage clicks on /invoices"
    assert inv["sentence"].startswith("20 failed requests (usually 4.9 an hour) and 30 rage clicks (usually 10.1) "
                                      "on /invoices in the hour from ")
    assert [(x["signal"], x["observed"]) for x in inv["evidence"]["signals"]] == [("failed_request", 20),
                                                                                  ("rage_click", 30)]
    assert inv["p_value"] == 1e-9 and inv["evidence"]["signal"] == "failed_request"
    assert inv["evidence"]["observed"] == 20
    assert snaps[2]["title"] == "Rage clicks on /billing"
    # the rage clicks' sessions took /invoices from 6 to 21 sessions: grown materially
    assert [(i, e) for i, e, _seq, _snap in fi.take_notifications()] == [(1, "opened"), (1, "grew"), (2, "opened")]


def test_grew_is_told_once_the_sessions_double_and_add_five():
    fi, ids = FrictionIncidents(), Ids()

    def burst(n: int, at: float) -> None:
        fi.alarm(Alarm("/pay", "failed_request", n, 1.0, 1e-8, {f"s{i}" for i in range(n)}, set(), H0), at, ids)

    burst(4, H0 + 60)
    burst(8, H0 + 120)  # twice as many, but only 4 more
    burst(9, H0 + 180)  # 5 more, twice as many
    burst(17, H0 + 240)  # not yet twice 9
    burst(18, H0 + 300)
    assert [(e, seq) for _i, e, seq, _snap in fi.take_notifications()] == [("opened", 0), ("grew", 1), ("grew", 2)]
    assert fi.incidents[1].notified_sessions == 18


def test_a_persons_acknowledgement_and_resolution_are_told_where_the_opening_was():
    fi, ids = FrictionIncidents(), Ids()
    told = []

    def step(status: str, by: str, at: float) -> None:
        fi.set_status(1, status, by, at)
        told.extend((e, seq, snap["status"], snap["status_by"]) for _i, e, seq, snap in fi.take_notifications())

    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    step("acknowledged", "ana (Slack)", H0 + 900)
    step("acknowledged", "ana (Slack)", H0 + 950)  # no change: nothing to tell
    step("dismissed", "lead", H0 + 1000)
    step("resolved", "lead", H0 + 1100)  # already ended: nothing to close
    assert told == [("opened", 0, "acknowledged", "ana (Slack)"), ("acknowledged", 1, "acknowledged", "ana (Slack)"),
                    ("resolved", 2, "dismissed", "lead")]
    step("open", "lead", H0 + 1200)  # reopened by a person: the thread that said it ended hears so
    step("acknowledged", "lead", H0 + 1300)
    assert told[3:] == [("reopened", 3, "open", "lead"), ("acknowledged", 4, "acknowledged", "lead")]
    step("open", "lee", H0 + 1400)  # the acknowledgement taken back: the thread stops saying someone is on it
    step("acknowledged", "lee", H0 + 1500)
    assert told[5:] == [("reopened", 5, "open", "lee"), ("acknowledged", 6, "acknowledged", "lee")]


def test_first_seen_is_never_after_detection_when_browsers_clocks_disagree():
    fi, ids = FrictionIncidents(), Ids()
    a = alarm("/invoices", "failed_request", 12)
    a.rising_since = H0 + 905  # set by a later-timed event read before the one that raised the alarm
    fi.alarm(a, H0 + 900, ids)
    snap = fi.incidents[1].snapshot()
    assert snap["first_seen_at"] <= snap["detected_at"]


def test_the_incident_resolves_only_once_every_signal_is_calm():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.alarm(alarm("/invoices", "rage_click", 30), H0 + 700, ids)
    fi.take_notifications()
    for h in range(1, 1 + CALM_HOURS_TO_RESOLVE):  # failed requests calm, rage clicks still alarming
        fi.hour_closed("/invoices", "failed_request", H0 + h * HOUR, False)
        fi.hour_closed("/invoices", "rage_click", H0 + h * HOUR, True)
    assert fi.incidents[1].status == "open"
    for h in range(1 + CALM_HOURS_TO_RESOLVE, 1 + 2 * CALM_HOURS_TO_RESOLVE):
        fi.hour_closed("/invoices", "rage_click", H0 + h * HOUR, False)
    assert fi.incidents[1].status == "resolved" and fi.active == {}
    assert [e for _i, e, _s, _snap in fi.take_notifications()] == ["resolved"]
    fi.alarm(alarm("/invoices", "rage_click", 30, hour=20), H0 + 20 * HOUR + 60, ids)  # 15 h later: a new rise
    assert sorted(fi.incidents) == [1, 2] and fi.incidents[2].title() == "Rage clicks on /invoices"


def test_a_dismissal_silences_every_signal_of_the_page_for_a_day():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.alarm(alarm("/invoices", "rage_click", 30), H0 + 700, ids)
    fi.set_status(1, "dismissed", "Ana", H0 + 800)
    fi.alarm(alarm("/invoices", "rage_click", 40), H0 + 900, ids)
    fi.alarm(alarm("/invoices", "failed_request", 40), H0 + 1000, ids)
    assert list(fi.incidents) == [1] and fi.active == {}
    fi.set_status(1, "open", "Ana", H0 + 1100)  # reopened by a person: both signals are its again
    assert fi.active == {("/invoices", "failed_request"): 1, ("/invoices", "rage_click"): 1}


def test_an_incident_checkpointed_with_one_signal_loads_with_it():
    inc = FrictionIncident(id=7, path="/pay", signal="failed_request", first_seen=H0, detected=H0 + 60,
                           last_activity=H0 + 60, observed=9, expected=1.5, p=1e-7, calm_hours=1)
    inc.sessions = {f"s{i}" for i in range(6)}
    old = copy.copy(inc.__dict__)
    del old["signals"], old["notified_sessions"], old["window_start"]  # a checkpoint from before these
    restored = FrictionIncident.__new__(FrictionIncident)
    restored.__setstate__(old)
    assert list(restored.signals) == ["failed_request"] and restored.signals["failed_request"].calm_hours == 1
    assert restored.notified_sessions == 6  # its size is not news after an upgrade
    assert restored.snapshot()["title"] == "Failed requests on /pay"
    again = pickle.loads(pickle.dumps(restored))
    assert again.snapshot() == restored.snapshot()


def test_an_incidents_chart_is_written_while_it_is_active_and_a_day_after_it_ends():
    fi, ids = FrictionIncidents(), Ids()
    assert not fi.charted("/invoices", "failed_request", H0)
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.alarm(alarm("/invoices", "rage_click", 30), H0 + 700, ids)
    assert fi.charted("/invoices", "failed_request", H0 + 100 * HOUR)  # the opening signal's series
    assert not fi.charted("/invoices", "rage_click", H0 + HOUR)
    for h in range(1, 1 + CALM_HOURS_TO_RESOLVE):
        for sig in ("failed_request", "rage_click"):
            fi.hour_closed("/invoices", sig, H0 + h * HOUR, False)
    end = H0 + (1 + CALM_HOURS_TO_RESOLVE) * HOUR
    assert fi.incidents[1].resolved == end
    assert fi.charted("/invoices", "failed_request", end + 23 * HOUR)
    assert not fi.charted("/invoices", "failed_request", end + 24 * HOUR)
    assert not fi.charted("/invoices", "failed_request", end)  # forgotten once past
    fi.set_status(1, "open", "Ana", end + 30 * HOUR)  # reopened: charted again
    assert fi.charted("/invoices", "failed_request", end + 31 * HOUR)


def test_a_sentence_judged_per_visitor_names_the_visitors_once_or_per_signal():
    fi, ids = FrictionIncidents(), Ids()
    a, b = alarm("/invoices", "failed_request", 12, 1.5), alarm("/invoices", "rage_click", 30, 3.0)
    a.visitors, b.visitors = 80, 80
    fi.alarm(a, H0 + 600, ids)
    fi.alarm(b, H0 + 700, ids)
    [snap] = fi.take_changes()
    # the hour is open: its expectation is for the visitors so far, not what a whole hour usually has
    assert snap["sentence"].startswith("12 failed requests and 30 rage clicks among 80 visitors so far on /invoices "
                                       "in the hour from 08:00 UTC (1.5 and 3.0 expected from that many), from ")
    assert [(x["visitors"], x["so_far"]) for x in snap["evidence"]["signals"]] == [(80, True), (80, True)]
    c = alarm("/invoices", "rage_click", 40, 4.0)
    c.visitors = 95
    fi.alarm(c, H0 + 900, ids)
    [snap] = fi.take_changes()
    assert snap["sentence"].startswith("12 failed requests (1.5 expected from the 80 visitors so far) and 40 rage clicks "
                                       "(4.0 expected from the 95 visitors so far) on /invoices")
    # the hour closes: the whole hour's counts, and what its visitors usually bring
    fi.hour_closed("/invoices", "failed_request", H0, True, (14, 2.1, 120))
    [snap] = fi.take_changes()
    assert snap["sentence"].startswith("14 failed requests (usually 2.1 from 120 visitors) and 40 rage clicks "
                                       "(4.0 expected from the 95 visitors so far) on /invoices")
    fi.hour_closed("/invoices", "rage_click", H0, True, (41, 5.0, 120))
    [snap] = fi.take_changes()
    assert snap["sentence"].startswith("14 failed requests (usually 2.1) and 41 rage clicks (usually 5.0) among 120 "
                                       "visitors on /invoices in the hour from 08:00 UTC, from ")
    assert [(x["observed"], x["visitors"], x["so_far"]) for x in snap["evidence"]["signals"]] == [(14, 120, False),
                                                                                                (41, 120, False)]
    fi.hour_closed("/invoices", "rage_click", H0 + HOUR, True, (2, 5.0, 100))  # a later, smaller hour: kept
    assert fi.take_changes() == [] and fi.incidents[1].signals["rage_click"].observed == 41


def test_a_sentence_tells_the_hour_of_its_counts_when_a_later_hour_was_worse():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.hour_closed("/invoices", "failed_request", H0, True, (12, 2.0, 0))
    fi.alarm(alarm("/invoices", "failed_request", 30, hour=1), H0 + HOUR + 300, ids)
    [snap] = fi.take_changes()
    assert " in the hour from 09:00 UTC, from " in snap["sentence"], snap["sentence"]
    assert snap["evidence"]["window_start_at"].endswith("T08:00:00+00:00")  # the hour that opened it


def test_a_sentence_gives_a_usual_count_under_one_as_the_evidence_shows_it_never_as_0_0():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 51, 0.0412), H0 + 600, ids)
    fi.alarm(alarm("/invoices", "rage_click", 19, 0.003), H0 + 700, ids)
    [snap] = fi.take_changes()
    assert [x["expected"] for x in snap["evidence"]["signals"]] == [0.041, 0.003]
    assert snap["sentence"].startswith("51 failed requests (usually 0.04 an hour) and 19 rage clicks "
                                       "(usually under 0.01) on /invoices in the hour from ")


def told(fi: FrictionIncidents) -> list[tuple[int, str, str, str]]:
    return [(i, e, snap["status"], snap["status_by"]) for i, e, _seq, snap in fi.take_notifications()]


def test_resolving_it_while_the_page_still_fails_reopens_it_once_instead_of_opening_another():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.alarm(alarm("/invoices", "rage_click", 30), H0 + 700, ids)
    first_seen = fi.incidents[1].snapshot()["first_seen_at"]
    fi.set_status(1, "resolved", "Ana", H0 + 900)
    assert [e for _i, e, _s, _st in told(fi)] == ["opened", "grew", "resolved"]
    assert not fi.alarm(alarm("/invoices", "failed_request", 16), H0 + 960, ids)  # still failing, a minute later
    fi.alarm(alarm("/invoices", "rage_click", 34), H0 + 1000, ids)
    fi.alarm(alarm("/invoices", "failed_request", 18), H0 + 1100, ids)
    assert list(fi.incidents) == [1] and ids.n == 1  # no second incident, no id spent
    inc = fi.incidents[1]
    assert (inc.status, inc.status_by, inc.status_changed, inc.resolved) == ("open", "detector", H0 + 960, None)
    assert fi.active == {("/invoices", "failed_request"): 1, ("/invoices", "rage_click"): 1}
    assert told(fi) == [(1, "reopened", "open", "detector")]  # once, whatever alarms follow
    snap = inc.snapshot()
    assert snap["first_seen_at"] == first_seen and snap["detected_at"].timestamp() == H0 + 600
    assert snap["evidence"]["reopened"] == {"at": "2027-01-15T08:16:00+00:00",
                                            "resolved_at": "2027-01-15T08:15:00+00:00",
                                            "resolved_by": "Ana", "reason": STILL_FAILING}
    assert snap["sentence"].endswith(" Reopened at 08:16 UTC: still failing after it was resolved at 08:15 UTC.")
    # it goes on as any active incident: it resolves once calm, and says so once more
    for h in range(1, 1 + CALM_HOURS_TO_RESOLVE):
        for sig in ("failed_request", "rage_click"):
            fi.hour_closed("/invoices", sig, H0 + h * HOUR, False)
    assert inc.status == "resolved" and told(fi) == [(1, "resolved", "resolved", "detector")]


def test_a_persons_resolve_of_a_calm_page_stands_and_a_later_surge_is_a_new_incident():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.hour_closed("/invoices", "failed_request", H0, True)
    fi.hour_closed("/invoices", "failed_request", H0 + HOUR, False)  # one calm hour: not resolved yet
    fi.set_status(1, "resolved", "Ana", H0 + 2 * HOUR + 600)
    fi.hour_closed("/invoices", "failed_request", H0 + 2 * HOUR, False)  # a second calm hour: it had ended
    fi.take_notifications()
    fi.alarm(alarm("/invoices", "failed_request", 14, hour=3), H0 + 3 * HOUR + 900, ids)  # a new problem
    assert sorted(fi.incidents) == [1, 2] and fi.incidents[1].status == "resolved"
    assert fi.incidents[1].status_by == "Ana" and "reopened" not in fi.incidents[2].snapshot()["evidence"]
    assert told(fi) == [(2, "opened", "open", "detector")]
    # a day later, after the second one was resolved by a person while calm: a third
    for h in (4, 5):
        fi.hour_closed("/invoices", "failed_request", H0 + h * HOUR, False)
    fi.set_status(2, "resolved", "Ana", H0 + 6 * HOUR)
    fi.alarm(alarm("/invoices", "failed_request", 20, hour=30), H0 + 30 * HOUR + 60, ids)
    assert sorted(fi.incidents) == [1, 2, 3] and fi.incidents[2].status == "resolved"


def test_after_a_persons_resolve_a_calm_hour_then_failures_are_still_the_same_incident():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/pay", "failed_request", 12), H0 + 600, ids)
    fi.set_status(1, "resolved", "Ana", H0 + 1200)
    fi.hour_closed("/pay", "failed_request", H0, True)  # the hour it was resolved in was failing
    fi.hour_closed("/pay", "failed_request", H0 + HOUR, False)  # one calm hour is not the end
    fi.alarm(alarm("/pay", "failed_request", 9, hour=2), H0 + 2 * HOUR + 300, ids)
    assert list(fi.incidents) == [1] and fi.incidents[1].status == "open"
    assert fi.incidents[1].reopened[3] == STILL_FAILING


def test_a_rise_soon_after_the_detector_resolved_it_reopens_it_as_the_ticket_engine_does():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.alarm(alarm("/invoices", "rage_click", 30), H0 + 700, ids)
    for h in range(1, 1 + CALM_HOURS_TO_RESOLVE):
        for sig in ("failed_request", "rage_click"):
            fi.hour_closed("/invoices", sig, H0 + h * HOUR, False)
    end = H0 + (1 + CALM_HOURS_TO_RESOLVE) * HOUR
    fi.take_notifications()
    for h in range(3, 8):  # calm hours after it ended do not free it: the detector's resolve is already calm
        fi.hour_closed("/invoices", "rage_click", H0 + h * HOUR, False)
    fi.alarm(alarm("/invoices", "rage_click", 25, hour=8), H0 + 8 * HOUR + 60, ids)
    assert list(fi.incidents) == [1] and fi.incidents[1].status == "open"
    assert told(fi) == [(1, "reopened", "open", "detector")]
    assert fi.incidents[1].snapshot()["evidence"]["reopened"]["reason"] == FAILING_AGAIN
    assert fi.charted("/invoices", "failed_request", end + 30 * HOUR)  # active again: its chart goes on
    for h in range(9, 9 + CALM_HOURS_TO_RESOLVE):  # calm again: resolved again
        for sig in ("failed_request", "rage_click"):
            fi.hour_closed("/invoices", sig, H0 + h * HOUR, False)
    again = fi.incidents[1].resolved
    assert again == H0 + 11 * HOUR
    fi.alarm(alarm("/invoices", "failed_request", 25, hour=23), again + REOPEN_AFTER + 60, ids)  # past 12 h
    assert sorted(fi.incidents) == [1, 2] and fi.incidents[1].status == "resolved"


def test_a_signal_that_never_alarmed_on_the_page_opens_its_own_incident_after_a_resolve():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.set_status(1, "resolved", "Ana", H0 + 900)
    fi.alarm(alarm("/invoices", "js_error", 12), H0 + 1000, ids)
    assert sorted(fi.incidents) == [1, 2] and fi.incidents[1].status == "resolved"


def test_a_dismissed_incident_stays_quiet_and_never_comes_back_by_itself():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.set_status(1, "dismissed", "Ana", H0 + 900)
    fi.take_notifications()
    fi.alarm(alarm("/invoices", "failed_request", 40), H0 + 1000, ids)
    assert list(fi.incidents) == [1] and fi.incidents[1].status == "dismissed" and told(fi) == []
    fi.alarm(alarm("/invoices", "failed_request", 40, hour=25), H0 + 25 * HOUR, ids)  # the day is over
    assert sorted(fi.incidents) == [1, 2] and fi.incidents[1].status == "dismissed"


def test_a_persons_later_decision_on_a_resolved_incident_is_not_undone():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.set_status(1, "resolved", "Ana", H0 + 900)
    fi.set_status(1, "open", "Ben", H0 + 950)  # a person reopened it: theirs
    fi.set_status(1, "resolved", "Ben", H0 + 1000)
    fi.alarm(alarm("/invoices", "failed_request", 20), H0 + 1100, ids)
    assert list(fi.incidents) == [1] and fi.incidents[1].reopened[1:3] == (H0 + 1000, "Ben")


def test_a_checkpoint_taken_after_a_resolve_reopens_after_a_restart_and_an_old_one_loads():
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/invoices", "failed_request", 12), H0 + 600, ids)
    fi.set_status(1, "resolved", "Ana", H0 + 900)
    restored = pickle.loads(pickle.dumps(fi))
    restored.alarm(alarm("/invoices", "failed_request", 20), H0 + 1000, ids)
    assert list(restored.incidents) == [1] and restored.incidents[1].status == "open"
    # a checkpoint written before resolved incidents could come back: no record of what ended
    old = pickle.loads(pickle.dumps(fi))
    del old.__dict__["ended"]
    for inc in old.incidents.values():
        del inc.__dict__["reopened"]
    old = pickle.loads(pickle.dumps(old))
    assert old.incidents[1].snapshot()["sentence"] == fi.incidents[1].snapshot()["sentence"]
    old.alarm(alarm("/invoices", "failed_request", 20), H0 + 1000, ids)  # as before: a new incident
    assert sorted(old.incidents) == [1, 2]
    old.set_status(2, "resolved", "Ana", H0 + 1100)  # and from then on it knows
    old.alarm(alarm("/invoices", "failed_request", 24), H0 + 1200, ids)
    assert sorted(old.incidents) == [1, 2] and old.incidents[2].status == "open"


def test_resolving_through_the_api_while_the_page_fails_reopens_the_same_incident_row(db, make_tenant):
    t, _ = make_tenant("Resolved too soon")
    configure(db, t.id)
    events = traffic(t.id)
    append_logged(db, events)
    runner(db).run_until_idle()

    def friction() -> list[Incident]:
        with db.session() as s:
            return list(s.scalars(select(Incident).where(Incident.tenant_id == t.id, Incident.kind == "friction")))

    (opened,) = friction()
    last = max(e.event_time for e in events if e.payload.get("session_id", "").startswith("b"))  # the burst's
    with db.session() as s:
        incidents.set_status(s, SqlEventLog(), t.id, opened.id, status="resolved", by="Ana",
                             now=last + timedelta(minutes=1), view=False)
    log = Log(t.id)
    log.offset = 10_000_000
    more = []
    for j in range(4):  # the page goes on failing
        more += failing(log, f"after{j}", last + timedelta(minutes=2 + j), n=2, user_id=str(9000 + j))
    append_logged(db, more)
    runner(db).run_until_idle()
    (row,) = friction()
    assert row.id == opened.id and (row.status, row.status_by, row.resolved_at) == ("open", "detector", None)
    assert row.evidence["reopened"]["resolved_by"] == "Ana" and "still failing after it was resolved" in row.sentence
    with db.session() as s:
        sent = [n.event for n in s.scalars(select(Notification).where(
            Notification.tenant_id == t.id, Notification.incident_id == row.id).order_by(Notification.seq))]
    assert sent == ["opened", "grew", "resolved", "reopened"]


def test_the_writer_takes_a_reopening_only_of_the_resolve_the_row_holds(db, make_tenant):
    t, _ = make_tenant("Stale")
    fi, ids = FrictionIncidents(), Ids()
    fi.alarm(alarm("/pay", "failed_request", 12), H0 + 600, ids)
    fi.set_status(1, "resolved", "Ana", H0 + 900)
    fi.alarm(alarm("/pay", "failed_request", 20), H0 + 1000, ids)  # reopened after Ana's resolve
    reopened = fi.incidents[1].snapshot()
    ana = reopened["evidence"]["reopened"]["resolved_at"]
    with db.session() as s:
        write_incident(s, (t.id, 1), reopened, reopened["detected_at"])
        row = s.get(Incident, (t.id, 1))
        # Ana resolved it again through the API; the detector writes before it has read that
        row.status, row.status_by = "resolved", "Ana"
        row.status_changed_at = row.resolved_at = reopened["status_changed_at"] + timedelta(minutes=5)
        write_incident(s, (t.id, 1), reopened, reopened["detected_at"])
        assert (row.status, row.status_by) == ("resolved", "Ana")  # her later resolve stands
        # the row as it was when the detector read her first resolve: the reopening is taken
        row.status_changed_at = row.resolved_at = reopened["status_changed_at"] - timedelta(seconds=100)
        assert row.status_changed_at.isoformat() == ana
        write_incident(s, (t.id, 1), reopened, reopened["detected_at"])
        assert (row.status, row.status_by, row.resolved_at) == ("open", "detector", None)
        s.rollback()
