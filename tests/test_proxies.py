"""Behind a load balancer (TRUSTED_PROXIES): the caller's address, which failed credentials are counted against,
comes from X-Forwarded-For as the proxies set it; without the setting the header is ignored."""

from __future__ import annotations

import pytest
from flask import request

from server import config
from server.app import create_app

BALANCER = {"REMOTE_ADDR": "10.0.0.5"}  # every request reaches the app from the load balancer


def guess(client, forwarded_for: str | None = None) -> int:  # type: ignore[no-untyped-def]
    headers = {"Authorization": "Bearer gs_sk_guess"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return int(client.get("/api/v1/status", headers=headers, environ_base=BALANCER).status_code)


def app_with(app_config, **settings):  # type: ignore[no-untyped-def]
    app = create_app({**app_config, **settings})
    app.config["RATE_LIMIT_API"] = "3/minute"
    app.add_url_rule("/peer", "peer", lambda: {"addr": request.remote_addr, "scheme": request.scheme})
    return app


def peer(client) -> dict:  # type: ignore[no-untyped-def]
    return client.get("/peer", headers={"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"},
                      environ_base=BALANCER).get_json()


def test_behind_one_proxy_each_client_has_its_own_bucket(db, app_config):
    app = app_with(app_config, TRUSTED_PROXIES="1")  # as the environment gives it
    client = app.test_client()
    assert [guess(client, "6.6.6.6") for _ in range(4)] == [401, 401, 401, 429]
    assert guess(client, "1.2.3.4") == 401  # another customer behind the same balancer is not held back
    # The balancer appends the address it was called from: a value the client sent before it is not believed.
    assert guess(client, "1.2.3.4, 6.6.6.6") == 429
    assert peer(client) == {"addr": "1.2.3.4", "scheme": "https"}
    app.extensions["groundswell.db"].dispose()


def test_without_the_setting_a_forged_forwarded_for_is_ignored(db, app_config):
    app = app_with(app_config)
    client = app.test_client()
    assert [guess(client, f"1.2.3.{i}") for i in range(4)] == [401, 401, 401, 429]  # one bucket: the peer's
    assert guess(client) == 429
    assert peer(client) == {"addr": "10.0.0.5", "scheme": "http"}
    app.extensions["groundswell.db"].dispose()


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "", True])
def test_a_proxy_count_that_is_not_a_whole_number_is_refused(app_config, value):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES must be the number of proxies"):
        create_app({**app_config, "TRUSTED_PROXIES": value})
    if isinstance(value, str) and value:
        with pytest.raises(ValueError, match="TRUSTED_PROXIES must be the number of proxies"):
            config.load(environ={"TRUSTED_PROXIES": value})
    assert config.load(environ={"TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2


def test_a_forwarded_request_without_trusted_proxies_is_warned_of_once(db, app_config, caplog):
    """Every caller then counts as the proxy's address: the deployment is told, once, not on every request."""
    app = app_with(app_config)
    client = app.test_client()
    with caplog.at_level("WARNING", logger="server.app"):
        guess(client)
        assert not [r for r in caplog.records if "TRUSTED_PROXIES" in r.getMessage()]
        guess(client, "6.6.6.6")
        guess(client, "1.2.3.4")
    warned = [r for r in caplog.records if "TRUSTED_PROXIES" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelname == "WARNING"
    app.extensions["groundswell.db"].dispose()
    trusted = app_with(app_config, TRUSTED_PROXIES="1")
    caplog.clear()
    with caplog.at_level("WARNING", logger="server.app"):
        guess(trusted.test_client(), "6.6.6.6")
    assert not [r for r in caplog.records if "TRUSTED_PROXIES" in r.getMessage()]
    trusted.extensions["groundswell.db"].dispose()
