"""One event the detector cannot process must not stall its partition: it is isolated, recorded and skipped."""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from server.cli import main
from server.eventlog import NewEvent, SqlEventLog
from server.pipeline import IngestStats, Runner
from server.pipeline.models import DeadLetter, DetectorCheckpoint, IngestStat
from server.pipeline.registry import stage_factory
from server.pipeline.runner import MAX_DEAD_LETTERS
from server.topics.models import Ticket
from tests.conftest import TEST_SECRET_KEY
from tests.understand.fakes import HashingEmbedder

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
#: The security review's ticket: a numeric character reference of 5,000 digits.
POISON = "<p>Invoice &#" + "1" * 5000 + "</p>"


def ticket(ticket_id: int, description: str, at: datetime) -> dict:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "zen:event-type:ticket.created", "account_id": 1, "id": f"ev-{ticket_id}", "time": stamp,
            "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket_id}",
            "detail": {"id": str(ticket_id), "subject": "Invoice PDF is blank", "description": description,
                       "status": "NEW", "requester_id": "5", "created_at": stamp, "via": {"channel": "web"}},
            "event": {}}


def append_tickets(db, tenant_id: int, items: list[tuple[int, str]]) -> list[int]:
    offsets = []
    with db.session() as s:
        for i, (ticket_id, description) in enumerate(items):
            at = T0 + timedelta(minutes=ticket_id)
            body = ticket(ticket_id, description, at)
            offsets += SqlEventLog().append(s, tenant_id, [NewEvent("zendesk", "zendesk.ticket.created", body["id"],
                                                                    at, body)], at).offsets
        s.commit()
    return offsets


def fill(db, tenant_id: int, n: int, start: int = 0) -> list[int]:
    with db.session() as s:
        result = SqlEventLog().append(s, tenant_id, [NewEvent("widget", "widget.x", f"w{i}", T0, {})
                                                     for i in range(start, start + n)], T0)
        s.commit()
    return list(result.offsets)


def dead(db) -> list[tuple]:
    with db.session() as s:
        return [(r.offset, r.partition, r.tenant_id, r.kind, r.error_class, r.attempts)
                for r in s.scalars(select(DeadLetter).order_by(DeadLetter.offset))]


def stats_table(db) -> dict:
    with db.session() as s:
        return {(r.tenant_id, r.source): (r.total, r.kinds, r.last_offset) for r in s.scalars(select(IngestStat))}


def unguarded_clean(raw: str, max_chars: int = 5000) -> str:
    """Text cleaning as it was before it bounded character references: html.unescape raises on the poison."""
    return html.unescape(raw)[:max_chars]


def test_a_poison_ticket_is_skipped_and_the_other_tenant_in_its_partition_is_served(db, make_tenant, monkeypatch):
    monkeypatch.setattr("server.understand.stage.clean", unguarded_clean)  # a parser fault the fix does not cover
    attacker, innocent = make_tenant("Attacker")[0], make_tenant("Innocent")[0]
    append_tickets(db, innocent.id, [(1, "Every page of the invoice is empty.")])
    [poison] = append_tickets(db, attacker.id, [(7, POISON)])
    append_tickets(db, innocent.id, [(8, "The invoice download shows a blank page.")])
    runner = Runner(db, SqlEventLog(), stage_factory(db, embed=HashingEmbedder().embed, secret_key=TEST_SECRET_KEY),
                    batch_size=50, checkpoint_seconds=3600)
    assert runner.run_until_idle() == 3
    with db.session() as s:
        tickets = {(t.tenant_id, t.zendesk_id) for t in s.scalars(select(Ticket))}
        assert s.get(DetectorCheckpoint, "p0of1").offset == runner.offset
    assert tickets == {(innocent.id, "1"), (innocent.id, "8")}
    assert dead(db) == [(poison, "p0of1", attacker.id, "zendesk.ticket.created", "builtins.ValueError", 2)]
    with db.session() as s:
        assert "4300 digits" in s.get(DeadLetter, poison).error and len(s.get(DeadLetter, poison).error) <= 500
    # Later tickets are batched again, and the skipped event is not tried nor recorded again.
    append_tickets(db, innocent.id, [(9, "Still blank."), (10, "Blank again today.")])
    assert runner.run_until_idle() == 2 and runner.isolate_through is None
    runner.flush()
    assert Runner(db, SqlEventLog(), stage_factory(db, embed=HashingEmbedder().embed,
                                                   secret_key=TEST_SECRET_KEY)).run_until_idle() == 0
    assert len(dead(db)) == 1


