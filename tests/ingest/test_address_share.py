"""One caller address's share of a site's widget limit (RATE_LIMIT_WIDGET_PER_ADDRESS). The site key is public and
only browsers are held to the origin allowlist: a script sending an allowed Origin once used up the site's whole
bucket, and its real visitors' events got 429 (server/ingest/views.py `widget_limits`)."""

from __future__ import annotations

import pytest

from server import create_app
from tests.conftest import ORIGIN, post_widget, widget_batch

SCRIPT = {"REMOTE_ADDR": "203.0.113.66"}


def visitor(i: int) -> dict[str, str]:
    return {"REMOTE_ADDR": f"198.51.100.{i}"}


@pytest.mark.parametrize("share", ["3/minute", "3/hour"])  # the share's window as long as the site's, or longer
def test_one_address_cannot_use_up_the_sites_limit(app, client, db, tenant, share):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "10/minute"
    app.config["RATE_LIMIT_WIDGET_PER_ADDRESS"] = share
    script = [post_widget(client, creds.site_key, widget_batch(1), environ_base=SCRIPT) for _ in range(6)]
    assert [r.status_code for r in script] == [202, 202, 202, 429, 429, 429]
    assert int(script[-1].headers["Retry-After"]) >= 1
    assert script[-1].get_json()["error"]["code"] == "rate_limited"
    # The refused requests took nothing from the site's bucket: seven more visitors fill it, the eleventh gets 429.
    codes = [post_widget(client, creds.site_key, widget_batch(1), environ_base=visitor(i)).status_code
             for i in range(8)]
    assert codes == [202] * 7 + [429]


def test_by_default_an_address_gets_a_fifth_of_the_sites_limit(app, client, db, tenant):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "10/minute"
    assert [post_widget(client, creds.site_key, widget_batch(1), environ_base=SCRIPT).status_code
            for _ in range(3)] == [202, 202, 429]
    assert post_widget(client, creds.site_key, widget_batch(1), environ_base=visitor(7)).status_code == 202


def test_behind_a_trusted_proxy_each_client_address_has_its_own_share(db, app_config, make_tenant):
    app = create_app({**app_config, "TRUSTED_PROXIES": "1", "RATE_LIMIT_WIDGET": "100/minute",
                      "RATE_LIMIT_WIDGET_PER_ADDRESS": "2/minute"})
    client = app.test_client()
    _, creds = make_tenant()

    def send(forwarded_for: str) -> int:  # every request reaches the app from the balancer, 10.0.0.5
        headers = {"X-Groundswell-Site-Key": creds.site_key, "Origin": ORIGIN, "X-Forwarded-For": forwarded_for}
        return int(client.post("/api/v1/events", json=widget_batch(1), headers=headers,
                               environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code)

    assert [send("203.0.113.66") for _ in range(3)] == [202, 202, 429]
    assert send("198.51.100.7") == 202  # another customer behind the same balancer
    app.extensions["groundswell.db"].dispose()


@pytest.mark.parametrize("endpoint", ["decide", "known-issues"])
def test_the_widgets_other_public_endpoints_give_each_address_its_share_too(app, client, db, tenant, endpoint):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "10/minute"
    app.config["RATE_LIMIT_WIDGET_PER_ADDRESS"] = "2/minute"

    def call(environ: dict[str, str]) -> int:
        if endpoint == "decide":
            body = {"site_key": creds.site_key, "session_id": "s1", "url": ORIGIN + "/billing"}
            r = client.post("/api/v1/widget/decide", json=body, headers={"Origin": ORIGIN}, environ_base=environ)
        else:
            r = client.get(f"/api/v1/widget/known-issues?site_key={creds.site_key}&url={ORIGIN}/billing",
                           headers={"Origin": ORIGIN}, environ_base=environ)
        return int(r.status_code)

    assert [call(SCRIPT) for _ in range(3)] == [200, 200, 429]
    assert call(visitor(7)) == 200  # a real visitor elsewhere still gets an answer


def test_an_ipv6_caller_is_counted_by_its_64_block(app, client, db, tenant):
    """A host is usually given a whole /64: rotating through it does not give a script a new share each time."""
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "10/minute"
    app.config["RATE_LIMIT_WIDGET_PER_ADDRESS"] = "2/minute"
    codes = [post_widget(client, creds.site_key, widget_batch(1),
                         environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{i + 1:x}"}).status_code for i in range(3)]
    assert codes == [202, 202, 429]
    other = post_widget(client, creds.site_key, widget_batch(1), environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert other.status_code == 202  # another block: another caller
