"""Topic summaries written by Claude (``anthropic``) when an API key is configured.

Without a key, topics keep their extractive summary (keywords plus the most central ticket), which
the detector writes on every update. With a key, a background worker in the detector process asks
Claude for a two-sentence summary of topics that are new or have doubled in size since their last
summary. Only redacted text leaves the machine (the representatives are redacted before they are
stored); calls have a timeout, results are cached on the topic row, and an hourly call budget bounds
the cost. The model's answer is stored and served as untrusted plain text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.db import Database
from server.topics.models import Topic
from server.workers import start_periodic

log = logging.getLogger(__name__)

PROMPT = (
    "These are support tickets that an automatic system grouped into one topic (personal data is "
    "already replaced by placeholders like [email]). Keywords: {keywords}.\n\n{tickets}\n\n"
    "In at most two short sentences, say what problem these customers have, for a support agent. "
    "Plain text only, no preamble."
)
MAX_INPUT_CHARS = 4000


def ticket_lines(texts: list[str]) -> str:
    """Numbered ticket texts for a prompt, each cut at 800 characters, at most MAX_INPUT_CHARS in all."""
    lines, used = [], 0
    for i, text in enumerate(texts, 1):
        line = f"Ticket {i}: {text.strip()[:800]}"
        if used + len(line) > MAX_INPUT_CHARS:
            break
        lines.append(line)
        used += len(line)
    return "\n".join(lines)


class Budget:
    """At most ``per_hour`` calls in any sliding hour (``clock`` injectable for tests)."""

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self.clock = clock
        self.calls: deque[float] = deque()

    def take(self) -> bool:
        now = self.clock()
        while self.calls and now - self.calls[0] >= 3600:
            self.calls.popleft()
        if len(self.calls) >= self.per_hour:
            return False
        self.calls.append(now)
        return True


class ClaudeSummarizer:
    def __init__(self, api_key: str, *, model: str = "claude-haiku-4-5", base_url: str | None = None,
                 timeout: float = 15.0, max_tokens: int = 160, calls_per_hour: int = 60) -> None:
        import anthropic

        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=1)
        self.model = model
        self.max_tokens = max_tokens
        self.budget = Budget(calls_per_hour)

    def prompt(self, keywords: list[str], texts: list[str]) -> str:
        return PROMPT.format(keywords=", ".join(keywords) or "none", tickets=ticket_lines(texts))

    def summarize(self, keywords: list[str], texts: list[str]) -> str | None:
        """A summary, or None when over budget or the call failed (the extractive one stays)."""
        if not texts:
            return None
        return self.complete(self.prompt(keywords, texts))

    def complete(self, prompt: str) -> str | None:
        """Claude's answer to ``prompt`` as one line of plain text (at most 600 characters), or None when
        over the hourly budget (shared by every caller of this summarizer) or the call failed."""
        if not self.budget.take():
            return None
        import anthropic

        try:
            message = self.client.messages.create(
                model=self.model, max_tokens=self.max_tokens, messages=[{"role": "user", "content": prompt}])
        except anthropic.APIError as e:
            log.warning("summary call failed: %s", type(e).__name__)
            return None
        text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
        return " ".join(text.split())[:600] or None


def stale_topics(session: Session, limit: int = 20, min_size: int = 3) -> list[Topic]:
    """Live topics with no model summary yet, or at least twice as large as when last summarised."""
    q = (select(Topic).where(Topic.merged_into.is_(None), Topic.size >= min_size,
                             or_(Topic.llm_summary_size.is_(None), Topic.size >= 2 * Topic.llm_summary_size))
         .order_by(Topic.size.desc()).limit(limit))
    return list(session.scalars(q))


def refresh_summaries(db: Database, summarizer: Any, limit: int = 20) -> int:
    """Summarise stale topics; returns how many were updated."""
    done = 0
    with db.session() as session:
        for topic in stale_topics(session, limit):
            texts = [r["text"] for r in topic.representatives or [] if r.get("text")]
            summary = summarizer.summarize(list(topic.keywords or []), texts)
            if summary is None:
                continue
            topic.llm_summary, topic.llm_summary_size = summary, topic.size
            topic.updated_at = datetime.now(timezone.utc)
            session.commit()
            done += 1
    return done


def start_worker(db: Database, summarizer: Any, *, interval: float = 30.0,
                 stop: threading.Event | None = None) -> threading.Thread:
    """Refresh summaries every ``interval`` seconds in a daemon thread, apart from the detector loop."""
    return start_periodic("topic-summaries", lambda: refresh_summaries(db, summarizer), interval=interval, stop=stop)
