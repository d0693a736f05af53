"""The demo stream's sessions record what the widget on the Acme pages would record there: clicks and rage
clicks on elements each page has, named as the widget names them, failed requests the page really sends
and the server really fails, in the widget's format, and time on every page, a help article included."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from server import create_app
from server.config import REPO_ROOT
from server.demo.replay import widget_batch
from server.demo.stream import (BACK_LINKS, CLICKS, FAILURES, HELP_PAGES, PAGES, RAGE_END, READING, TITLES,
                                TrafficModel)
from server.ingest.service import widget_event_time
from server.tenants import create_tenant
from server.widget.features import SessionFeatures
from server.widget.settings import page_path
from tests.conftest import TEST_SECRET_KEY

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
ORIGIN = "http://127.0.0.1:8123"
#: The widget's error-click window (errorClickMs): a failure this soon after a click is tied to it.
ERROR_CLICK = timedelta(seconds=2)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
LABELLED = {"button", "a", "summary", "label"}
NAMED = {"input", "select", "textarea", "button", "form"}


def _ident(s: str) -> str:
    return re.sub(r"[^\w-]", "", s)[:40]


class _Page(HTMLParser):
    """Every element of a served page as the widget's ``describe`` names it (widget/src/core/descriptor.ts),
    by the part of the page it is in: ``header`` or a view's section (``view-billing``, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict[str, Any]] = []
        self.names: dict[str, set[str]] = {}
        self.page = ""
        #: The ids of the invoices the page's view lists (its download buttons' ``data-invoice``).
        self.invoices: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.page = a.get("data-page", "")
        if "data-invoice" in a and any(el["attrs"].get("id") == "view-" + self.page for el in self.stack):
            self.invoices.append(a["data-invoice"])  # an invoice listed on this page
        if tag in ("input", "select", "textarea"):
            for el in self.stack:
                el["field"] = True
        el = {"tag": tag, "attrs": a, "text": [], "field": False}
        if tag in VOID:
            self._name(el)
        else:
            self.stack.append(el)

    def handle_data(self, data: str) -> None:
        for el in self.stack:
            el["text"].append(data)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            el = self.stack.pop()
            self._name(el)
            if el["tag"] == tag:
                return

    def _name(self, el: dict[str, Any]) -> None:
        tag, a = el["tag"], el["attrs"]
        out = tag
        if a.get("id") and not re.search(r"\d{4,}", a["id"]):
            out += "#" + _ident(a["id"])
        for c in [c for c in a.get("class", "").split() if not re.search(r"\d{4,}", c)][:3]:
            out += "." + _ident(c)
        if a.get("role"):
            out += "[role=" + _ident(a["role"]) + "]"
        if a.get("name") and tag in NAMED:
            out += "[name=" + _ident(a["name"]) + "]"
        text = " ".join("".join(el["text"]).split())
        label = a.get("aria-label") or (text[:40] if tag in LABELLED and not el["field"] else "")
        if label:
            out += "[" + label.replace("[", "").replace("]", "") + "]"
        parts = [p["tag"] if p["tag"] == "header" else p["attrs"].get("id", "") for p in self.stack] + [a.get("id", "")]
        for part in parts:
            if part == "header" or part.startswith("view-"):
                self.names.setdefault(part, set()).add(out)


@pytest.fixture
def acme_pages(db: Any, app_config: dict[str, Any], tmp_path: Path):  # type: ignore[no-untyped-def]
    """The Acme pages as the demo serves them (a stand-in for the built widget)."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "loader.js").write_text('"use strict";window.groundswell=function(){};')
    with db.session() as session:
        create_tenant(session, "Acme Billing", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme", slug="acme")
        session.commit()
    app = create_app({**app_config, "DEMO_PAGES": "1", "WIDGET_DIST_DIR": str(dist)})
    yield app.test_client()
    app.extensions["groundswell.db"].dispose()


def _served(client: Any, path: str) -> _Page:
    resp = client.get(path)
    assert resp.status_code == 200, path
    page = _Page()
    page.feed(resp.get_data(as_text=True))
    return page


def _sessions() -> list[dict[str, Any]]:
    """Quiet sessions, live ones during the invoice surge, and the surge tickets' own sessions."""
    model = TrafficModel(seed=4, origin=ORIGIN)
    sessions = list(model.session_history(NOW, hours=24, speed=8))
    sessions += list(model.sessions(NOW, minute=20.0, seconds=1800))
    sessions += [t["session"] for t in model.tickets(NOW, minute=25.0, seconds=600) if t.get("session")]
    return sessions