class Faulty(IngestStats):
    """Raises ``error()`` on one offset while ``left`` > 0 (class attributes: restored copies share them)."""

    name = "faulty"
    at = -1
    left = 0
    error: type[Exception] = RuntimeError
    tried = 0

    def apply(self, event):  # type: ignore[no-untyped-def]
        if event.offset == self.at:
            type(self).tried += 1
            if type(self).left > 0:
                type(self).left -= 1
                raise type(self).error("boom")
        super().apply(event)


def connection_lost(_message: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def checkpoint(db) -> int | None:
    with db.session() as s:
        cp = s.get(DetectorCheckpoint, "p0of1")
        return None if cp is None else cp.offset


def test_a_failed_batch_is_rerun_one_event_at_a_time_and_the_event_failing_alone_twice_is_skipped(db, tenant, faulty):
    t, _ = tenant
    offsets = fill(db, t.id, 20)
    faulty.at, faulty.left = offsets[13], 99
    runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), Faulty()], batch_size=10, checkpoint_seconds=3600)
    assert runner.step() == 10  # not checkpointed yet: a restore goes back to the start
    with pytest.raises(RuntimeError):
        runner.step()
    assert runner.offset == 0 and runner.isolate_through == offsets[19]
    assert runner.step() == 10 and runner.offset == offsets[9]  # the batch that had passed, again as a batch
    for k in range(10, 13):  # then the failed batch one event at a time, in memory
        assert runner.step() == 1 and runner.offset == offsets[k]
    assert checkpoint(db) is None
    with pytest.raises(RuntimeError):
        runner.step()  # alone, once: not yet blamed; back to the snapshot before the failed batch
    assert dead(db) == [] and runner.offset == offsets[9]
    assert runner.step() == 3 and runner.offset == offsets[12]  # the events before it, as a batch
    assert runner.step() == 1  # alone, twice, from right before it: recorded and skipped
    assert dead(db) == [(offsets[13], "p0of1", t.id, "widget.x", "builtins.RuntimeError", 2)]
    assert runner.offset == offsets[13] == checkpoint(db) and runner.processed == 13
    assert runner.run_until_idle() == 6
    assert runner.isolate_through is None and runner.processed == 19 and checkpoint(db) == offsets[19]
    assert stats_table(db)[(t.id, "widget")][0] == 19


def test_a_second_bad_event_in_the_failed_batch_is_isolated_from_the_first_ones_snapshot(db, tenant):
    t, _ = tenant
    offsets = fill(db, t.id, 12)

    class TwoBad(IngestStats):
        name = "two_bad"

        def apply(self, event):  # type: ignore[no-untyped-def]
            super().apply(event)  # half applied, then it fails: only a restore undoes it
            if event.offset in (offsets[3], offsets[8]):
                raise ValueError("bad")

    runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), TwoBad()], batch_size=12, checkpoint_seconds=3600)
    assert runner.run_until_idle() == 12
    assert [d[0] for d in dead(db)] == [offsets[3], offsets[8]] and runner.processed == 10
    assert runner.stages[1].stats[(t.id, "widget")].total == 10 == stats_table(db)[(t.id, "widget")][0]
    assert Runner(db, SqlEventLog(), lambda: [IngestStats(), TwoBad()]).stages[1].stats[(t.id, "widget")].total == 10


def test_an_event_that_fails_once_alone_is_not_skipped(db, tenant, faulty):
    t, _ = tenant
    offsets = fill(db, t.id, 6)
    faulty.at, faulty.left = offsets[2], 2  # fails in its batch and once alone, then works
    runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), Faulty()], batch_size=10)
    assert runner.run_until_idle() == 6
    assert dead(db) == [] and stats_table(db)[(t.id, "widget")][0] == 6
    assert runner.stages[1].stats[(t.id, "widget")].total == 6


def test_a_lost_database_connection_is_retried_never_blamed_on_an_event(db, tenant, faulty):
    t, _ = tenant
    offsets = fill(db, t.id, 5)
    faulty.at, faulty.left, faulty.error = offsets[0], 4, connection_lost
    runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), Faulty()], batch_size=1)
    for _ in range(4):  # a batch of one event, failing more often than a poison event may
        with pytest.raises(OperationalError):
            runner.step()
        assert runner.isolate_through is None and runner.offset == 0
    with pytest.raises(OperationalError):  # run_until_idle does not swallow it either
        faulty.left = 1
        runner.run_until_idle()
    assert runner.run_until_idle() == 5
    assert dead(db) == [] and stats_table(db)[(t.id, "widget")][0] == 5


