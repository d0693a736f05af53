"""Incident summaries by Claude: the real `anthropic` client against a local fake of the Messages API,
and where the summary is shown (API, sidebar context, Slack, webhook bodies)."""

from __future__ import annotations

import json
from typing import Any

from werkzeug import Response

from server.incidents.models import Incident
from server.incidents.summaries import Backoff, incident_prompt, refresh_incident_summaries
from server.notify.outbox import enqueue
from server.notify.slack import incident_blocks
from server.notify.webhooks import groundswell_body, pagerduty_body
from server.topics.summaries import ClaudeSummarizer
from tests.incidents.factories import T0, add_incident, auth
from tests.topics.test_summaries import message_response
from tests.notify.conftest import incident_payload

REPS = [{"ticket_id": "101", "text": "The invoice PDF is blank, write to [email]"},
        {"ticket_id": "102", "text": "Downloaded invoice is an empty page"},
        {"ticket_id": "103", "text": "PDF export shows nothing since this morning"}]
EVIDENCE = {"observed": 15, "expected": 1.2, "top_terms": ["invoice pdf", "blank"], "representatives": REPS}


def claude(httpserver: Any, answers: list[str] | None = None, status: int = 200) -> list[dict[str, Any]]:
    """A fake Messages API answering each call with the next of ``answers``; returns the requests seen."""
    seen: list[dict[str, Any]] = []
    queue = list(answers or [])

    def handler(request):  # type: ignore[no-untyped-def]
        seen.append(request.get_json())
        if status != 200:
            return Response(json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
                            status=status, content_type="application/json")
        return message_response(queue.pop(0))

    httpserver.expect_request("/v1/messages", method="POST").respond_with_handler(handler)
    return seen


def summarizer(httpserver: Any, **kw: Any) -> ClaudeSummarizer:
    return ClaudeSummarizer("sk-ant-test", base_url=httpserver.url_for("/").rstrip("/"), timeout=5, **kw)


def stored(db: Any, tenant_id: int, incident_id: int) -> tuple[str | None, int | None]:
    with db.session() as s:
        row = s.get(Incident, (tenant_id, incident_id))
        return row.llm_summary, row.llm_summary_size


def test_a_summary_reads_the_redacted_tickets_and_is_asked_again_when_the_incident_doubles(httpserver, db, tenant):
    t, _ = tenant
    seen = claude(httpserver, ["Customers get blank invoice PDFs <b>since this morning</b>.",
                               "Invoice PDFs are blank for most customers on the enterprise plan."])
    add_incident(db, t.id, 1, ticket_count=3, evidence=EVIDENCE)
    told: list[tuple[int, int]] = []
    claude_ = summarizer(httpserver)
    assert refresh_incident_summaries(db, claude_, on_summary=lambda *key: told.append(key)) == 1
    assert told == [(t.id, 1)]
    prompt = seen[0]["messages"][0]["content"]
    assert "17 tickets in 2 h where 3 were expected." in prompt  # the detector's sentence
    assert "invoice pdf, blank" in prompt and "Ticket 3: PDF export shows nothing" in prompt
    assert "[email]" in prompt and "@" not in prompt
    assert stored(db, t.id, 1) == ("Customers get blank invoice PDFs <b>since this morning</b>.", 3)
    with db.session() as s:
        s.get(Incident, (t.id, 1)).ticket_count = 5  # grows, not yet twice
        s.commit()
    assert refresh_incident_summaries(db, claude_) == 0 and len(seen) == 1
    with db.session() as s:
        s.get(Incident, (t.id, 1)).ticket_count = 6
        s.commit()
    assert refresh_incident_summaries(db, claude_) == 1 and len(seen) == 2
    assert stored(db, t.id, 1) == ("Invoice PDFs are blank for most customers on the enterprise plan.", 6)


def test_only_active_incidents_with_ticket_text_are_sent_and_new_ones_first(httpserver, db, make_tenant):
    t, _ = make_tenant("Alpha")
    seen = claude(httpserver, ["first", "second"])
    add_incident(db, t.id, 1, ticket_count=2, evidence=EVIDENCE)  # too small
    add_incident(db, t.id, 2, ticket_count=9, status="resolved", evidence=EVIDENCE)  # ended
    add_incident(db, t.id, 3, kind="drop", ticket_count=0, evidence={"observed": 0, "expected": 14})
    add_incident(db, t.id, 4, ticket_count=4, evidence={"observed": 4, "expected": 0.2})  # no ticket text
    add_incident(db, t.id, 5, ticket_count=40, evidence=EVIDENCE, llm_summary="old", llm_summary_size=20)
    add_incident(db, t.id, 6, ticket_count=3, evidence=EVIDENCE)
    assert refresh_incident_summaries(db, summarizer(httpserver), limit=2) == 1  # #6 (never summarised), #4 (no text)
    assert stored(db, t.id, 6) == ("first", 3)
    assert stored(db, t.id, 4) == (None, 4)  # not asked again until it doubles
    assert [stored(db, t.id, i) for i in (1, 2, 3)] == [(None, None)] * 3
    assert refresh_incident_summaries(db, summarizer(httpserver)) == 1
    assert stored(db, t.id, 5) == ("second", 40) and len(seen) == 2


