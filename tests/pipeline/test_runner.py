from __future__ import annotations

import pickle
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from server.eventlog import NewEvent, SqlEventLog
from server.pipeline import IngestStats, Runner
from server.pipeline.runner import run_forever
from server.pipeline.models import DetectorCheckpoint, IngestStat

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def fill(db, tenant_id: int, n: int, source: str = "widget", start: int = 0) -> None:
    log = SqlEventLog()
    with db.session() as s:
        log.append(s, tenant_id, [NewEvent(source, f"{source}.x", f"{source}{i}", T0, {})
                                  for i in range(start, start + n)], T0)
        s.commit()


def stats_table(db) -> dict:
    with db.session() as s:
        return {(r.tenant_id, r.source): (r.total, r.minutes, r.kinds, r.last_offset)
                for r in s.scalars(select(IngestStat))}


def test_runner_checkpoints_offset_state_and_outputs_together(db, tenant):
    t, _ = tenant
    fill(db, t.id, 23)
    runner = Runner(db, SqlEventLog(), batch_size=10)
    assert runner.step() == 10
    with db.session() as s:
        cp = s.get(DetectorCheckpoint, "p0of1")
        assert cp.offset == runner.offset and cp.events_processed == 10
    assert stats_table(db)[(t.id, "widget")][0] == 10
    assert runner.run_until_idle() == 13
    assert runner.step() == 0


def test_a_new_runner_resumes_from_the_checkpoint(db, tenant):
    t, _ = tenant
    fill(db, t.id, 30)
    first = Runner(db, SqlEventLog(), batch_size=8)
    first.step()
    first.step()
    second = Runner(db, SqlEventLog(), batch_size=8)  # as after a restart
    assert second.offset == first.offset and second.processed == 16
    assert second.run_until_idle() == 14
    assert stats_table(db)[(t.id, "widget")][0] == 30


class Exploding(IngestStats):
    """Fails on one offset (a class attribute, so restored copies share the fault)."""

    name = "exploding"
    at = -1

    def apply(self, event):  # type: ignore[no-untyped-def]
        if event.offset == self.at:
            raise RuntimeError("boom")
        super().apply(event)


def test_a_failed_batch_rolls_back_state_and_outputs(db, tenant):
    t, _ = tenant
    fill(db, t.id, 20)
    with db.session() as s:
        offsets = [o for (o,) in s.execute(select(DetectorCheckpoint.offset))]
    assert offsets == []
    log = SqlEventLog()
    with db.session() as s:
        bad_offset = log.read(s, 0, 20)[14].offset
    Exploding.at = bad_offset
    runner = Runner(db, log, lambda: [IngestStats(), Exploding()], batch_size=10)
    runner.step()
    with pytest.raises(RuntimeError):
        runner.step()
    # Nothing of the failed batch was committed, and memory went back to the checkpoint.
    assert stats_table(db)[(t.id, "widget")][0] == 10
    assert runner.stages[0].stats[(t.id, "widget")].total == 10
    Exploding.at = -1  # the fault is gone
    assert runner.run_until_idle() == 10
    assert stats_table(db)[(t.id, "widget")][0] == 20


def test_partitioned_runners_together_equal_one_runner(db, make_tenant):
    tenants = [make_tenant(f"T{i}")[0] for i in range(4)]
    for t in tenants:
        fill(db, t.id, 7)
        fill(db, t.id, 3, source="zendesk")
    for i in range(2):
        Runner(db, SqlEventLog(), partition=(i, 2), batch_size=4).run_until_idle()
    split = stats_table(db)
    with db.session() as s:
        s.query(IngestStat).delete()
        s.query(DetectorCheckpoint).delete()
        s.commit()
    Runner(db, SqlEventLog(), batch_size=4).run_until_idle()
    assert stats_table(db) == split
    assert len(split) == 8


