"""Retrying dead letters: the event is processed in a replay from the start, which rewrites the same rows and queues
no message for what was processed before; a running detector follows its checkpoint's removal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from server.cli import main
from server.eventlog import SqlEventLog
from server.incidents.models import Incident, IncidentTicket, Notification, VolumePoint
from server.notify.models import WebhookDelivery, WebhookEndpoint
from server.pipeline import IngestStats, Runner
from server.pipeline.models import DetectorCheckpoint, IngestStat
from server.pipeline.retry import NotDeadLetters, plan_retry, retry
from server.topics.models import Ticket, Topic
from tests.incidents.test_stage import append, incidents, runner, stream
from tests.pipeline.test_dead_letters import POISON, Faulty, dead, fill, unguarded_clean

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
#: A topic of its own for a few tickets the night before the burst: three customers make it an incident.
DARK_MODE = ("Dark mode crashes the mobile app", "Switching to dark mode crashes the mobile app on launch.")


def ticket(ticket_id: int, at: datetime, requester: str, description: str) -> tuple[datetime, dict]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return at, {"type": "zen:event-type:ticket.created", "account_id": 1, "id": f"ev-{ticket_id}", "time": stamp,
                "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket_id}",
                "detail": {"id": str(ticket_id), "subject": DARK_MODE[0], "description": description,
                           "status": "NEW", "requester_id": requester, "created_at": stamp, "via": {"channel": "web"}}}


def with_dark_mode(traffic: list, poisoned: bool) -> list:
    """The traffic with three dark-mode tickets ten hours before the burst; the second one carries the character
    reference that broke text cleaning (tests/pipeline/test_dead_letters.py), after its words."""
    burst_at = min(at for at, b in traffic if int(b["detail"]["requester_id"]) >= 50_000)
    at0 = burst_at - timedelta(hours=10)
    mini = [ticket(70_000 + i, at0 + timedelta(minutes=4 * i), str(90_000 + i),
                   DARK_MODE[1] + (" " + POISON if poisoned and i == 1 else "")) for i in range(3)]
    return sorted(traffic + mini, key=lambda x: x[0])


def hook(db, tenant_id: int) -> None:
    """An incident webhook for every event, so that each notification also queues a delivery."""
    with db.session() as s:
        s.add(WebhookEndpoint(tenant_id=tenant_id, format="groundswell", url="https://hooks.example.com/x",
                              secret_enc="unused", secret_hint="xxxx", created_at=NOW,
                              events=["opened", "grew", "acknowledged", "resolved", "reopened"], kinds=None))
        s.commit()


def deliver_all(db) -> None:
    """What the notifier and webhook sender do: every queued message goes out."""
    with db.session() as s:
        s.execute(update(Notification).where(Notification.sent_at.is_(None)).values(sent_at=NOW))
        s.execute(update(WebhookDelivery).where(WebhookDelivery.sent_at.is_(None)).values(sent_at=NOW))
        s.commit()


def outbox(db, tenant_id: int) -> dict:
    with db.session() as s:
        return {"slack": {(n.incident_id, n.seq, n.event, n.sent_at is not None) for n in s.scalars(
                    select(Notification).where(Notification.tenant_id == tenant_id))},
                "webhooks": {(d.incident_id, d.seq, d.event, d.sent_at is not None) for d in s.scalars(
                    select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id))}}


def rows(db, tenant_id: int) -> dict:
    """Every row the detector writes for the tenant, but when it was written."""
    out = {}
    with db.session() as s:
        for model in (Incident, IncidentTicket, Notification, WebhookDelivery, VolumePoint, Ticket, Topic, IngestStat):
            cols = [c.key for c in model.__table__.columns if c.key not in ("updated_at", "created_at")]
            out[model.__tablename__] = sorted(tuple(str(getattr(r, c)) for c in cols) for r in s.scalars(
                select(model).where(model.tenant_id == tenant_id)))
    return out


@pytest.fixture(scope="module")
def traffic():
    return stream()


def test_a_replay_from_no_checkpoint_rewrites_the_same_rows_and_sends_nothing_again(db, make_tenant, traffic):
    t, _ = make_tenant("Replayed")
    hook(db, t.id)
    append(db, t.id, traffic)
    runner(db, batch_size=400).run_until_idle()
    deliver_all(db)
    before = rows(db, t.id)
    assert before["incidents"] and before["notifications"] and before["webhook_deliveries"]
    with db.session() as s:
        s.execute(delete(DetectorCheckpoint))
        s.commit()
    runner(db, batch_size=300).run_until_idle()  # other batches: the same events, cut elsewhere
    assert rows(db, t.id) == before  # sent rows stay sent: nothing is queued again


def poisoned_burst(traffic: list) -> list:
    """The traffic with the character reference that broke text cleaning after the words of one burst ticket."""
    fifth = sorted(b["detail"]["id"] for _, b in traffic if int(b["detail"]["requester_id"]) >= 50_000)[4]
    return [(at, {**b, "detail": {**b["detail"], "description": b["detail"]["description"] + " " + POISON}})
            if b["detail"]["id"] == fifth else (at, b) for at, b in traffic]


def fail_then_retry(db, make_tenant, monkeypatch, env, items: list) -> tuple:
    """A tenant whose detector skips the poisoned ticket and announces what it found, then a tenant with the same
    log whose detector never failed (the fix deployed), then the retry and the replay. Returns both tenants, the
    skipped offset, the retry's output and the first tenant's outbox before the retry."""
    failed, _ = make_tenant("Failed")
    never, _ = make_tenant("Never failed")
    part, reference = (failed.id % 7, 7), (never.id % 7, 7)
    assert part != reference
    hook(db, failed.id)
    append(db, failed.id, items)
    monkeypatch.setattr("server.understand.stage.clean", unguarded_clean)  # the fault, before its fix
    runner(db, batch_size=400, partition=part).run_until_idle()
    [(poison, *_)] = dead(db)
    deliver_all(db)
    sent = outbox(db, failed.id)
    assert (1, 0, "opened", True) in sent["slack"] and (1, 0, "opened", True) in sent["webhooks"]

    monkeypatch.undo()  # the fix is deployed
    append(db, never.id, items)
    runner(db, batch_size=400, partition=reference).run_until_idle()
    res = CliRunner().invoke(main, ["dead-letters", "retry", str(poison)], input="y\n", env=env)
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert f"offset={poison} tenant={failed.slug} kind=zendesk.ticket.created builtins.ValueError" in flat
    assert f"Partition p{part[0]}of7 replays its log from the start: {len(items):,} events" in flat
    assert "Retry? [y/N]: y" in flat and f"Removed 1 dead letter and the checkpoint of p{part[0]}of7." in flat
    assert f"p{reference[0]}of7" not in flat
    runner(db, batch_size=400, partition=part).run_until_idle()  # the detector, restarted
    assert dead(db) == []
    return failed, never, poison, sent


@pytest.fixture
def cli_env(database_url, tmp_path):  # type: ignore[no-untyped-def]
    return {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", "LOG_FORMAT": "text"}


def test_a_retried_event_is_processed_and_the_incidents_match_a_run_that_never_failed(
        db, make_tenant, traffic, monkeypatch, cli_env):
    items = poisoned_burst(traffic)
    failed, never, _, sent = fail_then_retry(db, make_tenant, monkeypatch, cli_env, items)
    ours, theirs = incidents(db, failed.id), incidents(db, never.id)
    assert len(ours) == len(theirs) == 1 and len(ours[1]["tickets"]) == 10
    assert ours == theirs  # the poisoned ticket joined the burst's incident, as it would have
    assert outbox(db, failed.id) == sent  # what went out is not queued again


def test_a_retried_event_opening_an_incident_of_its_own_queues_no_message_again(
        db, make_tenant, traffic, monkeypatch, cli_env):
    failed, never, poison, sent = fail_then_retry(db, make_tenant, monkeypatch, cli_env,
                                                  with_dark_mode(traffic, poisoned=True))
    with db.session() as s:
        assert s.scalar(select(Ticket.topic_id).where(Ticket.tenant_id == failed.id, Ticket.zendesk_id == "70001"))
    # Without its second ticket the dark-mode topic stayed below three customers, and the burst was incident 1;
    # with it, it is incident 1 and the burst incident 2, as in a run that never failed.
    numbered = [(k, v["kind"], v["series"], v["status"]) for k, v in sorted(incidents(db, failed.id).items())]
    assert numbered == [(k, v["kind"], v["series"], v["status"]) for k, v in sorted(incidents(db, never.id).items())]
    assert [kind for _, kind, *_ in numbered] == ["new_topic", "spike"]
    # The burst went out as incident 1: the replay, which calls it 2, queues nothing about it again, nor about
    # the dark-mode incident, which ended before the partition had got there.
    assert outbox(db, failed.id) == sent


def test_a_replay_interrupted_partway_still_queues_no_message_again(db, make_tenant, traffic, monkeypatch, cli_env):
    """The replay rewrites the ingest statistics as it goes; a detector restarted in its middle (a deploy) still
    knows how far the earlier run had written, from the checkpoint, and announces nothing again."""
    items = with_dark_mode(traffic, poisoned=True)
    failed, _ = make_tenant("Interrupted")
    hook(db, failed.id)
    append(db, failed.id, items)
    monkeypatch.setattr("server.understand.stage.clean", unguarded_clean)
    runner(db, batch_size=400).run_until_idle()
    [(poison, *_)] = dead(db)
    deliver_all(db)
    sent = outbox(db, failed.id)
    monkeypatch.undo()
    res = CliRunner().invoke(main, ["dead-letters", "retry", str(poison), "--yes"], env=cli_env)
    assert res.exit_code == 0, res.output
    first = runner(db, batch_size=50)
    written = first.replayed_through
    for _ in range(5):
        first.step()
    first.flush()
    restarted = runner(db, batch_size=50)
    assert restarted.offset < written and restarted.replayed_through == written
    restarted.run_until_idle()
    assert outbox(db, failed.id) == sent


def test_a_running_detector_starts_over_when_its_checkpoint_is_removed(db, tenant, faulty):
    t, _ = tenant
    offsets = fill(db, t.id, 20)
    faulty.at, faulty.left = offsets[5], 99
    detector = Runner(db, SqlEventLog(), lambda: [IngestStats(), Faulty()], batch_size=10)
    detector.run_until_idle()
    assert [d[0] for d in dead(db)] == [offsets[5]] and detector.stages[1].stats[(t.id, "widget")].total == 19
    faulty.left, tried = 0, faulty.tried  # fixed
    with db.session() as s:
        retry(s, plan_retry(s, [offsets[5]]))
        s.commit()
    assert detector.run_until_idle() == 0  # no new event: the 20 it replays were read before
    assert detector.stages[1].stats[(t.id, "widget")].total == 20 and faulty.tried == tried + 1
    with db.session() as s:
        cp = s.get(DetectorCheckpoint, "p0of1")
        assert (cp.offset, cp.events_processed) == (offsets[19], 20)
        assert s.scalar(select(IngestStat.total).where(IngestStat.tenant_id == t.id)) == 20


def test_a_detector_without_a_checkpoint_yet_goes_back_for_a_dead_letter_retried_under_it(db, tenant, faulty):
    """In the first seconds of a replay there is no checkpoint for a second retry to remove: the runner still
    learns that a dead letter it skipped was retried, and goes back for it."""
    t, _ = tenant
    offsets = fill(db, t.id, 20)
    faulty.at, faulty.left = offsets[5], 99
    detector = Runner(db, SqlEventLog(), lambda: [IngestStats(), Faulty()], batch_size=10, checkpoint_seconds=3600)
    detector.run_until_idle()
    assert [d[0] for d in dead(db)] == [offsets[5]]
    with db.session() as s:  # a replay starts (an earlier retry, say): no checkpoint until it has run a while
        s.execute(delete(DetectorCheckpoint))
        s.commit()
    assert detector.step() == 10 and detector.step() == 10  # past the dead letter, not yet caught up and saved
    assert checkpoint_of(db) is None and detector.stages[1].stats[(t.id, "widget")].total == 19
    faulty.left = 0  # fixed
    with db.session() as s:
        plan = plan_retry(s, [offsets[5]])
        assert plan.replays == []  # nothing for the retry to remove but the dead letter
        retry(s, plan)
        s.commit()
    detector.run_until_idle()
    assert detector.stages[1].stats[(t.id, "widget")].total == 20  # the event, processed at last


def checkpoint_of(db):  # type: ignore[no-untyped-def]
    with db.session() as s:
        cp = s.get(DetectorCheckpoint, "p0of1")
        return None if cp is None else cp.offset


class RemovedWhileRead(SqlEventLog):
    """Another process removes the checkpoint while the runner is in the middle of a batch."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db, self.remove = db, False

    def read(self, session, after, limit, **kw):  # type: ignore[no-untyped-def]
        events = super().read(session, after, limit, **kw)
        if self.remove:
            self.remove = False
            with self.db.session() as other:
                other.execute(delete(DetectorCheckpoint))
                other.commit()
        return events


