"""GET /api/v1/status: the detector's progress for the token's tenant, skipped events included."""

from __future__ import annotations

from datetime import datetime, timezone

from server.pipeline.models import DeadLetter


def _skip(db, tenant_id: int, offset: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        s.add(DeadLetter(offset=offset, partition="p0of1", tenant_id=tenant_id, kind="zendesk.ticket.created",
                         error_class="builtins.ValueError", error="bad", attempts=2, created_at=at))
        s.commit()


def test_status_counts_the_tenants_skipped_events_and_only_its_own(client, db, make_tenant):  # type: ignore[no-untyped-def]
    t, creds = make_tenant("Skips")
    other, _ = make_tenant("Others")
    headers = {"Authorization": f"Bearer {creds.api_token}"}
    detector = client.get("/api/v1/status", headers=headers).get_json()["detector"]
    assert detector["skipped_events"] == 0 and detector["last_skipped_at"] is None
    _skip(db, t.id, 7, datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc))
    _skip(db, t.id, 9, datetime(2026, 12, 4, 11, 30, tzinfo=timezone.utc))
    _skip(db, other.id, 8, datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc))
    detector = client.get("/api/v1/status", headers=headers).get_json()["detector"]
    assert detector["skipped_events"] == 2
    assert detector["last_skipped_at"] == "2026-12-04T11:30:00+00:00"


def test_status_says_which_sources_the_events_still_to_process_are_from(client, db, make_tenant):  # type: ignore[no-untyped-def]
    from tests.conftest import post_widget, widget_batch

    t, creds = make_tenant("Backlog")
    other, other_creds = make_tenant("Other")
    headers = {"Authorization": f"Bearer {creds.api_token}"}
    assert client.get("/api/v1/status", headers=headers).get_json()["detector"]["pending_by_source"] == {}
    assert post_widget(client, creds.site_key, widget_batch(3)).status_code == 202
    assert post_widget(client, other_creds.site_key, widget_batch(2)).status_code == 202  # not this tenant's
    release = client.post("/api/v1/releases", json={"version": "2.31"}, headers=headers)
    assert release.status_code == 201
    detector = client.get("/api/v1/status", headers=headers).get_json()["detector"]
    assert detector["pending_events"] == 4
    assert detector["pending_by_source"] == {"control": 1, "widget": 3}


def test_a_long_backlog_is_given_as_a_total_alone(client, db, make_tenant, monkeypatch):  # type: ignore[no-untyped-def]
    from server.api import service
    from tests.conftest import post_widget, widget_batch

    t, creds = make_tenant("Import")
    monkeypatch.setattr(service, "MAX_SPLIT_PENDING", 2)
    assert post_widget(client, creds.site_key, widget_batch(3)).status_code == 202
    detector = client.get("/api/v1/status", headers={"Authorization": f"Bearer {creds.api_token}"}).get_json()["detector"]
    assert detector["pending_events"] == 3 and detector["pending_by_source"] == {}


def _events_queries(app, client, headers) -> tuple[dict, list[str]]:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM events" in statement:
            seen.append(statement)

    engine = app.extensions["groundswell.db"].engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        detector = client.get("/api/v1/status", headers=headers).get_json()["detector"]
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return detector, seen


def test_a_short_backlog_is_counted_once_its_total_the_sum_of_its_split(app, client, db, make_tenant, monkeypatch):  # type: ignore[no-untyped-def]
    from server.api import service
    from tests.conftest import post_widget, widget_batch

    t, creds = make_tenant("Polled")
    headers = {"Authorization": f"Bearer {creds.api_token}"}
    assert post_widget(client, creds.site_key, widget_batch(3)).status_code == 202
    assert client.post("/api/v1/releases", json={"version": "2.31"}, headers=headers).status_code == 201
    detector, queries = _events_queries(app, client, headers)
    assert detector["pending_events"] == 4 and detector["pending_by_source"] == {"control": 1, "widget": 3}
    # the head offset, the split (whose sum is the total) and the oldest waiting event's arrival: no count of its own
    assert len(queries) == 3, queries
    monkeypatch.setattr(service, "MAX_SPLIT_PENDING", 3)  # past the split's reach: counted alone, from the index
    detector, queries = _events_queries(app, client, headers)
    assert detector["pending_events"] == 4 and detector["pending_by_source"] == {} and len(queries) == 3
    assert not [q for q in queries if "GROUP BY" in q]  # no event row is read for a split it would not give
    # another tenant's events between its offsets: more offsets than its events, so it is counted, then split
    other = make_tenant("Other")[1]
    assert post_widget(client, other.site_key, widget_batch(3)).status_code == 202
    assert post_widget(client, creds.site_key, widget_batch(1)).status_code == 202
    monkeypatch.setattr(service, "MAX_SPLIT_PENDING", 6)
    detector, queries = _events_queries(app, client, headers)
    assert detector["pending_events"] == 5 and detector["pending_by_source"] == {"control": 1, "widget": 4}
    assert len(queries) == 4, queries
