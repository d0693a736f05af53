"""The Acme Billing sample product (server/demo/acme.py): served only with DEMO_PAGES, embeds the tenant's
site key and the widget snippet, fails its actions on purpose, and sends a strict CSP on its strict page."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest

from server import create_app
from server.demo.run import DEMO_NUDGES, INVOICE_HELP, OLD_INVOICE_HELP, _acme_widget
from server.demo.stream import TITLES
from server.eventlog import SqlEventLog
from server.tenants import create_tenant, find_by_slug
from server.widget import service as widget_service
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture
def demo(db: Any, app_config: dict[str, Any], tmp_path: Any):  # type: ignore[no-untyped-def]
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "loader.js").write_text('"use strict";window.groundswell=function(){};')
    (dist / "core.js").write_text("/* core */")
    with db.session() as session:
        _, creds = create_tenant(session, "Acme Billing", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme",
                                 slug="acme", origins=["http://localhost"])
        session.commit()
    app = create_app({**app_config, "DEMO_PAGES": "1", "WIDGET_DIST_DIR": str(dist)})
    yield app.test_client(), creds
    app.extensions["groundswell.db"].dispose()


def test_pages_are_absent_without_demo_pages(client: Any) -> None:
    assert client.get("/demo/acme/billing").status_code == 404


def test_page_embeds_snippet_and_site_key(demo: Any) -> None:
    client, creds = demo
    assert client.get("/demo/acme/").headers["Location"].endswith("/demo/acme/billing")
    for page in ("billing", "invoices", "upgrade", "help/payments", "help/invoices"):
        resp = client.get(f"/demo/acme/{page}")
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert "window.groundswell=function(){};" in html
        assert f'"siteKey": "{creds.site_key}"' in html
        assert "Content-Security-Policy" not in resp.headers
        # the title the widget reports in a page view, as the demo's simulated sessions report it
        assert f"<title>{TITLES['/demo/acme/' + page]}</title>" in html.replace("&#39;", "'")


def test_strict_page_has_strict_csp_and_no_inline_script(demo: Any) -> None:
    client, creds = demo
    assert client.get("/demo/acme/strict").headers["Location"].endswith("/demo/acme/billing?csp=strict")
    resp = client.get("/demo/acme/billing?csp=strict")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    html = resp.get_data(as_text=True)
    assert "<script>" not in html
    assert f'data-site-key="{creds.site_key}"' in html
    assert 'src="http://localhost/widget/v1/loader.js"' in html


def test_actions_fail_on_purpose(demo: Any) -> None:
    client, _ = demo
    assert client.post("/demo/acme/api/pay").status_code == 500
    bad = client.post("/demo/acme/api/coupon", json={"code": "<b>nope</b>"})
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]["code"]
    assert client.post("/demo/acme/api/coupon", json={"code": "welcome10"}).status_code == 200
    assert client.post("/demo/acme/api/coupon", data="not json").status_code == 422
    assert client.post("/demo/acme/api/invoices/10231/download").status_code == 500


def test_missing_build_is_a_clear_404(db: Any, app_config: dict[str, Any], tmp_path: Any) -> None:
    with db.session() as session:
        create_tenant(session, "Acme Billing", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme", slug="acme")
        session.commit()
    app = create_app({**app_config, "DEMO_PAGES": "1", "WIDGET_DIST_DIR": str(tmp_path / "none")})
    resp = app.test_client().get("/demo/acme/billing")
    assert resp.status_code == 404
    assert "npm run build" in resp.get_data(as_text=True)
    app.extensions["groundswell.db"].dispose()


def _section(html: str, view: str) -> str:
    match = re.search(rf'<section id="view-{view}".*?</section>', html, re.S)
    assert match, view
    return match.group(0)


def test_each_page_says_how_to_get_stuck_there(demo: Any) -> None:
    """The invoice tip comes from failed downloads, not payments: each page's note names its own trouble."""
    client, _ = demo
    html = client.get("/demo/acme/invoices").get_data(as_text=True)
    notes = {view: re.findall(r'<p class="hint try">(.*?)</p>', _section(html, view), re.S)
             for view in ("billing", "invoices", "upgrade")}
    assert [len(n) for n in notes.values()] == [1, 1, 1]
    assert "Pay three times" in notes["billing"][0] and "Download a PDF three times" in notes["invoices"][0]
    assert "Continue" in notes["upgrade"][0] and "Pay three times" not in notes["invoices"][0]


