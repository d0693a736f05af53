"""The incidents page's widget section: served with the page, rendered as text only."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "server" / "static"


def test_incidents_page_carries_the_deflection_section(client):
    html = client.get("/incidents").get_data(as_text=True)
    assert '<script src="/static/deflection.js" defer></script>' in html
    assert 'id="deflection"' in html and 'id="deflection-body"' in html
    assert client.get("/static/deflection.js").status_code == 200


def test_deflection_script_writes_text_and_reads_the_measurement_api():
    for name in ("page.js", "deflection.js", "accounts.js", "alerts.js", "tuning.js", "incidents.js", "chart.js", "known.js"):
        js = (STATIC / name).read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in js, (name, sink)
    js = (STATIC / "deflection.js").read_text()
    assert "textContent" in js and 'GS.call("GET", "/api/v1/widget/measurement")' in js
    shared = (STATIC / "page.js").read_text()  # the token is read from session storage, sent as a bearer token
    assert '"Bearer " + sessionStorage.getItem(KEY)' in shared
    assert "localStorage.setItem(KEY" not in shared and "localStorage.getItem(KEY" not in shared  # never kept


def test_incident_script_shows_friction_pages():
    js = (STATIC / "incidents.js").read_text()
    assert 'friction: "In-app friction"' in (STATIC / "page.js").read_text()  # the kind's name, for every page
    assert "Pages before the tickets" in js
