"""Claude summaries, tested with the real `anthropic` client against a local fake of the Messages API."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from werkzeug import Response

from server.topics.models import Topic
from server.topics.summaries import Budget, ClaudeSummarizer, refresh_summaries

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def message_response(text: str) -> Response:
    body = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 120, "output_tokens": 30}}
    return Response(json.dumps(body), status=200, content_type="application/json")


def add_topic(db, tenant_id: int, topic_id: int, size: int, texts: list[str], **extra) -> None:
    with db.session() as s:
        s.add(Topic(tenant_id=tenant_id, id=topic_id, label="invoice pdf · blank", keywords=["invoice pdf", "blank"],
                    summary="About invoice pdf.", size=size, first_seen_at=T0, last_seen_at=T0, updated_at=T0,
                    representatives=[{"ticket_id": str(i), "similarity": 0.9, "text": t} for i, t in enumerate(texts)],
                    **extra))
        s.commit()


def test_summaries_use_redacted_text_and_are_cached(httpserver, db, tenant):
    t, _ = tenant
    seen: list[dict] = []

    def handler(request):  # type: ignore[no-untyped-def]
        key = request.headers.get("x-api-key") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        seen.append({"body": request.get_json(), "key": key})
        return message_response("Customers get blank invoice PDFs <b>since the release</b>.")

    httpserver.expect_request("/v1/messages", method="POST").respond_with_handler(handler)
    add_topic(db, t.id, 1, 5, ["Invoice PDF is blank, contact [email]", "Download shows an empty PDF"])
    add_topic(db, t.id, 2, 2, ["too small to summarise"])
    summarizer = ClaudeSummarizer("sk-ant-test", base_url=httpserver.url_for("/").rstrip("/"), timeout=5)
    assert refresh_summaries(db, summarizer) == 1
    assert len(seen) == 1 and seen[0]["key"] == "sk-ant-test"
    prompt = seen[0]["body"]["messages"][0]["content"]
    assert "[email]" in prompt and "@" not in prompt
    with db.session() as s:
        topic = s.get(Topic, (t.id, 1))
        assert topic.llm_summary == "Customers get blank invoice PDFs <b>since the release</b>."  # stored as text
        assert topic.llm_summary_size == 5
        topic.size = 9  # grows, but not yet twice as large
        s.commit()
    assert refresh_summaries(db, summarizer) == 0 and len(seen) == 1
    with db.session() as s:
        s.get(Topic, (t.id, 1)).size = 10
        s.commit()
    assert refresh_summaries(db, summarizer) == 1 and len(seen) == 2


def test_api_errors_and_budget_keep_the_extractive_summary(httpserver, db, tenant):
    t, _ = tenant
    httpserver.expect_request("/v1/messages", method="POST").respond_with_json(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, status=529)
    add_topic(db, t.id, 1, 5, ["Invoice PDF is blank"])
    summarizer = ClaudeSummarizer("sk-ant-test", base_url=httpserver.url_for("/").rstrip("/"), timeout=5)
    assert refresh_summaries(db, summarizer) == 0
    with db.session() as s:
        assert s.get(Topic, (t.id, 1)).llm_summary is None


def test_budget_is_a_sliding_hour():
    now = [0.0]
    budget = Budget(2, clock=lambda: now[0])
    assert [budget.take(), budget.take(), budget.take()] == [True, True, False]
    now[0] = 3600.0
    assert budget.take()
