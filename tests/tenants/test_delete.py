"""Deleting a tenant: every row it owns goes with it, and a running detector forgets it."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import main
from server.eventlog import SqlEventLog
from server.eventlog.log import NewEvent
from server.eventlog.models import Event
from server.incidents.stage import DetectStage
from server.pipeline.stats import IngestStats
from server.tenants import delete_tenant, find_by_slug
from server.tenants.service import tenant_rows
from server.understand.stage import UnderstandStage
from server.widget.stage import WidgetStage
from tests.incidents.test_stage import append, incidents, runner, stream
from tests.test_cli import cli_env


def widget_events(db, tenant_id: int, at, n: int = 5, session: str = "s1") -> None:
    with db.session() as s:
        SqlEventLog().append(s, tenant_id, [
            NewEvent("widget", "widget.rage_click", f"{session}:e{i}", at + timedelta(seconds=i),
                     {"id": f"e{i}", "type": "rage_click", "ts": i * 1000, "url": "https://app.example.com/pay",
                      "session_id": session}) for i in range(n)], at)
        s.commit()


def test_a_deleted_tenant_leaves_no_row_and_the_running_detector_forgets_it(db, make_tenant):
    kept, gone = make_tenant("Kept")[0], make_tenant("Gone")[0]
    traffic = stream(days=4)
    last = traffic[-1][0]
    for t in (kept, gone):
        append(db, t.id, traffic)
        widget_events(db, t.id, last)
    detector = runner(db, batch_size=400)
    detector.run_until_idle()
    with db.session() as s:
        before = tenant_rows(s, kept)
        assert set(tenant_rows(s, gone)) >= {"events", "tickets", "topics", "incidents", "widget_sessions"}
    stages = {type(st): st for st in detector.stages}
    assert gone.id in stages[DetectStage].engines and gone.id in stages[WidgetStage].tenants

    with db.session() as s:
        delete_tenant(s, s.get(type(gone), gone.id))
        s.commit()
        assert tenant_rows(s, gone) == {} and tenant_rows(s, kept) == before
        newest = s.scalar(select(func.max(Event.offset)))
    assert newest < detector.offset  # the deleted tenant's events were the newest

    # The detector goes on: the kept tenant's next events take new offsets (none reused), the deleted
    # tenant's state goes before anything could be written for it.
    widget_events(db, kept.id, last + timedelta(minutes=5), n=2, session="s2")
    assert detector.run_until_idle() == 2
    assert gone.id not in stages[DetectStage].engines and kept.id in stages[DetectStage].engines
    assert gone.id not in stages[UnderstandStage].models and gone.id not in stages[WidgetStage].tenants
    assert {k[0] for k in stages[IngestStats].stats} == {kept.id}
    with db.session() as s:
        assert tenant_rows(s, gone) == {}
    assert incidents(db, kept.id) and not incidents(db, gone.id)
    # A tenant created next never takes the deleted one's id (nor what still knows that id: a checkpoint, a cache).
    newco = make_tenant("Newco")[0]
    assert newco.id > gone.id


def test_tenant_delete_says_what_goes_and_asks_for_the_slug(db, database_url, tmp_path, make_tenant):
    env = cli_env(database_url, tmp_path)
    t = make_tenant("Gone")[0]
    append(db, t.id, stream(days=1))
    cli = CliRunner()
    wrong = cli.invoke(main, ["tenant", "delete", "gone"], env=env, input="kept\n")
    assert wrong.exit_code == 1 and "not deleted: the slug typed did not match" in wrong.output
    assert "  events" in wrong.output and "Type gone to delete it" in wrong.output
    with db.session() as s:
        assert find_by_slug(s, "gone") is not None
    done = cli.invoke(main, ["tenant", "delete", "gone"], env=env, input="gone\n")
    assert done.exit_code == 0, done.output
    assert done.output.strip().splitlines()[-1].startswith("Deleted tenant gone and ")
    with db.session() as s:
        assert find_by_slug(s, "gone") is None and s.scalar(select(func.count()).select_from(Event)) == 0
    again = cli.invoke(main, ["tenant", "delete", "gone", "--yes"], env=env)
    assert again.exit_code == 1 and "no tenant 'gone'" in again.output


def test_deleting_a_tenant_that_held_nothing_says_what_went(db, database_url, tmp_path, make_tenant):
    make_tenant("Test Co")
    done = CliRunner().invoke(main, ["tenant", "delete", "test-co"], env=cli_env(database_url, tmp_path),
                              input="test-co\n")
    assert done.exit_code == 0, done.output
    assert "  nothing but its settings and credentials" in done.output
    assert done.output.strip().splitlines()[-1] == (
        "Deleted tenant test-co (its settings and credentials; it held no other data).")
