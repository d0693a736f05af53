"""The incidents page (server/incidents/views.py) is served without inline script or style, and its script
never writes HTML: static checks (its behaviour in a real browser: e2e/incidents.spec.ts)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "server" / "static"


def test_page_is_served_and_links_its_assets(client):
    resp = client.get("/incidents")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert '<script src="/static/chart.js" defer></script>\n<script src="/static/incidents.js" defer></script>' in html
    assert 'href="/static/app.css"' in html and 'href="/"' in html  # back to the dashboard
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None  # no inline script
    assert "<style" not in html and " style=" not in html and re.search(r"\son[a-z]+=", html) is None
    assert client.get("/static/incidents.js").status_code == 200


def test_dashboard_links_to_the_incidents_page(client):
    assert 'href="/incidents"' in client.get("/").get_data(as_text=True)


def test_script_writes_text_never_html():
    for name in ("incidents.js", "chart.js"):
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in (STATIC / name).read_text(), (name, sink)
    js = (STATIC / "incidents.js").read_text()
    assert "textContent" in js and "createTextNode" in js
    # The token comes from the URL fragment and lives in session storage only.
    assert "sessionStorage.setItem(KEY" in js and "localStorage.setItem(KEY" not in js


def test_pages_have_an_icon_and_favicon_ico_leads_to_it(client):
    for page in ("/", "/incidents", "/api/v1/docs"):
        assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in client.get(page).get_data(as_text=True)
    resp = client.get("/favicon.ico")  # what browsers ask for on pages without the link (the demo's sample product)
    assert resp.status_code == 301 and resp.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


def test_the_scripts_signal_nouns_are_the_servers():
    from server.widget.features import SIGNAL_NOUNS

    js = (STATIC / "page.js").read_text()  # shared by the incidents page's scripts (GS.SIGNAL_NOUNS)
    block = re.search(r"var SIGNAL_NOUNS = Object\.freeze\(\{(.*?)\}\);", js, re.S).group(1)
    assert dict(re.findall(r'(\w+): "([^"]+)"', block)) == SIGNAL_NOUNS


def test_the_page_learns_the_demos_agent_page_only_where_the_demo_pages_are_served(client, app_config):
    from server.app import create_app

    assert "data-agent-page" not in client.get("/incidents").get_data(as_text=True)
    demo = create_app({**app_config, "DEMO_PAGES": "1"})
    try:
        html = demo.test_client().get("/incidents").get_data(as_text=True)
    finally:
        demo.extensions["groundswell.db"].dispose()
    assert 'id="incidents-app" hidden data-agent-page="/demo/zendesk"' in html