def test_each_demo_tip_links_to_a_help_page_about_it(demo: Any) -> None:
    client, _ = demo
    links = {n["id"]: n.get("link_url") for n in DEMO_NUDGES}
    assert links["acme-invoice-help"] == "/demo/acme/help/invoices"
    resp = client.get(links["acme-invoice-help"])
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'data-page="help-invoices"' in html  # the page's script shows this section alone
    text = _section(html, "help-invoices")
    assert "by e-mail" in text and "invoice" in text.lower() and "bank transfer" not in text
    assert "bank transfer" in _section(client.get(links["acme-billing-help"]).get_data(as_text=True), "help")


def test_a_demo_database_from_before_gets_the_invoice_tip_link_fixed(demo: Any, db: Any,
                                                                     app_config: dict[str, Any]) -> None:
    old = [dict({k: v for k, v in n.items() if k != "when"}, link_url=OLD_INVOICE_HELP)  # as the demo had them
           for n in DEMO_NUDGES if n["id"] != "acme-coupon-help"]
    own = {"id": "own-tip", "match": "/demo/acme/upgrade", "title": "Own", "body": "Own tip.",
           "link_url": OLD_INVOICE_HELP, "link_text": "Pay"}
    with db.session() as session:
        tenant = find_by_slug(session, "acme")
        widget_service.put_settings(session, SqlEventLog(), tenant.id, {"nudges": [*old, own]},
                                    now=datetime.now(timezone.utc))
    _acme_widget(app_config, 8000)
    with db.session() as session:
        stored = widget_service.stored_config(session, find_by_slug(session, "acme").id)
    links = {n["id"]: n["link_url"] for n in stored["nudges"]}
    assert links == {"acme-billing-help": OLD_INVOICE_HELP, "acme-coupon-help": None,
                     "acme-invoice-help": INVOICE_HELP, "own-tip": OLD_INVOICE_HELP}
    # the demo's tips answer the friction they are about (they answered anything on their page)
    when = {n["id"]: n["when"] for n in stored["nudges"]}
    assert when["acme-billing-help"] == [{"signal": "failed_request", "target": "POST /demo/acme/api/pay"}]
    assert when["own-tip"] == []


def test_each_demo_tip_answers_the_trouble_it_is_about() -> None:
    """What the widget sends on Acme Billing's pages, folded as the detector folds it: a session stuck on
    the coupon gets the coupon tip, one whose payment fails the payment tip, a dead button none."""
    from server.widget.features import SessionFeatures
    from server.widget.settings import WidgetConfig, page_path

    config = WidgetConfig.from_dict({"nudges": DEMO_NUDGES})
    url = "http://127.0.0.1:8000/demo/acme/"

    def tip(*events: dict[str, Any]) -> str | None:
        f = SessionFeatures("s", started_ms=0)
        for i, ev in enumerate(events * 3):
            f.add(ev, i * 1000)
        [path] = {page_path(ev["url"]) for ev in events}
        assert f.stuck_on(3) == [path]
        nudge = config.nudge_for(path, f.pages[path].met())
        return nudge.id if nudge else None

    assert tip({"type": "failed_request", "url": url + "billing",
                "data": {"method": "POST", "path": "/demo/acme/api/coupon", "status": 422}},
               {"type": "form_error", "url": url + "billing",
                "data": {"form": "coupon", "field": "code", "source": "aria"}}) == "acme-coupon-help"
    assert tip({"type": "failed_request", "url": url + "billing",
                "data": {"method": "POST", "path": "/demo/acme/api/pay", "status": 500}}) == "acme-billing-help"
    assert tip({"type": "failed_request", "url": url + "invoices",
                "data": {"method": "POST", "path": "/demo/acme/api/invoices/10231/download", "status": 500}}) \
        == "acme-invoice-help"
    assert tip({"type": "rage_click", "url": url + "billing", "target": "button#export"},
               {"type": "error_click", "url": url + "billing", "target": "button#report"}) is None