def test_a_restarted_runner_skips_the_same_event_and_ends_in_the_same_state(db, tenant, faulty):
    t, _ = tenant
    offsets = fill(db, t.id, 30)
    faulty.at, faulty.left = offsets[17], 99

    def stages():  # type: ignore[no-untyped-def]
        return [IngestStats(), Faulty()]

    Runner(db, SqlEventLog(), stages, batch_size=7).run_until_idle()
    uninterrupted = stats_table(db), dead(db)
    assert [d[0] for d in uninterrupted[1]] == [offsets[17]]

    def reset(keep_dead: bool) -> None:
        with db.session() as s:
            s.query(IngestStat).delete()
            s.query(DetectorCheckpoint).delete()
            if not keep_dead:
                s.query(DeadLetter).delete()
            s.commit()

    # From no checkpoint at all (a replay): the recorded event is skipped without being tried.
    reset(keep_dead=True)
    faulty.tried = 0
    Runner(db, SqlEventLog(), stages, batch_size=7).run_until_idle()
    assert (stats_table(db), dead(db)) == uninterrupted and faulty.tried == 0
    # Stopped in the middle of isolating (a crash after the batch failed, and after one failure alone): the
    # restarted runner finds and skips the same event.
    reset(keep_dead=False)
    first = Runner(db, SqlEventLog(), stages, batch_size=7, checkpoint_seconds=3600)
    first.step(), first.step()
    first.flush()
    with pytest.raises(RuntimeError):
        first.step()
    for _ in range(offsets.index(first.isolate_through) - 14):
        try:
            first.step()
        except RuntimeError:
            break
    restarted = Runner(db, SqlEventLog(), stages, batch_size=7, checkpoint_seconds=3600)
    restarted.run_until_idle()
    assert (stats_table(db), dead(db)) == uninterrupted
    assert restarted.processed == 29


def test_many_failing_events_in_a_row_stop_being_skipped(db, tenant, faulty):
    t, _ = tenant
    offsets = fill(db, t.id, 8)

    class AllBad(IngestStats):
        name = "all_bad"

        def apply(self, event):  # type: ignore[no-untyped-def]
            raise KeyError("a column this build expects is missing")

    runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), AllBad()], batch_size=4)
    with pytest.raises(KeyError):
        runner.run_until_idle()
    assert [d[0] for d in dead(db)] == offsets[:MAX_DEAD_LETTERS]
    assert runner.offset == offsets[MAX_DEAD_LETTERS - 1]  # stalled, as before, rather than skipping everything


class BrokenTickets(IngestStats):
    """A bad deploy: every ticket fails (the embedding model is missing, say) while widget events work."""

    name = "broken_tickets"

    def apply(self, event):  # type: ignore[no-untyped-def]
        if event.source == "zendesk":
            raise RuntimeError("model files missing")
        super().apply(event)


def mixed(db, tenant_id: int, n: int, every: int = 2) -> tuple[list[int], list[int]]:
    """``n`` events of which every ``every``-th (from the last of the first ``every``) is a ticket;
    returns (all offsets, ticket offsets)."""
    with db.session() as s:
        events = [NewEvent("zendesk", "zendesk.ticket.created", f"z{tenant_id}-{i}", T0, {}) if i % every == every - 1
                  else NewEvent("widget", "widget.x", f"w{tenant_id}-{i}", T0, {}) for i in range(n)]
        offsets = list(SqlEventLog().append(s, tenant_id, events, T0).offsets)
        s.commit()
    return offsets, offsets[every - 1::every]


def test_a_deploy_breaking_every_ticket_stalls_after_a_few_dead_letters_though_widget_events_pass_between(db, tenant):
    t, _ = tenant
    offsets, tickets = mixed(db, t.id, 40)

    def broken():  # type: ignore[no-untyped-def]
        return [IngestStats(), BrokenTickets()]

    runner = Runner(db, SqlEventLog(), broken, batch_size=10)
    with pytest.raises(RuntimeError):
        runner.run_until_idle()
    stalled = [d[0] for d in dead(db)]
    assert stalled == tickets[:MAX_DEAD_LETTERS]  # not 20 of 20
    assert runner.offset == offsets[offsets.index(tickets[MAX_DEAD_LETTERS]) - 1]  # right before the next ticket
    # The limit is read from the table, not kept in memory: a restart is not allowed more skips...
    with pytest.raises(RuntimeError):
        Runner(db, SqlEventLog(), broken, batch_size=10).run_until_idle()
    assert [d[0] for d in dead(db)] == stalled
    # ...and a replay from no checkpoint makes the same decisions and stalls at the same event.
    with db.session() as s:
        s.query(DetectorCheckpoint).delete()
        s.query(IngestStat).delete()
        s.commit()
    replay = Runner(db, SqlEventLog(), broken, batch_size=7)
    with pytest.raises(RuntimeError):
        replay.run_until_idle()
    assert [d[0] for d in dead(db)] == stalled and replay.offset == runner.offset
    # Once the deploy is fixed, the rest of the tickets go through; the ones skipped stay skipped.
    fixed = Runner(db, SqlEventLog(), lambda: [IngestStats()], batch_size=10)
    assert fixed.run_until_idle() > 0
    assert stats_table(db)[(t.id, "zendesk")][0] == 20 - MAX_DEAD_LETTERS
    assert stats_table(db)[(t.id, "widget")][0] == 20


