"""GET/PUT /api/v1/settings/notifications and the test message, against the local fake Slack."""

from __future__ import annotations

import logging

import pytest

from tests.notify.fake_slack import TOKEN

URL = "/api/v1/settings/notifications"


@pytest.fixture
def app_config(app_config, httpserver):  # type: ignore[no-untyped-def]
    base = httpserver.url_for("/").rstrip("/")
    return {**app_config, "SLACK_API_URL": base + "/api", "SLACK_WEBHOOK_HOSTS": "localhost,127.0.0.1",
            "PUBLIC_URL": "https://gs.example.com"}


def auth(creds):  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {creds.api_token}"}


def test_unconfigured_by_default_and_token_required(client, tenant):
    _, creds = tenant
    assert client.get(URL).status_code == 401
    resp = client.get(URL, headers=auth(creds))
    assert resp.status_code == 200
    assert resp.get_json() == {"mode": "off", "channel": None, "webhook_url_set": False, "bot_token_set": False,
                               "signing_secret_set": False, "accounts_digest": None, "accounts_digest_last": None,
                               "interactions_url": "https://gs.example.com/api/v1/slack/interactions/acme"}
    resp = client.post(URL + "/test", headers=auth(creds))
    assert resp.status_code == 409 and "not configured" in resp.get_json()["error"]["message"]


def test_webhook_settings_round_trip_without_the_secret(client, tenant, slack, caplog):
    _, creds = tenant
    caplog.set_level(logging.DEBUG)
    resp = client.put(URL, json={"mode": "webhook", "webhook_url": slack.webhook_url}, headers=auth(creds))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"mode": "webhook", "channel": None, "webhook_url_set": True, "bot_token_set": False,
                               "signing_secret_set": False, "accounts_digest": None,
                               "interactions_url": "https://gs.example.com/api/v1/slack/interactions/acme"}
    got = client.get(URL, headers=auth(creds))
    assert "XXXXsecretXXXX" not in got.get_data(as_text=True)
    resp = client.post(URL + "/test", headers=auth(creds))
    assert resp.status_code == 200 and resp.get_json() == {"ok": True, "mode": "webhook", "status": 200, "error": None}
    (message,) = slack.webhook_calls
    assert "Groundswell test message" in message["text"] and "Acme" in message["text"]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "XXXXsecretXXXX" not in ours and "XXXXsecretXXXX" not in resp.get_data(as_text=True)
    # a PUT without the URL keeps it; null removes it (and the mode then lacks what it needs)
    assert client.put(URL, json={"mode": "webhook"}, headers=auth(creds)).get_json()["webhook_url_set"] is True
    resp = client.put(URL, json={"mode": "webhook", "webhook_url": None}, headers=auth(creds))
    assert resp.status_code == 400 and "webhook_url" in resp.get_json()["error"]["fields"]
    assert client.put(URL, json={"mode": "off", "webhook_url": None}, headers=auth(creds)).get_json() == {
        "mode": "off", "channel": None, "webhook_url_set": False, "bot_token_set": False, "signing_secret_set": False,
        "accounts_digest": None, "interactions_url": "https://gs.example.com/api/v1/slack/interactions/acme"}


def test_web_api_settings_and_slack_errors_are_reported(client, tenant, slack):
    _, creds = tenant
    resp = client.put(URL, json={"mode": "web_api", "bot_token": TOKEN, "channel": "#incidents"}, headers=auth(creds))
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert TOKEN not in body and resp.get_json()["bot_token_set"] is True
    resp = client.post(URL + "/test", headers=auth(creds))
    assert resp.get_json() == {"ok": True, "mode": "web_api", "status": 200, "error": None}
    client.put(URL, json={"mode": "web_api", "channel": "#gone"}, headers=auth(creds))
    resp = client.post(URL + "/test", headers=auth(creds))
    assert resp.status_code == 200 and resp.get_json() == {"ok": False, "mode": "web_api", "status": 200,
                                                           "error": "channel_not_found"}
    slack.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "9"})
    client.put(URL, json={"mode": "web_api", "channel": "#incidents"}, headers=auth(creds))
    assert client.post(URL + "/test", headers=auth(creds)).get_json()["error"] == "ratelimited"