def _events_by_page(sessions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in sessions:
        for e in s["events"]:
            out.setdefault(e["url"][len(ORIGIN):], []).append(e)
    return out


def test_every_page_has_its_failure_its_clicks_and_each_tip_a_way_back():
    assert set(FAILURES) == set(CLICKS) == set(PAGES)
    assert set(BACK_LINKS) == set(HELP_PAGES)


def test_every_element_and_request_of_a_page_is_on_that_page(acme_pages: Any) -> None:
    """Each page's clicked and rage-clicked elements are elements of that page, named as the widget names
    them; each failed request is one the page's script sends, that the demo server answers with that status,
    reported with the path the widget gives it."""
    script = (REPO_ROOT / "server/static/acme/acme.js").read_text()
    by_page = _events_by_page(_sessions())
    # every page of the product but its status page, which only a banner's link leads to
    assert set(by_page) == set(TITLES) - {"/demo/acme/status"}
    for path, events in by_page.items():
        served = _served(acme_pages, path)
        names = served.names["header"] | served.names["view-" + served.page]
        targets = {e["target"] for e in events if "target" in e}
        assert targets and targets <= names, (path, targets - names)
        requests = {(e["data"]["method"], e["data"]["path"], e["data"]["status"])
                    for e in events if e["type"] == "failed_request"}
        failure = FAILURES.get(path)
        assert requests == ({failure.request} if failure and failure.request else set()), path
        for method, reported, status in requests:
            assert served.invoices or ":id" not in reported
            for real in {reported.replace(":id", n) for n in served.invoices} or {reported}:
                assert acme_pages.open(real, method=method).status_code == status, real
                assert page_path(real) == reported  # ids become ":id", as the widget reports them
            call = reported.removeprefix("/demo/acme/api/").split("/")[0]
            assert f'post("{call}' in script, call
    assert FAILURES["/demo/acme/upgrade"].request is None  # Continue sends nothing: no failed request there


def test_events_have_the_widgets_format():
    for s in _sessions():
        events = s["events"]
        assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
        last_click: dict[str, Any] | None = None
        for e in events:
            if e["type"] == "click":
                last_click = e
            elif e["type"] == "failed_request":
                assert set(e["data"]) == {"method", "status", "path", "error_click"}
                # The widget ties a failure that soon after a click to that click, and names its element.
                assert last_click and e["ts"] - last_click["ts"] <= ERROR_CLICK
                assert e["data"]["error_click"] is True and e["target"] == last_click["target"]
            elif e["type"] == "rage_click":
                assert set(e["data"]) == {"count"} and e["data"]["count"] >= 3
                # The burst: the clicks on its element before it, each within a second of the next (the
                # widget's rule), the last a second before the event (when the widget reports it).
                clicks = [c["ts"] for c in events if c["type"] == "click" and c["target"] == e["target"]
                          and c["ts"] < e["ts"]]
                assert e["ts"] - clicks[-1] == timedelta(seconds=RAGE_END)
                burst = 1
                while burst < len(clicks) and clicks[-burst] - clicks[-burst - 1] <= timedelta(seconds=1):
                    burst += 1
                assert burst == e["data"]["count"]
            elif e["type"] == "page_view":
                assert e["data"]["nav"] in ("load", "push")
                assert e["data"]["nav"] == "load" or e["data"]["from"] in {a for a, _ in HELP_PAGES.values()}


def test_a_help_article_is_read_for_a_while_even_as_the_server_reads_the_live_batch():
    """The time on an article is the time to the next event, as on every page; the live stream's batches
    leave after their last event, so the server's reading of their times keeps it."""
    model = TrafficModel(seed=4, origin=ORIGIN)
    live = list(model.sessions(NOW, minute=20.0, seconds=3600))
    read = 0
    for s in live:
        assert s["sent_at"] >= s["events"][-1]["ts"] and s["sent_at"] >= NOW
        batch = widget_batch(s)
        features = SessionFeatures(s["session_id"], started_ms=0)
        for e in batch["events"]:
            at = widget_event_time(e["ts"], batch["sent_at"], received_at=NOW)
            features.add(e, int(at.timestamp() * 1000))
        for page, (article, _title) in HELP_PAGES.items():
            if article in features.pages:
                assert READING[0] * 1000 <= features.pages[article].time_ms <= READING[1] * 1000 + 100
                assert features.pages[page].views == 2  # and back on the page whose tip it followed
                read += 1
    assert read > 10


def test_a_downgrade_request_names_a_plan_below_the_customers():
    model = TrafficModel(seed=4, origin=ORIGIN)
    texts = [(t["requester"]["plan"], t["description"]) for t in model.history(NOW, days=3, speed=8)
             if t["issue"] == "cancel"]
    downgrades = [(plan, re.search(r"from (\w+) to (\w+) from next month", text)) for plan, text in texts]
    downgrades = [(plan, m.groups()) for plan, m in downgrades if m]
    assert {plan for plan, _ in downgrades} == {"pro", "enterprise"}  # a starter customer asks no downgrade
    assert all(old == plan and (old, new) in {("pro", "starter"), ("enterprise", "pro")} for plan, (old, new) in downgrades)
    assert any(plan == "starter" for plan, _ in texts)  # they still write about cancelling