@pytest.mark.parametrize(("window", "skipped"), [(12, 8), (13, MAX_DEAD_LETTERS)])
def test_at_most_a_few_dead_letters_among_any_window_of_consecutive_events(db, tenant, monkeypatch, window, skipped):
    t, _ = tenant
    _, tickets = mixed(db, t.id, 32, every=4)  # a ticket every 4 events: 3 in a window of 12, 4 in one of 13
    monkeypatch.setattr("server.pipeline.runner.DEAD_LETTER_WINDOW", window)
    runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), BrokenTickets()], batch_size=5)
    if skipped < len(tickets):
        with pytest.raises(RuntimeError):
            runner.run_until_idle()
    else:
        assert runner.run_until_idle() == 32
    assert [d[0] for d in dead(db)] == tickets[:skipped]


def test_dead_letters_of_another_partition_do_not_count(db, make_tenant):
    first, second = make_tenant("One")[0], make_tenant("Two")[0]
    assert first.id % 2 != second.id % 2
    _, tickets = mixed(db, first.id, 8)
    _, more = mixed(db, second.id, 8)
    for tenant_id in (first.id, second.id):
        runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), BrokenTickets()], partition=(tenant_id % 2, 2),
                        batch_size=4)
        with pytest.raises(RuntimeError):
            runner.run_until_idle()
    assert [d[0] for d in dead(db)] == sorted(tickets[:MAX_DEAD_LETTERS] + more[:MAX_DEAD_LETTERS])


class CountingPickles(Faulty):
    """``Faulty`` that counts how often its state is taken (each checkpoint or snapshot pickles it)."""

    name = "faulty"
    taken = 0

    def state(self):  # type: ignore[no-untyped-def]
        type(self).taken += 1
        return super().state()


def test_isolating_a_failed_batch_writes_a_checkpoint_per_skip_and_one_at_the_end_not_one_per_event(db, tenant, faulty):
    t, _ = tenant
    offsets = fill(db, t.id, 30)
    faulty.at, faulty.left = offsets[25], 99
    CountingPickles.taken = 0
    writes: list[int] = []

    def count(_mapper, _connection, target):  # type: ignore[no-untyped-def]
        writes.append(target.offset)

    event.listen(DetectorCheckpoint, "before_insert", count)
    event.listen(DetectorCheckpoint, "before_update", count)
    try:
        runner = Runner(db, SqlEventLog(), lambda: [IngestStats(), CountingPickles()], batch_size=10,
                        checkpoint_seconds=3600)
        assert runner.run_until_idle() == 30
    finally:
        event.remove(DetectorCheckpoint, "before_insert", count)
        event.remove(DetectorCheckpoint, "before_update", count)
    # The range ran from no checkpoint to the end of the failed batch (30 events); before, each was checkpointed.
    assert writes == [offsets[25], offsets[29]]  # the skip (state right before it), then the end of the range
    assert CountingPickles.taken == 3  # snapshots before the failed batch and before the event; the end of the range
    assert dead(db) == [(offsets[25], "p0of1", t.id, "widget.x", "builtins.RuntimeError", 2)]
    assert runner.processed == 29 and stats_table(db)[(t.id, "widget")][0] == 29
    restarted = Runner(db, SqlEventLog(), lambda: [IngestStats(), CountingPickles()])
    assert restarted.offset == offsets[29] and restarted.processed == 29
    assert restarted.stages[1].stats[(t.id, "widget")].total == 29


def test_the_cli_lists_skipped_events(db, tenant, faulty, database_url, tmp_path):
    t, _ = tenant
    offsets = fill(db, t.id, 3)
    faulty.at, faulty.left = offsets[1], 99
    Runner(db, SqlEventLog(), lambda: [IngestStats(), Faulty()]).run_until_idle()
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", "LOG_FORMAT": "text"}
    result = CliRunner().invoke(main, ["dead-letters", "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["offset"] == offsets[1] and row["tenant"] == t.slug and row["kind"] == "widget.x"
    assert row["error_class"] == "builtins.RuntimeError" and row["error"] == "boom" and row["attempts"] == 2
    text = CliRunner().invoke(main, ["dead-letters"], env=env, catch_exceptions=False).output
    assert f"offset={offsets[1]}" in text and "builtins.RuntimeError: boom" in text