def test_partitions_split_tenants(httpserver, db, make_tenant):
    a, _ = make_tenant("Alpha")
    b, _ = make_tenant("Beta")
    seen = claude(httpserver, ["summary", "another"])  # enough answers for both: only the partition stops b
    add_incident(db, a.id, 1, ticket_count=3, evidence=EVIDENCE)
    add_incident(db, b.id, 1, ticket_count=3, evidence=EVIDENCE)
    assert a.id % 2 != b.id % 2
    mine = (a.id % 2, 2)
    assert refresh_incident_summaries(db, summarizer(httpserver), partition=mine) == 1
    assert stored(db, a.id, 1)[0] == "summary" and stored(db, b.id, 1) == (None, None) and len(seen) == 1


def test_a_failed_call_or_spent_budget_leaves_the_incident_to_a_later_pass(httpserver, db, tenant):
    t, _ = tenant
    seen = claude(httpserver, status=529)
    add_incident(db, t.id, 1, ticket_count=3, evidence=EVIDENCE)
    add_incident(db, t.id, 2, ticket_count=3, evidence=EVIDENCE)
    now = [1000.0]
    backoff = Backoff(clock=lambda: now[0])
    failing = summarizer(httpserver)
    assert refresh_incident_summaries(db, failing, backoff=backoff) == 0
    assert stored(db, t.id, 1) == (None, None) and len(seen) == 2  # the client's one retry; #2 not tried
    now[0] += 59
    assert refresh_incident_summaries(db, failing, backoff=backoff) == 0 and len(seen) == 2  # waiting
    now[0] += 2
    assert refresh_incident_summaries(db, failing, backoff=backoff) == 0 and len(seen) == 4
    assert backoff.after == now[0] + 120  # the wait doubles
    spent = summarizer(httpserver, calls_per_hour=0)
    assert refresh_incident_summaries(db, spent) == 0 and len(seen) == 4


def test_the_prompt_bounds_what_it_sends():
    long = [{"ticket_id": str(i), "text": "x" * 2000} for i in range(10)]
    incident = Incident(title="Spike", sentence="s", evidence={"representatives": long, "top_terms": ["a"] * 30})
    prompt = incident_prompt(incident)
    assert prompt is not None and prompt.count("Ticket ") == 4 and "x" * 801 not in prompt  # 4,000 characters of tickets
    assert prompt.count("a, ") == 7  # eight terms at most
    assert incident_prompt(Incident(title="Drop", sentence="s", evidence={})) is None


def test_the_api_and_notifications_show_the_summary_as_text(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1, ticket_count=3, evidence=EVIDENCE, llm_summary="PDFs are blank <@U123> *now*")
    detail = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()
    assert detail["llm_summary"] == "PDFs are blank <@U123> *now*"
    listed = client.get("/api/v1/incidents", headers=auth(creds)).get_json()["incidents"]
    assert listed[0]["llm_summary"] == "PDFs are blank <@U123> *now*"
    add_incident(db, t.id, 2)
    assert client.get("/api/v1/incidents/2", headers=auth(creds)).get_json()["llm_summary"] is None
    blocks = incident_blocks(incident_payload(llm_summary="PDFs are blank <@U123>"), "opened", None)["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert "_Summary by Claude:_ PDFs are blank &lt;@U123&gt;" in texts  # no mention reaches Slack
    assert "Summary by Claude" not in json.dumps(incident_blocks(incident_payload(), "opened", None))


def test_webhook_bodies_carry_the_summary(db, tenant):
    t, _ = tenant
    with db.session() as s:
        enqueue(s, t.id, 1, "opened", incident_payload(1), T0, 0)
        s.commit()
        from server.incidents.models import Notification

        note = s.get(Notification, (t.id, 1, 0))
        body = groundswell_body(t, note, None, "Blank PDFs.")
        assert body["incident"]["llm_summary"] == "Blank PDFs."
        assert groundswell_body(t, note, None)["incident"]["llm_summary"] is None
    pd = pagerduty_body("rk", t, 1, "opened", incident_payload(1), None, "Blank PDFs.")
    assert pd["payload"]["custom_details"]["llm_summary"] == "Blank PDFs."
    assert "llm_summary" not in pagerduty_body("rk", t, 1, "opened", incident_payload(1), None)["payload"]["custom_details"]

