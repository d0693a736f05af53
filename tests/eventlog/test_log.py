from __future__ import annotations

import threading
from datetime import datetime, timezone

from server.eventlog import NewEvent, SqlEventLog
from server.eventlog.log import iter_all

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def ev(key: str, source: str = "widget") -> NewEvent:
    return NewEvent(source=source, kind=f"{source}.click", idempotency_key=key, event_time=T0, payload={"k": key})


def test_append_is_idempotent_per_tenant_and_source(db, make_tenant):
    a, _ = make_tenant("Alpha")
    b, _ = make_tenant("Beta")
    log = SqlEventLog()
    with db.session() as s:
        r1 = log.append(s, a.id, [ev("1"), ev("2")], T0)
        r2 = log.append(s, a.id, [ev("2"), ev("3"), ev("3")], T0)
        r3 = log.append(s, a.id, [ev("2", source="zendesk")], T0)  # another source: another key space
        r4 = log.append(s, b.id, [ev("1")], T0)
        s.commit()
        assert (r1.accepted, r1.duplicates) == (2, 0)
        assert (r2.accepted, r2.duplicates) == (1, 2)
        assert (r3.accepted, r4.accepted) == (1, 1)
        assert log.head(s) == max(r4.offsets) and log.head(s, a.id) == max(r3.offsets)
        assert [e.idempotency_key for e in log.read(s, 0, 100, tenant_id=a.id)] == ["1", "2", "3", "2"]


def test_uncommitted_appends_are_not_in_the_log(db, tenant):
    t, _ = tenant
    log = SqlEventLog()
    with db.session() as s:
        log.append(s, t.id, [ev("lost")], T0)
        s.rollback()
    with db.session() as s:
        assert log.read(s, 0, 10) == []


def test_partitions_split_tenants_without_overlap(db, make_tenant):
    tenants = [make_tenant(f"T{i}")[0] for i in range(5)]
    log = SqlEventLog()
    with db.session() as s:
        for t in tenants:
            log.append(s, t.id, [ev(f"{t.id}-{i}") for i in range(3)], T0)
        s.commit()
        parts = [log.read(s, 0, 1000, partition=(i, 2)) for i in range(2)]
    assert {e.tenant_id % 2 for e in parts[0]} <= {0} and {e.tenant_id % 2 for e in parts[1]} <= {1}
    assert len(parts[0]) + len(parts[1]) == 15


def test_a_reader_following_concurrent_writers_misses_nothing(db, tenant):
    """Offsets must become visible in order: a reader that advanced past N has seen everything below N."""
    t, _ = tenant
    log = SqlEventLog()
    writers, per_writer = 4, 40
    done = threading.Event()
    seen: list[int] = []

    def write(w: int) -> None:
        for i in range(per_writer):
            with db.session() as s:
                log.append(s, t.id, [ev(f"{w}-{i}")], T0)
                s.commit()

    def read() -> None:
        after = 0
        with db.session() as s:
            while True:
                finished = done.is_set()
                batch = log.read(s, after, 50)
                s.commit()  # a fresh snapshot for the next read
                seen.extend(e.offset for e in batch)
                if batch:
                    after = batch[-1].offset
                elif finished:
                    return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    done.set()
    reader.join(timeout=60)
    assert len(seen) == writers * per_writer
    assert seen == sorted(seen)


def test_iter_all_pages_through_the_log(db, tenant):
    t, _ = tenant
    log = SqlEventLog()
    with db.session() as s:
        log.append(s, t.id, [ev(str(i)) for i in range(25)], T0)
        s.commit()
        assert [e.idempotency_key for e in iter_all(log, s, batch=7)] == [str(i) for i in range(25)]
