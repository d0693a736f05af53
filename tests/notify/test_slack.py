"""Block Kit builders: shape, content, escaping of untrusted text, Slack's length limits."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from server.notify.slack import escape, incident_blocks
from server.widget.detectors import Alarm
from server.widget.friction import FrictionIncidents
from tests.notify.conftest import incident_payload
from tests.notify.fake_slack import blocks_problem

EVIL_TITLE = "Spike: '<img src=x onerror=alert(1)> <!channel> & <https://evil.example|click>'"
EVIL_TEXT = "<!channel> <!here> <@U123> <img src=x onerror=alert(1)> &amp; <https://evil.example|login>"
#: How a sentence's clocks are read, the same table for the incidents page and the Zendesk app.
CLOCK_CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "utc_clock_cases.json").read_text("utf-8"))["cases"]
DATE_TOKEN = re.compile(r"<!date\^(\d+)\^\{time\}\|([^>]*)>")


def texts(message: dict[str, Any]) -> Iterator[str]:
    """Every string Slack renders: the fallback and each text object."""
    yield message["text"]

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                yield node["text"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(message["blocks"])


def test_opened_message_carries_the_evidence():
    msg = incident_blocks(incident_payload(), "opened", "https://gs.example.com/")
    assert blocks_problem(msg) is None
    assert msg["text"] == "Incident #12 opened: Spike: 'invoice pdf · blank'"
    kinds = [b["type"] for b in msg["blocks"]]
    assert kinds[0] == "header" and kinds[-1] == "context" and "actions" in kinds
    assert msg["blocks"][0]["text"]["text"].startswith(":rotating_light: #12 Spike: 'invoice pdf")
    body = json.dumps(msg, ensure_ascii=False)
    for expected in ("17 tickets from 15 customers", "15 vs 1.2 (normal 0–4)", "3.2e-07", "*Customers*\\n15 (17 tickets)",
                     "*Accounts*\\n9", "`invoice pdf`", "73% plan enterprise", "Release 2.31", "40 min before",
                     "<!date^1772492640^", "The invoice PDF is blank", "PDF export shows nothing"):
        assert expected in body, expected
    assert "a fourth one" not in body  # at most three representatives
    # the sentence's first-seen clock is a date token: each reader sees it in their own time zone
    assert "first seen <!date^1772492640^{time}|23:04 UTC>" in body
    # every clock of a sentence, each the moment nearest the first-seen time (a friction hour after midnight)
    friction = incident_payload(first_seen_at="2026-03-02T23:58:00+00:00",
                                sentence="12 failed requests on /invoices in the hour from 23:00 UTC, above normal "
                                         "since 00:04 UTC, from 9 sessions.")
    said = json.dumps(incident_blocks(friction, "opened", None))
    assert "from <!date^1772492400^{time}|23:00 UTC>, above normal since <!date^1772496240^{time}|00:04 UTC>" in said
    assert "not a clock 25:00 UTC" in json.dumps(incident_blocks(incident_payload(sentence="not a clock 25:00 UTC"),
                                                                 "opened", None))
    button = next(b for b in msg["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["url"] == "https://gs.example.com/incidents#id=12"


@pytest.mark.parametrize("case", CLOCK_CASES, ids=[c["name"] for c in CLOCK_CASES])
def test_sentence_clocks_follow_the_shared_table(case):
    """Each clock of the table's sentence is a date token at its moment, with the clock as written for where
    Slack cannot show one; the rest of the sentence is as written."""
    payload = incident_payload(sentence=case["sentence"], first_seen_at=case["first_seen"])
    blocks = incident_blocks(payload, "opened", None)["blocks"]
    shown = blocks[1]["text"]["text"] if case["sentence"].strip() else ""  # the sentence follows the header
    found = [(m[2], datetime.fromtimestamp(int(m[1]), timezone.utc)) for m in DATE_TOKEN.finditer(shown)]
    assert found == [(c["clock"], datetime.fromisoformat(c["utc"])) for c in case["clocks"]]
    assert DATE_TOKEN.sub(lambda m: m[2], shown) == escape(case["sentence"])


def test_a_sentiment_incident_reads_as_a_tone():
    payload = incident_payload(kind="sentiment", title="Sentiment falling: 'organization:900002'", evidence={
        "observed": -0.392, "expected": -0.077, "lower": -0.201, "upper": 0.047, "window_minutes": 360,
        "measure": "mean sentiment (VADER compound, -1 to 1)", "window_tickets": 46})
    body = json.dumps(incident_blocks(payload, "opened", None), ensure_ascii=False)
    assert "-0.39 vs -0.08 (normal -0.20 to +0.05)" in body
    assert "_mean sentiment (VADER compound, -1 to 1) in 360 min_" in body


def test_no_link_without_a_base_url_and_minimal_payloads_still_build():
    msg = incident_blocks({"id": 1, "kind": "drop", "title": "", "evidence": None}, "opened", None)
    assert blocks_problem(msg) is None
    assert all(b["type"] != "actions" for b in msg["blocks"])
    assert "Drop" in msg["blocks"][0]["text"]["text"]


@pytest.mark.parametrize("event", ["opened", "grew", "resolved", "reopened"])
def test_untrusted_text_is_escaped_everywhere(event):
    reps = [{"ticket_id": "<!channel>", "text": EVIL_TEXT}]
    ev = {**incident_payload()["evidence"], "top_terms": ["<!here>", "a&b"], "representatives": reps,
          "segments": [{"name": "<!channel>", "value": "<b>x</b>", "count": 2, "share": 0.5, "label": "<!here>"}],
          "release": {"version": "<!channel>", "deployed_at": "2026-03-02T22:24:00+00:00", "minutes_before": 5}}
    payload = incident_payload(title=EVIL_TITLE, sentence=EVIL_TEXT, series="<!channel>", evidence=ev,
                               status_by="<!everyone>", status="resolved" if event == "resolved" else "open")
    msg = incident_blocks(payload, event, "https://gs.example.com")
    assert blocks_problem(msg) is None
    for text in texts(msg):
        for bad in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<img", "<https://evil", "<b>"):
            assert bad not in text, (bad, text)
    rendered = json.dumps(msg, ensure_ascii=False)
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered and "&lt;!channel&gt;" in rendered
    assert "&amp;amp;" in rendered or event != "opened"  # an escaped '&amp;' in ticket text stays literal


def test_a_segments_name_is_shown_beside_its_id():
    seg = {"name": "organization", "value": "900002", "count": 5, "share": 0.46, "label": "Kestrel Logistics"}
    ev = {**incident_payload()["evidence"], "segments": [seg]}
    body = "\n".join(texts(incident_blocks(incident_payload(evidence=ev), "opened", None)))
    assert "*Mostly from:* 46% Kestrel Logistics (organization 900002)" in body


def test_only_date_tokens_open_angle_brackets():
    payload = incident_payload(title=EVIL_TITLE, sentence=EVIL_TEXT)
    for event in ("opened", "grew", "resolved"):
        for text in texts(incident_blocks(payload, event, None)):
            stripped = text
            while "<!date^" in stripped:
                start = stripped.index("<!date^")
                stripped = stripped[:start] + stripped[stripped.index(">", start) + 1:]
            assert "<" not in stripped and ">" not in stripped.replace("> ", "").replace(">\n", ""), text


def test_long_text_is_clipped_to_block_kit_limits():
    long_title = "Spike: '" + "<" * 400 + "'"
    reps = [{"ticket_id": str(i), "text": "x&" * 5000} for i in range(3)]
    ev = {**incident_payload()["evidence"], "representatives": reps, "top_terms": ["t" * 3000] * 8}
    msg = incident_blocks(incident_payload(title=long_title, sentence="&" * 10000, evidence=ev), "opened", None)
    assert blocks_problem(msg) is None
    header = msg["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…") and not header.rstrip("…").endswith("&l")
    assert all(len(t) <= 3000 for t in texts(msg))
    assert len(msg["blocks"]) <= 50


def test_replies_are_short_and_name_the_incident():
    grew = incident_blocks(incident_payload(ticket_count=40, requester_count=33), "grew", "https://gs.example.com")
    assert blocks_problem(grew) is None and len(grew["blocks"]) <= 2
    assert "*Incident #12*" in grew["blocks"][0]["text"]["text"] and "*grew*: now 40 tickets from 33" in grew["blocks"][0]["text"]["text"]
    resolved = incident_blocks(incident_payload(status="resolved", status_by="ana@example.com",
                                                resolved_at="2026-03-03T03:00:00+00:00"), "resolved", None)
    assert resolved["text"].startswith("Incident #12 resolved")
    assert "*resolved* by ana@example.com" in resolved["blocks"][0]["text"]["text"]
    merged = incident_blocks(incident_payload(status="resolved", status_by="ana@example.com",
                                              resolved_at="2026-03-03T03:00:00+00:00",
                                              evidence={"merged_into_incident": 9}), "resolved", None)
    assert blocks_problem(merged) is None
    assert "*merged into #9* by ana@example.com" in merged["blocks"][0]["text"]["text"]
    assert "it goes on there" in merged["blocks"][0]["text"]["text"]
    assert merged["text"].startswith("Incident #12 merged into #9:")  # what notifications show
    acked = incident_blocks(incident_payload(status="acknowledged", status_by="<!here> ana (Slack)",
                                             status_changed_at="2026-03-03T02:10:00+00:00"), "acknowledged", None)
    assert blocks_problem(acked) is None and acked["text"].startswith("Incident #12 acknowledged:")
    line = acked["blocks"][0]["text"]["text"]
    assert line.startswith(":eyes: *Incident #12*") and "*acknowledged* by &lt;!here&gt; ana (Slack) at <!date^" in line
    assert "17 tickets from 15 customers" in line and "so far" in line
    dismissed = incident_blocks(incident_payload(status="dismissed", status_by="ana@example.com"), "resolved", None)
    assert dismissed["text"].startswith("Incident #12 dismissed:")
    back = incident_blocks(incident_payload(ticket_count=25, requester_count=21), "reopened", None)
    assert back["text"].startswith("Incident #12 reopened")
    assert "*reopened*: it is rising again; now 25 tickets from 21" in back["blocks"][0]["text"]["text"]
    by_hand = incident_blocks(incident_payload(status="open", status_by="<b>Dana</b>", ticket_count=25,
                                               status_changed_at="2026-03-03T04:00:00+00:00"), "reopened", None)
    line = by_hand["blocks"][0]["text"]["text"]
    assert blocks_problem(by_hand) is None and "rising again" not in line  # a person's word, not the detector's
    assert "*reopened* by &lt;b&gt;Dana&lt;/b&gt; at <!date^1772510400^" in line and "25 tickets from" in line
    parent = incident_blocks(incident_payload(status="resolved"), "opened", None)
    assert parent["blocks"][0]["text"]["text"].startswith(":white_check_mark: [Resolved] #12")


def test_unknown_event_is_refused():
    with pytest.raises(ValueError):
        incident_blocks(incident_payload(), "escalated", None)


def test_friction_messages_speak_of_the_pages_sessions_and_signals():
    stage_incidents = FrictionIncidents()
    for signal, observed, expected, n in (("failed_request", 48, 4.9, 40), ("rage_click", 85, 10.1, 43)):
        stage_incidents.alarm(Alarm("/invoices", signal, observed, expected, 1e-12, {f"s{i}" for i in range(n)},
                                    {f"u{i}" for i in range(30)}, 1_800_000_000.0), 1_800_000_100.0, lambda: 7)
    payload = json.loads(json.dumps(stage_incidents.incidents[7].snapshot(), default=str))  # as the outbox stores it
    msg = incident_blocks(payload, "opened", "https://gs.example.com")
    assert blocks_problem(msg) is None
    body = json.dumps(msg, ensure_ascii=False)
    for expected in ("Failed requests and rage clicks on /invoices", "48 vs 4.9", "failed requests in 60 min",
                     "*Sessions*\\n43 sessions (30 signed-in) on `/invoices`",
                     "*Signals*\\n48 failed requests and 85 rage clicks"):
        assert expected in body, expected
    assert "*Customers*" not in body and "*Accounts*" not in body and "tickets" not in body
    grew = incident_blocks(payload, "grew", None)["blocks"][0]["text"]["text"]
    assert "*grew*: now 43 sessions (30 signed-in) on `/invoices`; 48 failed requests and 85 rage clicks in the " \
           "worst hour." in grew
    assert "tickets" not in grew


def test_a_person_closing_an_incident_is_named_in_its_last_message():
    def text(**changes: Any) -> str:
        return json.dumps(incident_blocks(incident_payload(**changes), "resolved", None))

    assert "*resolved* by Dana" in text(status="resolved", status_by="Dana", resolved_at="2026-03-03T01:00:00+00:00")
    assert "*dismissed* by Dana" in text(status="dismissed", status_by="Dana",
                                         status_changed_at="2026-03-03T01:00:00+00:00")
    assert "*resolved* at" in text(status="resolved", status_by="detector", resolved_at="2026-03-03T01:00:00+00:00")
