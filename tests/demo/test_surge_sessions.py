"""The demo stream's sessions are on the demo's own Acme pages, and a surge's customers meet friction on the
issue's page, identified with a valid user_hash, minutes before they write their ticket: what lets the
incident name the page and the widget show the known issue there. Friction happens on the product pages;
the help articles their tips link to are where some of those customers go next, read, and come back from;
nothing fails there."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from server.demo import acme
from server.demo.replay import Replayer, widget_batch, zendesk_event
from server.demo.run import DEMO_NUDGES
from server.demo.stream import BACK_LINKS, BEFORE_TICKET, FOLLOW_HELP, HELP_PAGES, ISSUES, PAGES, TITLES, \
    TrafficModel
from server.widget.identity import user_hash, verify

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
ORIGIN = "http://127.0.0.1:8123"
SECRET = "gs_id_test-secret"
SERVED = {f"/demo/acme/{p}" for p in acme.PAGES} | {"/demo/acme/help/payments", "/demo/acme/help/invoices"}
HELP = {path for path, _ in HELP_PAGES.values()}
#: The friction signals the stream's sessions produce (the widget's SIGNALS has more).
FRICTION = {"failed_request", "rage_click"}


def _model(**kw: object) -> TrafficModel:
    return TrafficModel(seed=5, origin=ORIGIN, user_hash=lambda uid: user_hash(SECRET, uid), **kw)  # type: ignore[arg-type]


def _surge_tickets(model: TrafficModel, minute: float = 20.0) -> list[dict]:
    return [t for t in model.tickets(NOW, minute=minute, seconds=600) if t["issue"] == "invoice_pdf"]


def test_every_page_is_one_the_demo_serves():
    assert set(PAGES) <= SERVED and HELP <= SERVED and set(TITLES) == set(PAGES) | HELP | {"/demo/acme/status"}
    assert {i.page for i in ISSUES} <= SERVED
    assert next(i.page for i in ISSUES if i.key == "invoice_pdf") == "/demo/acme/invoices"
    assert next(i.page for i in ISSUES if i.key == "card_declined") == "/demo/acme/billing"


def test_session_urls_are_on_the_given_origin():
    model = _model()
    sessions = list(model.sessions(NOW, minute=20.0, seconds=300))
    assert sessions
    for s in sessions:
        for e in s["events"]:
            assert e["url"].startswith(ORIGIN + "/demo/acme/")
            assert e["url"][len(ORIGIN):] in TITLES
        assert s["events"][0]["url"][len(ORIGIN):] in PAGES  # a session starts on a product page


def test_surge_customers_are_identified_with_friction_on_the_page_before_their_ticket():
    tickets = _surge_tickets(_model())
    assert len(tickets) > 10
    for t in tickets:
        session = t["session"]
        events = session["events"]
        requester = t["requester"]["id"]
        # On the invoices page; some go on to read its tip's article and come back.
        urls = {e["url"] for e in events}
        assert events[0]["url"] == events[-1]["url"] == ORIGIN + "/demo/acme/invoices"
        assert urls <= {ORIGIN + "/demo/acme/invoices", ORIGIN + "/demo/acme/help/invoices"}
        assert all(e["user_id"] == requester for e in events)
        # The ticket's requester id is what the webhook carries, so the widget joins on requester_id.
        assert zendesk_event(t)["detail"]["requester_id"] == requester
        first = events[0]
        assert first["type"] == "identify" and verify(SECRET, requester, first["data"]["user_hash"])
        kinds = [e["type"] for e in events]
        assert "failed_request" in kinds and "rage_click" in kinds
        assert kinds.index("identify") < kinds.index("failed_request")
        assert all(e["ts"] < t["created_at"] for e in events)
        lead = t["created_at"] - events[0]["ts"]
        assert timedelta(seconds=BEFORE_TICKET[0]) <= lead <= timedelta(seconds=BEFORE_TICKET[1])
        assert session["sent_at"] < t["created_at"]
        assert widget_batch(session)["events"][0]["data"]["user_hash"] == first["data"]["user_hash"]


def test_people_who_cannot_sign_in_bring_no_session_and_fail_no_page():
    """The SSO outage's customers never reach a page with the widget: their tickets come alone, and the
    surge makes no product page fail (the invoice surge, of people in the product, does)."""
    model = _model()
    sso = next(inc for inc in model.incidents if inc.issue == "sso_error")
    during = sso.start_minute + sso.duration_minutes / 2
    assert not {inc.issue for inc in model.active(during)} - {"sso_error"}  # the SSO surge alone then
    tickets = [t for t in model.tickets(NOW, minute=during, seconds=600) if t["issue"] == "sso_error"]
    assert len(tickets) > 10 and not [t for t in tickets if t.get("session")]
    sessions = list(model.sessions(NOW, minute=during, seconds=3600))
    failing = [s for s in sessions if any(e["type"] == "failed_request" for e in s["events"])]
    assert len(sessions) > 100 and len(failing) < 0.1 * len(sessions)  # the usual few, nothing more
    invoices = next(inc for inc in model.incidents if inc.issue == "invoice_pdf")
    busy = list(model.sessions(NOW, minute=invoices.start_minute + 1, seconds=3600))
    assert sum(any(e["type"] == "failed_request" for e in s["events"]) for s in busy) > 0.2 * len(busy)


def test_quiet_tickets_and_history_carry_no_session_and_no_signer_means_no_hash():
    model = _model()
    quiet = [t for t in model.tickets(NOW, minute=20.0, seconds=600) if t["issue"] != "invoice_pdf"]
    assert quiet and all("session" not in t for t in quiet)
    assert all("session" not in t for t in model.history(NOW, days=0.5, speed=8))
    unsigned = _surge_tickets(TrafficModel(seed=5, origin=ORIGIN))
    assert unsigned and all(t["session"]["events"][0]["data"] == {} for t in unsigned)


def test_the_same_seed_gives_the_same_surge_sessions():
    a, b = _surge_tickets(_model()), _surge_tickets(_model())
    assert [t["session"] for t in a] == [t["session"] for t in b]


def test_replayer_signs_with_the_tenant_secret_and_sends_the_session_before_the_ticket(monkeypatch):
    creds = {"tenant": "acme", "site_key": "pk", "webhook_secret": "w", "identity_secret": SECRET}
    replayer = Replayer(ORIGIN + "/", creds, speed=8, seed=5)
    assert replayer.model.origin == ORIGIN
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(replayer, "_post", lambda path, body, headers: sent.append((path, headers)))
    ticket = _surge_tickets(replayer.model)[0]
    replayer.rng.random = lambda: 0.5  # type: ignore[method-assign]  # no duplicate deliveries
    replayer.send_ticket(ticket)
    assert [p for p, _ in sent] == ["/api/v1/events", "/webhooks/zendesk/acme"]
    assert sent[0][1]["Origin"] == ORIGIN
    first = ticket["session"]["events"][0]
    assert verify(SECRET, ticket["requester"]["id"], first["data"]["user_hash"])


def test_the_help_tips_link_the_articles_the_stream_sends_people_to():
    linked = {n["match"]: n["link_url"] for n in DEMO_NUDGES if n.get("link_url")}  # the coupon tip links nowhere
    assert linked == {page: path for page, (path, _) in HELP_PAGES.items()}


def test_friction_is_met_on_product_pages_and_help_articles_are_where_some_go_next():
    """A help article is static text: people who met friction on a page with a help tip read its article next
    and go back to the page by the article's header link; no session starts there and nothing there fails."""
    model = _model()
    sessions = list(model.session_history(NOW, hours=12, speed=8))
    sessions += list(model.sessions(NOW, minute=20.0, seconds=1800))  # during the invoice surge
    sessions += [t["session"] for t in _surge_tickets(model, minute=25.0)]
    followed: Counter[str] = Counter()
    hurt_with_tip: Counter[str] = Counter()
    for s in sessions:
        pages = [e["url"][len(ORIGIN):] for e in s["events"]]
        assert pages[0] in PAGES
        on_help = [e for e, page in zip(s["events"], pages) if page in HELP]
        friction = [page for e, page in zip(s["events"], pages) if e["type"] in FRICTION]
        assert all(page in PAGES for page in friction)
        if pages[0] in HELP_PAGES and friction:
            hurt_with_tip[pages[0]] += 1
        if not on_help:
            continue
        # The article of the page where this session just met friction: loaded, read, and left by the link
        # back to that page, whose page view ends the session.
        assert [e["type"] for e in on_help] == ["page_view", "click"] and on_help[1] is s["events"][-2]
        assert friction and pages[-2] == HELP_PAGES[pages[0]][0] and pages[-1] == pages[0]
        assert on_help[0]["title"] == f"{HELP_PAGES[pages[0]][1]} · Acme Billing" and on_help[0]["data"] == {"nav": "load"}
        assert "title" not in on_help[1]  # the widget sends a title with page views only
        assert on_help[1]["target"] == BACK_LINKS[pages[0]]
        assert s["events"][-1]["data"] == {"nav": "push", "from": HELP_PAGES[pages[0]][0]}
        assert on_help[0]["ts"] > s["events"][-4]["ts"]
        followed[pages[0]] += 1
    assert set(followed) == set(HELP_PAGES)
    for page, n in hurt_with_tip.items():
        assert abs(followed[page] / n - FOLLOW_HELP) < 0.1