def test_a_deleted_tenants_state_is_forgotten_before_anything_is_written_for_it(db, make_tenant, caplog):
    kept, gone = make_tenant("Kept")[0], make_tenant("Gone")[0]
    fill(db, kept.id, 5)
    fill(db, gone.id, 5)
    runner = Runner(db, SqlEventLog(), batch_size=100)
    runner.run_until_idle()
    (stats,) = runner.stages
    assert {k[0] for k in stats.stats} == {kept.id, gone.id}
    stats._dirty.add((gone.id, "widget"))  # something of it still to write when it goes
    with db.session() as s:
        s.delete(s.get(type(gone), gone.id))
        s.commit()
    fill(db, kept.id, 2, start=5)
    assert runner.run_until_idle() == 2
    # its row, written for a tenant no longer there, would fail the batch (then re-run event by event)
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
    assert {k[0] for k in stats.stats} == {kept.id}
    assert set(stats_table(db)) == {(kept.id, "widget")}
    with db.session() as s:  # and the checkpoint keeps none of it
        saved = pickle.loads(s.get(DetectorCheckpoint, "p0of1").state)
    assert {k[0] for k in saved[stats.name]["stats"]} == {kept.id}


def test_bad_partition_is_refused(db):
    with pytest.raises(ValueError):
        Runner(db, SqlEventLog(), partition=(2, 2))


def test_infrequent_checkpoints_still_land_when_caught_up(db, tenant):
    t, _ = tenant
    fill(db, t.id, 40)
    runner = Runner(db, SqlEventLog(), batch_size=10, checkpoint_seconds=3600)
    assert runner.step() == 10
    with db.session() as s:
        assert s.get(DetectorCheckpoint, "p0of1") is None  # not due yet: outputs only
    assert stats_table(db)[(t.id, "widget")][0] == 10
    assert runner.run_until_idle() == 30  # the last read finds nothing new and checkpoints
    with db.session() as s:
        assert s.get(DetectorCheckpoint, "p0of1").offset == runner.offset
    # A restart from a stale checkpoint replays and rewrites the same outputs.
    fill(db, t.id, 5, source="zendesk")
    runner.step()
    Runner(db, SqlEventLog(), batch_size=10, checkpoint_seconds=3600).run_until_idle()
    assert stats_table(db)[(t.id, "zendesk")][0] == 5 and stats_table(db)[(t.id, "widget")][0] == 40


def test_a_live_trickle_checkpoints_on_its_schedule_and_a_stop_saves_the_rest(db, tenant):
    t, _ = tenant
    fill(db, t.id, 12)
    runner = Runner(db, SqlEventLog(), batch_size=10, checkpoint_seconds=3600)
    assert runner.run_until_idle() == 12  # a catch-up of more than a batch: saved on reaching the head
    with db.session() as s:
        saved = s.get(DetectorCheckpoint, "p0of1").offset
    assert saved == runner.offset
    for k in range(3):  # live: a few events at a time, each batch reaching the head of the log
        fill(db, t.id, 2, start=100 + 2 * k)
        assert runner.run_until_idle() == 2
    with db.session() as s:
        assert s.get(DetectorCheckpoint, "p0of1").offset == saved  # not rewritten for each small batch
    assert stats_table(db)[(t.id, "widget")][0] == 18  # while the outputs are current
    runner.flush()
    with db.session() as s:
        assert s.get(DetectorCheckpoint, "p0of1").offset == runner.offset
    # A restart from the flushed checkpoint reads nothing again.
    assert Runner(db, SqlEventLog(), batch_size=10, checkpoint_seconds=3600).run_until_idle() == 0


def test_run_forever_saves_its_last_batches_when_stopped(db, tenant):
    t, _ = tenant
    fill(db, t.id, 12)
    runner = Runner(db, SqlEventLog(), batch_size=10, checkpoint_seconds=3600)
    runner.run_until_idle()
    fill(db, t.id, 3, start=100)
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(runner,), kwargs={"poll_seconds": 0.01, "stop": stop})
    thread.start()
    deadline = time.monotonic() + 10
    while runner.processed < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(10)
    with db.session() as s:
        assert s.get(DetectorCheckpoint, "p0of1").offset == runner.offset and runner.processed == 15