def test_a_checkpoint_removed_during_a_batch_is_not_written_back(db, tenant):
    t, _ = tenant
    offsets = fill(db, t.id, 30)
    log = RemovedWhileRead(db)
    r = Runner(db, log, batch_size=10)
    assert r.step() == 10
    log.remove = True
    assert r.step() == 10  # its save finds the checkpoint gone: it starts over and reads the first ten again
    with db.session() as s:
        cp = s.get(DetectorCheckpoint, "p0of1")
        assert (cp.offset, cp.events_processed) == (offsets[9], 10)
    assert r.run_until_idle() == 20 and r.offset == offsets[29]


def test_the_cli_refuses_offsets_that_are_not_dead_letters_and_asks_first(db, tenant, faulty, cli_env):
    t, _ = tenant
    offsets = fill(db, t.id, 5)
    faulty.at, faulty.left = offsets[2], 99
    Runner(db, SqlEventLog(), lambda: [IngestStats(), Faulty()]).run_until_idle()

    def cli(*args: str, answer: str | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, ["dead-letters", "retry", *args], input=answer, env=cli_env)

    def unchanged() -> bool:
        with db.session() as s:
            return s.get(DetectorCheckpoint, "p0of1") is not None and len(dead(db)) == 1

    res = cli(str(offsets[2]), str(offsets[3]), "--yes")
    assert res.exit_code == 1 and f"offset {offsets[3]} is not a dead letter" in res.output and unchanged()
    assert "nothing was changed" in res.output
    assert cli().exit_code == 2 and cli(str(offsets[2]), "--all").exit_code == 2 and unchanged()
    res = cli("--all", answer="n\n")
    assert res.exit_code == 1 and "Partition p0of1 replays its log from the start: 5 events" in res.output
    assert "Aborted" in res.output and unchanged()
    res = cli("--all", "--yes")
    assert res.exit_code == 0 and "Removed 1 dead letter and the checkpoint of p0of1." in res.output
    with db.session() as s:
        assert s.get(DetectorCheckpoint, "p0of1") is None and dead(db) == []
    assert cli("--all", "--yes").output.strip() == "no skipped events"
    with db.session() as s, pytest.raises(NotDeadLetters):
        plan_retry(s, [offsets[2]])


