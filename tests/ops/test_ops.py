from __future__ import annotations

from server.eventlog import SqlEventLog
from server.pipeline import Runner
from tests.conftest import post_widget, widget_batch


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_detector_lag(app, client, db, tenant):
    _, creds = tenant
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready" and body["database"] == "ok"
    assert body["detector"] == {"head": 0, "checkpoints": {}, "lag_seconds": 0.0}
    post_widget(client, creds.site_key, widget_batch(4))
    body = client.get("/readyz").get_json()
    assert body["detector"]["head"] > 0 and body["detector"]["lag_seconds"] >= 0
    app.config["READY_MAX_DETECTOR_LAG_SECONDS"] = 1
    import time

    time.sleep(1.1)
    lagging = client.get("/readyz")
    assert lagging.status_code == 503 and lagging.get_json()["status"] == "unready"
    Runner(app.extensions["groundswell.db"], SqlEventLog()).run_until_idle()
    caught_up = client.get("/readyz")
    assert caught_up.status_code == 200
    assert caught_up.get_json()["detector"]["checkpoints"] == {"p0of1": body["detector"]["head"]}


def test_readyz_is_503_when_the_database_is_gone(tmp_path):
    from server import create_app

    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "INSTANCE_PATH": str(tmp_path),
                      "LOG_FORMAT": "text"})
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["database"] == "unreachable"
    assert "nobody" not in resp.get_data(as_text=True)


def test_metrics_count_ingest(client, db, tenant):
    _, creds = tenant
    before = _metric(client.get("/metrics").get_data(as_text=True),
                     'groundswell_ingest_events_total{result="accepted",source="widget"}')
    post_widget(client, creds.site_key, widget_batch(3))
    text = client.get("/metrics").get_data(as_text=True)
    assert _metric(text, 'groundswell_ingest_events_total{result="accepted",source="widget"}') == before + 3
    assert "groundswell_eventlog_head_offset" in text
    assert 'groundswell_http_requests_total{endpoint="/api/v1/events",method="POST",status="202"}' in text


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_request_id_is_returned_and_an_incoming_one_is_kept(client):
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-12345678"}).headers["X-Request-ID"] == "abc-12345678"
    assert client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"] != "<script>"


def test_unknown_paths_and_methods_are_json(client):
    resp = client.get("/nope")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    resp = client.get("/api/v1/events")
    assert resp.status_code == 405 and resp.is_json and "POST" in resp.headers["Allow"]


def test_unexpected_errors_get_a_fixed_body_and_are_logged(app, caplog):
    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals: password=hunter2")

    resp = app.test_client().get("/boom")
    assert resp.status_code == 500
    body = resp.get_json()
    assert body["error"]["code"] == "internal" and "hunter2" not in resp.get_data(as_text=True)
    assert body["request_id"] == resp.headers["X-Request-ID"]
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


def test_credentials_are_masked_in_log_messages(caplog):
    import logging

    from server.logs import RequestContextFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token gs_sk_abcDEF123 leaked", None, None)
    RequestContextFilter().filter(record)
    assert "abcDEF123" not in record.getMessage()


def test_metrics_show_the_notification_backlog_and_outcomes(client, db, tenant):
    from datetime import datetime, timedelta, timezone

    from server.notify.client import SlackClient
    from server.notify.outbox import Notifier, enqueue
    from tests.conftest import TEST_SECRET_KEY

    t, _ = tenant
    made = datetime.now(timezone.utc) - timedelta(minutes=10)
    with db.session() as s:
        enqueue(s, t.id, 7, "opened", {"id": 7, "kind": "spike", "series": "topic:1"}, made, generation=0)
        s.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert _metric(text, 'groundswell_notifications_pending{target="slack"}') == 1
    assert _metric(text, 'groundswell_notifications_pending{target="webhook"}') == 0
    assert 590 < _metric(text, 'groundswell_notifications_oldest_pending_seconds{target="slack"}') < 900
    before = _metric(text, 'groundswell_notifications_total{outcome="not_configured",target="slack"}')
    Notifier(db, secret_key=TEST_SECRET_KEY, client=SlackClient()).run_once()  # no Slack set up: closed
    text = client.get("/metrics").get_data(as_text=True)
    assert _metric(text, 'groundswell_notifications_pending{target="slack"}') == 0
    assert _metric(text, 'groundswell_notifications_total{outcome="not_configured",target="slack"}') == before + 1
