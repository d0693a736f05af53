from __future__ import annotations

import threading
from datetime import datetime, timezone


from server.eventlog import NewEvent, SqlEventLog
from server.eventlog.group import GroupCommitter
from tests.conftest import log_rows

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def ev(key: str) -> NewEvent:
    return NewEvent("widget", "widget.click", key, T0, {"k": key})


def test_concurrent_appends_are_all_committed_and_counted(db, tenant):
    t, _ = tenant
    committer = GroupCommitter(db, SqlEventLog())
    results: dict[int, object] = {}

    def worker(w: int) -> None:
        for i in range(20):
            results[w * 100 + i] = committer.append(t.id, [ev(f"{w}-{i}"), ev(f"{w}-{i}")], T0)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r.accepted == 1 and r.duplicates == 1 for r in results.values())
    assert len(log_rows(db)) == 120
    assert committer.appends == 120 and 1 <= committer.groups <= 120


def test_a_failing_append_fails_alone(db, tenant):
    t, _ = tenant
    committer = GroupCommitter(db, SqlEventLog())
    errors: list[Exception] = []
    done: list[int] = []

    def good(i: int) -> None:
        done.append(committer.append(t.id, [ev(f"ok{i}")], T0).accepted)

    def bad() -> None:
        try:
            committer.append(999_999, [ev("orphan")], T0)  # no such tenant: the foreign key refuses it
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=good, args=(i,)) for i in range(5)] + [threading.Thread(target=bad)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(errors) == 1 and done == [1] * 5
    assert sorted(r.idempotency_key for r in log_rows(db)) == [f"ok{i}" for i in range(5)]


def test_the_same_key_from_two_requests_is_stored_once(db, tenant):
    t, _ = tenant
    committer = GroupCommitter(db, SqlEventLog())
    results = []
    threads = [threading.Thread(target=lambda: results.append(committer.append(t.id, [ev("same")], T0)))
               for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.accepted for r in results) == [0] * 7 + [1]
    assert len(log_rows(db)) == 1
