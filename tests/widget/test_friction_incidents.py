"""Friction incidents: one per page, holding every signal that alarmed there, resolved once all are calm."""

from __future__ import annotations

import copy
import pickle

from server.widget.detectors import HOUR, Alarm
from server.widget.friction import CALM_HOURS_TO_RESOLVE, FrictionIncident, FrictionIncidents

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
    fi.alarm(alarm("/invoices", "rage_click", 30, hour=8), H0 + 8 * HOUR + 60, ids)  # a new rise: a new incident
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
    assert snap["sentence"].startswith("12 failed requests (usually 1.5) and 30 rage clicks (usually 3.0) among 80 "
                                       "visitors on /invoices in the hour from ")
    assert [x["visitors"] for x in snap["evidence"]["signals"]] == [80, 80]
    c = alarm("/invoices", "rage_click", 40, 4.0)
    c.visitors = 95
    fi.alarm(c, H0 + 900, ids)
    [snap] = fi.take_changes()
    assert snap["sentence"].startswith("12 failed requests (usually 1.5 from 80 visitors) and 40 rage clicks "
                                       "(usually 4.0 from 95 visitors) on /invoices")