def test_a_replay_from_the_start_judges_each_ticket_by_the_settings_in_force_when_it_came(db, make_tenant, traffic):
    """The tenant asks for five customers an incident after the dark-mode tickets (three customers) opened one:
    a replay from the start opens that incident again, as the live run did, instead of judging the day before by
    today's settings."""
    from server.incidents.actions import update_detection_settings

    t, _ = make_tenant("Tuned later")
    items = with_dark_mode(traffic, poisoned=False)
    cut = min(at for at, b in items if int(b["detail"]["requester_id"]) >= 50_000) + timedelta(hours=1)
    before = [x for x in items if x[0] < cut]
    append(db, t.id, before)
    runner(db, batch_size=400).run_until_idle()
    dark = {"70000", "70001", "70002"}
    assert [i["kind"] for i in incidents(db, t.id).values() if i["tickets"] == dark] == ["new_topic"]
    with db.session() as s:
        update_detection_settings(s, SqlEventLog(), t.id, {"min_requesters": 5}, now=cut)
    append(db, t.id, items[len(before):])
    runner(db, batch_size=400).run_until_idle()
    live = incidents(db, t.id)
    assert any(i["kind"] == "spike" for i in live.values())
    with db.session() as s:
        s.execute(delete(DetectorCheckpoint))
        s.commit()
    runner(db, batch_size=300).run_until_idle()
    assert incidents(db, t.id) == live


def test_the_detectors_widget_configuration_comes_from_the_log_not_from_todays_row(db, make_tenant):
    """The widget stage of the detector starts each tenant from the defaults and follows its
    control.widget_settings events in log order, whatever the settings row says now."""
    from server.pipeline.registry import stage_factory
    from tests.understand.fakes import HashingEmbedder
    from server.widget import service as widget_service
    from server.widget.settings import WidgetConfig
    from server.widget.stage import WidgetStage

    t, _ = make_tenant("Widget tuned")
    with db.session() as s:
        widget_service.put_settings(s, SqlEventLog(), t.id, {"cold_start": {"enabled": False, "repeat_failures": 5}},
                                    now=NOW)
        (event,) = [e for e in SqlEventLog().read(s, 0, 100) if e.kind == "control.widget_settings"]
    (stage,) = [st for st in stage_factory(db, embed=HashingEmbedder().embed)() if isinstance(st, WidgetStage)]
    assert stage.tenant(t.id).config == WidgetConfig.from_dict(None)  # before its first change in the log
    stage.apply(event)
    assert stage.tenant(t.id).config.cold_start.enabled is False