@pytest.mark.parametrize("body, field", [
    ({"mode": "webhook", "webhook_url": "ftp://localhost/x"}, "webhook_url"),
    ({"mode": "webhook", "webhook_url": "javascript:alert(1)"}, "webhook_url"),
    ({"mode": "webhook", "webhook_url": "http://169.254.169.254/latest/meta-data"}, "webhook_url"),
    ({"mode": "webhook"}, "webhook_url"),
    ({"mode": "web_api", "bot_token": TOKEN}, "channel"),
    ({"mode": "web_api", "channel": "#incidents"}, "bot_token"),
    ({"mode": "web_api", "bot_token": "has spaces in it", "channel": "#x"}, "bot_token"),
    ({"mode": "web_api", "bot_token": TOKEN, "channel": "<!channel>"}, "channel"),
    ({"mode": "email"}, "mode"),
    ({}, "mode"),
])
def test_bad_settings_get_400_naming_the_field(client, tenant, body, field):
    _, creds = tenant
    resp = client.put(URL, json=body, headers=auth(creds))
    assert resp.status_code == 400
    assert field in resp.get_json()["error"]["fields"]
    assert TOKEN not in resp.get_data(as_text=True)


def test_a_webhook_url_goes_over_https_except_to_this_machine(client, tenant, app):
    _, creds = tenant
    app.config["SLACK_WEBHOOK_HOSTS"] = "hooks.slack.com,127.0.0.1"
    plain = client.put(URL, json={"mode": "webhook", "webhook_url": "http://hooks.slack.com/services/T/B/secret"},
                       headers=auth(creds))
    assert plain.status_code == 400 and "https" in plain.get_json()["error"]["fields"]["webhook_url"][0]
    for url in ("https://hooks.slack.com/services/T/B/secret", "http://127.0.0.1:9/services/T/B/secret"):
        assert client.put(URL, json={"mode": "webhook", "webhook_url": url}, headers=auth(creds)).status_code == 200, url


def test_settings_are_per_tenant(client, make_tenant, slack):
    _, a = make_tenant("A")
    _, b = make_tenant("B")
    client.put(URL, json={"mode": "webhook", "webhook_url": slack.webhook_url}, headers=auth(a))
    assert client.get(URL, headers=auth(b)).get_json()["mode"] == "off"


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "put"} <= set(paths[URL]) and "post" in paths[URL + "/test"]


def test_the_test_message_has_its_own_rate_limit(client, tenant):
    _, creds = tenant
    codes = [client.post(URL + "/test", headers=auth(creds)).status_code for _ in range(11)]
    assert codes[:10] == [409] * 10 and codes[10] == 429
    assert client.get(URL, headers=auth(creds)).status_code == 200  # the rest of the API is not affected


def test_the_weekly_accounts_digest_is_scheduled_in_the_settings(client, tenant, slack):
    _, creds = tenant
    resp = client.put(URL, json={"mode": "off", "accounts_digest": {"weekday": 0}}, headers=auth(creds))
    assert resp.status_code == 400 and "accounts_digest" in resp.get_json()["error"]["fields"]  # nothing to post to
    resp = client.put(URL, json={"mode": "webhook", "webhook_url": slack.webhook_url,
                                 "accounts_digest": {"weekday": 0}}, headers=auth(creds))
    assert resp.status_code == 200 and resp.get_json()["accounts_digest"] == {"weekday": 0, "hour": 9}
    # absent: kept; a new schedule replaces it; null: off
    assert client.put(URL, json={"mode": "webhook"}, headers=auth(creds)).get_json()["accounts_digest"] == {
        "weekday": 0, "hour": 9}
    body = {"mode": "webhook", "accounts_digest": {"weekday": 4, "hour": 16}}
    assert client.put(URL, json=body, headers=auth(creds)).get_json()["accounts_digest"] == {"weekday": 4, "hour": 16}
    assert client.get(URL, headers=auth(creds)).get_json()["accounts_digest"] == {"weekday": 4, "hour": 16}
    for bad in ({"weekday": 7}, {"weekday": -1}, {"hour": 9}, {"weekday": 1, "hour": 24}, {"weekday": "monday"}):
        resp = client.put(URL, json={"mode": "webhook", "accounts_digest": bad}, headers=auth(creds))
        assert resp.status_code == 400 and "accounts_digest" in resp.get_json()["error"]["fields"], bad
    assert client.put(URL, json={"mode": "webhook", "accounts_digest": None},
                      headers=auth(creds)).get_json()["accounts_digest"] is None
    client.put(URL, json=body, headers=auth(creds))
    # the schedule alone changes nothing else: the stored mode stays as it is
    only = client.put(URL, json={"accounts_digest": {"weekday": 2, "hour": 7}}, headers=auth(creds)).get_json()
    assert only["mode"] == "webhook" and only["accounts_digest"] == {"weekday": 2, "hour": 7}
    # turning Slack off turns the digest off with it
    assert client.put(URL, json={"mode": "off"}, headers=auth(creds)).get_json()["accounts_digest"] is None
    # and a schedule alone then cannot turn it back on
    resp = client.put(URL, json={"accounts_digest": {"weekday": 2}}, headers=auth(creds))
    assert resp.status_code == 400 and "accounts_digest" in resp.get_json()["error"]["fields"]
    assert client.get(URL, headers=auth(creds)).get_json()["mode"] == "off"
