"""Bodies sent in chunks, without a declared length, are held to MAX_BODY_BYTES like any other
(server/chunked.py): over it, 413 and nothing stored; within it, read whole."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.conftest import ORIGIN, log_rows, signed_headers, widget_batch, zendesk_event
from tests.test_processes import env_for, free_port, kill9, start, wait_healthy

LIMIT = 4096


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "MAX_BODY_BYTES": LIMIT}


class Trickle(io.RawIOBase):
    """A request body as a chunked reader hands it over: a few hundred bytes a read at most."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        part = self.data.read(min(len(b), 300))
        b[: len(part)] = part
        return len(part)


class Broken(Trickle):
    """A chunked body whose framing breaks after its first read (or whose client goes away), as the server's
    chunk reader reports it: an error from the stream."""

    def readinto(self, b: Any) -> int:
        if self.data.tell():
            raise OSError("Invalid chunk size: b'zz'")
        return super().readinto(b)


class Watched(Trickle):
    """Counts the reads of the body (a class attribute: the test reads it after the request)."""

    reads = 0

    def readinto(self, b: Any) -> int:
        type(self).reads += 1
        return super().readinto(b)


def chunked(app: Any, path: str, body: bytes, headers: dict[str, str], method: str = "POST",
            stream: type[Trickle] = Trickle) -> tuple[int, Any]:
    """Calls the app as a server does with a chunked request: no Content-Length, the stream ends itself."""
    environ = EnvironBuilder(path=path, method=method, headers=headers).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True, "wsgi.input": stream(body)})
    app_iter, status, _headers = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0]), json.loads(b"".join(app_iter) or b"null")


def widget_headers(site_key: str) -> dict[str, str]:
    return {"X-Groundswell-Site-Key": site_key, "Origin": ORIGIN, "Content-Type": "application/json"}


def padded(batch: dict[str, Any], size: int) -> bytes:
    """The batch's JSON followed by the spaces that bring its body to ``size`` bytes."""
    return json.dumps(batch).encode().ljust(size)


def too_large(client: Any, path: str, data: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """What the app answers the same body sent with its length."""
    r = client.post(path, data=data, headers=headers)
    return r.status_code, r.get_json()["error"]["code"]


def test_a_widget_batch_sent_in_chunks_over_the_limit_is_refused_as_too_large(app, client, db, tenant):
    t, creds = tenant
    data = padded(widget_batch(), LIMIT + 1)
    status, body = chunked(app, "/api/v1/events", data, widget_headers(creds.site_key))
    assert (status, body["error"]["code"]) == too_large(client, "/api/v1/events", data, widget_headers(creds.site_key))
    assert status == 413
    assert log_rows(db, t.id) == []


def test_a_widget_batch_sent_in_chunks_within_the_limit_is_read_whole(app, db, tenant):
    t, creds = tenant
    data = padded(widget_batch(3), LIMIT)
    assert len(data) == LIMIT
    status, body = chunked(app, "/api/v1/events", data, widget_headers(creds.site_key))
    assert status == 202, body
    assert len(log_rows(db, t.id)) == 3


def test_a_signed_zendesk_delivery_in_chunks_over_the_limit_is_too_large_not_a_bad_signature(app, client, db, tenant):
    t, creds = tenant
    event = zendesk_event()
    event["detail"]["description"] = "x" * LIMIT
    data = json.dumps(event).encode()
    path, headers = f"/webhooks/zendesk/{t.slug}", signed_headers(creds.webhook_secret, data)
    status, body = chunked(app, path, data, headers)
    assert (status, body["error"]["code"]) == too_large(client, path, data, headers)
    assert status == 413
    small = json.dumps(zendesk_event(ticket_id=43)).encode()
    status, body = chunked(app, f"/webhooks/zendesk/{t.slug}", small, signed_headers(creds.webhook_secret, small))
    assert status == 202, body


def test_a_chunked_body_that_cannot_be_read_is_a_400_and_a_route_without_a_body_still_answers(app, db, tenant):
    t, creds = tenant
    status, body = chunked(app, "/api/v1/events", padded(widget_batch(), 1000), widget_headers(creds.site_key),
                           stream=Broken)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    assert body["error"]["message"].startswith("The request body could not be read")
    assert log_rows(db, t.id) == []
    # a GET that says it is chunked is not read before it is answered (nobody waits on a body never sent)
    Watched.reads = 0
    status, body = chunked(app, "/healthz", b"{}", {}, method="GET", stream=Watched)
    assert (status, body, Watched.reads) == (200, {"status": "ok"}, 0)


@pytest.mark.slow
def test_gunicorn_refuses_a_chunked_body_over_the_limit(db, database_url, tenant, tmp_path):
    """The production server hands the app chunked bodies without a length; the limit holds there too."""
    t, creds = tenant
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(["serve", "--no-detector", "--port", str(port), "--workers", "1"],
                   dict(env_for(database_url, tmp_path), MAX_BODY_BYTES=str(LIMIT)))
    try:
        wait_healthy(url, server)
        over, within = padded(widget_batch(), LIMIT + 1), padded(widget_batch(2), LIMIT)

        def pieces(data: bytes) -> Any:  # a generator body: requests sends it chunked
            for i in range(0, len(data), 500):
                yield data[i:i + 500]

        r = requests.post(url + "/api/v1/events", data=pieces(over), headers=widget_headers(creds.site_key), timeout=10)
        assert (r.status_code, r.json()["error"]["code"]) == (413, "request_entity_too_large")
        r = requests.post(url + "/api/v1/events", data=pieces(within), headers=widget_headers(creds.site_key), timeout=10)
        assert r.status_code == 202, r.text
    finally:
        kill9(server)
    assert len(log_rows(db, t.id)) == 2