def test_the_status_page_has_one_entry_a_page_in_its_own_words_and_is_where_banners_link(
        demo: Any, db: Any, app_config: dict[str, Any]) -> None:
    from server.demo.run import DEMO_STATUS_PAGE
    from server.topics.models import Topic
    from tests.widget.test_api import add_incident

    client, _ = demo
    html = client.get(DEMO_STATUS_PAGE).get_data(as_text=True)
    section = _section(html, "status")
    assert 'data-page="status"' in html and "All systems operational." in section and "Last updated" in section
    assert "Pay three times" not in html  # the demo's hint is for the product's own pages
    with db.session() as session:
        tenant_id = find_by_slug(session, "acme").id
        at = datetime.now(timezone.utc)
        session.add(Topic(tenant_id=tenant_id, id=7, name="Blank invoice PDFs.", label="pdf · blank", keywords=[],
                          summary="", llm_summary=None, llm_summary_size=None, size=9, representatives=[],
                          first_seen_at=at, last_seen_at=at, merged_into=None, updated_at=at))
        session.commit()
    invoices = [{"path": "/demo/acme/invoices", "sessions": 9, "users": 9, "associated": True}]
    add_incident(db, tenant_id, 1, "friction", {"path": "/demo/acme/invoices", "signal": "failed_request"})
    add_incident(db, tenant_id, 2, "spike", {"pages": invoices, "requesters": 9})  # the same outage's tickets
    add_incident(db, tenant_id, 3, "spike", {"pages": []})  # names no page: no banner, not listed
    add_incident(db, tenant_id, 4, "sentiment", {"path": "/demo/acme/billing"})  # no banner kind
    add_incident(db, tenant_id, 5, "friction", {"path": "/demo/acme/billing"}, status="acknowledged")
    add_incident(db, tenant_id, 6, "friction", {"path": "/demo/acme/upgrade"}, status="resolved")
    with db.session() as session:
        from server.incidents.models import Incident
        session.get(Incident, (tenant_id, 2)).topic_id = 7
        session.get(Incident, (tenant_id, 6)).resolved_at = datetime.now(timezone.utc)
        session.commit()
    section = _section(client.get(DEMO_STATUS_PAGE).get_data(as_text=True), "status")
    assert "All systems operational" not in section and "this page" not in section
    entries = re.findall(r"<h2>(.*?)</h2>\s*<p>(.*?)</p>", section)
    assert entries == [
        ("Billing: Identified", "Some actions here are failing for several people. "
                                "We know the cause and are working on a fix."),
        ("Invoices: Investigating", "Blank invoice PDFs. Some actions here are failing for several people. "
                                    "We are looking into it."),
        ("Upgrade to Pro: Resolved", "Some actions here are failing for several people. It works again."),
    ]  # current problems first, the newest first; a page's incidents are one entry
    # the demo's banners link here: on a new demo database, and on one from before that had no status page
    _acme_widget(app_config, 8000)
    with db.session() as session:
        assert widget_service.stored_config(session, tenant_id)["status_page_url"] == DEMO_STATUS_PAGE
        widget_service.put_settings(session, SqlEventLog(), tenant_id,
                                    dict(widget_service.stored_config(session, tenant_id), status_page_url=None),
                                    now=datetime.now(timezone.utc))
    _acme_widget(app_config, 8000)
    with db.session() as session:
        assert widget_service.stored_config(session, tenant_id)["status_page_url"] == DEMO_STATUS_PAGE
