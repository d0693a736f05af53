"""The understanding stage: every Zendesk payload becomes a ticket record; every new ticket is
cleaned, redacted, embedded and placed in a live topic of its tenant.

Pure: no Flask, no database, no clock. The embedder is passed in (tests pass a small fake one);
everything learned lives in ``state()``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from dataclasses import fields as dataclass_fields
from typing import Any, Callable, Container, Iterable, Sequence

import numpy as np

from server.eventlog.log import LoggedEvent
from server.pipeline.stage import Stage
from server.understand.embed import text_key
from server.understand.intake import parse
from server.understand.keywords import terms as extract_terms
from server.understand.redact import redact
from server.understand.record import TicketUpdate
from server.understand.text import clean, subject_text
from server.understand.topics import TopicModel

Embed = Callable[[Sequence[str]], np.ndarray]

#: Most characters of a ticket's prepared text kept for display (redacted).
EXCERPT_CHARS = 600


@dataclass(frozen=True)
class Placement:
    """A new ticket just placed in a topic: what the detection stage needs to know of it."""

    event: LoggedEvent
    update: TicketUpdate
    topic_id: int
    at: datetime
    text: str  # redacted subject and excerpt
    neighbours: tuple[int, ...] = ()  # topics the ticket was nearly as close to
    vector: Any = field(default=None, compare=False, repr=False)  # its unit embedding (numpy float32)


def prepare(update: TicketUpdate) -> tuple[str, str, dict[str, int]]:
    """Redacted subject and body of a ticket, and what redaction replaced."""
    subject = redact(subject_text(update.subject or ""))
    body = redact(clean(update.description or ""))
    counts = dict(subject.counts)
    for kind, n in body.counts.items():
        counts[kind] = counts.get(kind, 0) + n
    return subject.text, body.text, counts


def without_name(text: str, name: str | None) -> str:
    """``text`` with its organization's ``name`` (whole, in any case) replaced by ``[organization]``.

    What the ticket is about is what places it in a topic and names the topic: a customer's name in its
    text would pull one customer's tickets into a topic of their own, and put the name in the topic's label,
    which agents, Slack and webhooks read. Applied to what is embedded and to the keywords, not to the
    ticket's text as stored.

    >>> without_name("Please downgrade Hollis  Legal from pro; hollis legal's admin agrees", "Hollis Legal")
    "Please downgrade [organization] from pro; [organization]'s admin agrees"
    >>> without_name("Legal hold on Hollis Legalese", "Hollis Legal"), without_name("an ox", "ox")
    ('Legal hold on Hollis Legalese', 'an ox')
    """
    words = (name or "").split()
    if not words or len(" ".join(words)) < 3:  # too short to be told from a word of the text
        return text
    pattern = r"(?<![\w-])" + r"\s+".join(re.escape(w) for w in words) + r"(?![\w-])"
    return re.sub(pattern, "[organization]", text, flags=re.IGNORECASE)


class UnderstandStage(Stage):
    """Parses Zendesk events into tickets and assigns new tickets to topics.

    Parameters
    ----------
    embed
        Maps texts to unit vectors (``Embedder.embed``).
    topic_params
        Keyword arguments for each tenant's ``TopicModel``.
    field_maps
        Per tenant: Zendesk custom field id -> our field name (plan tier and the like).
    remember
        Ticket ids per tenant remembered as already placed, so a ticket delivered twice under
        different keys (a webhook and a backfill page) joins a topic once.
    """

    name = "understand"
    sources = frozenset({"zendesk"})

    def __init__(self, embed: Embed, *, topic_params: dict[str, Any] | None = None,
                 field_maps: Callable[[int], dict[str, str] | None] = lambda _t: None,
                 remember: int = 20_000) -> None:
        self.embed = embed
        self.topic_params = dict(topic_params or {})
        self.field_maps = field_maps
        self.remember = remember
        self.models: dict[int, TopicModel] = {}
        self.placed: dict[int, OrderedDict[str, int]] = {}
        self._tickets: dict[tuple[int, str], dict[str, Any]] = {}
        #: Vectors of the texts embedded since the last outputs, by (tenant, text key): stored, so that a
        #: backtest reads them instead of embedding the texts again.
        self._vectors: dict[tuple[int, str], bytes] = {}
        #: Tickets placed in a topic by the last batches, for the detection stage that follows
        #: (``take_placements``); not part of the state: the next stage drains it within the batch.
        self.placements: list[Placement] = []

    def retain(self, tenant_ids: Container[int]) -> None:
        self.models = {t: m for t, m in self.models.items() if t in tenant_ids}
        self.placed = {t: p for t, p in self.placed.items() if t in tenant_ids}
        self._tickets = {k: v for k, v in self._tickets.items() if k[0] in tenant_ids}
        self._vectors = {k: v for k, v in self._vectors.items() if k[0] in tenant_ids}
        self.placements = [p for p in self.placements if p.event.tenant_id in tenant_ids]

    def take_placements(self) -> list["Placement"]:
        out, self.placements = self.placements, []
        return out

    def model(self, tenant_id: int) -> TopicModel:
        if tenant_id not in self.models:
            self.models[tenant_id] = TopicModel(**self.topic_params)
        return self.models[tenant_id]

    def apply(self, event: LoggedEvent) -> None:
        self.apply_batch([event])

    def apply_batch(self, events: Sequence[LoggedEvent]) -> None:
        parsed: list[tuple[LoggedEvent, TicketUpdate]] = []
        for event in events:
            update = parse(event.kind, event.payload, field_map=self.field_maps(event.tenant_id))
            if update is not None:
                parsed.append((event, update))
        texts: list[str] = []
        todo: list[int] = []
        prepared: dict[int, tuple[str, str, dict[str, int]]] = {}
        for i, (event, update) in enumerate(parsed):
            if update.subject is None and update.description is None:
                continue
            prepared[i] = prepare(update)
            if update.created and update.ticket_id not in self.placed.get(event.tenant_id, {}):
                subject, body, _ = prepared[i]
                text = without_name(f"{subject}\n{body}".strip(), update.organization_name)
                if text:
                    texts.append(text)
                    todo.append(i)
        vectors = self.embed(texts) if texts else np.zeros((0, 0), dtype=np.float32)
        vector_of = dict(zip(todo, vectors))
        text_of = dict(zip(todo, texts))
        for i, (event, update) in enumerate(parsed):
            row = self._row(update)
            if update.created and "created_at" not in row:  # a trigger body without the time: use the event's
                row["created_at"] = event.event_time
            if i in prepared:
                subject, body, counts = prepared[i]
                row.update(subject=subject, excerpt=body[:EXCERPT_CHARS], redactions=counts)
            if i in vector_of and update.ticket_id not in self.placed.get(event.tenant_id, {}):
                at = update.created_at or event.event_time
                text = f"{row['subject']}: {row['excerpt']}" if row.get("excerpt") else row.get("subject", "")
                assignment = self.model(event.tenant_id).learn_one(
                    vector_of[i], ticket_id=update.ticket_id, text=text[:500],
                    terms=extract_terms(without_name(f"{row.get('subject', '')} {row.get('excerpt', '')}",
                                                     update.organization_name)), at=at)
                row.update(topic_id=assignment.topic_id, assigned_topic_id=assignment.topic_id,
                           topic_similarity=round(assignment.similarity, 4))
                self.placements.append(Placement(event, update, assignment.topic_id, at, text[:500],
                                                 assignment.neighbours, vector_of[i]))
                self._vectors[(event.tenant_id, text_key(text_of[i]))] = (
                    np.asarray(vector_of[i], dtype="<f4").tobytes())
                placed = self.placed.setdefault(event.tenant_id, OrderedDict())
                placed[update.ticket_id] = assignment.topic_id
                while len(placed) > self.remember:
                    placed.popitem(last=False)
            key = (event.tenant_id, update.ticket_id)
            self._tickets.setdefault(key, {}).update(row)

    @staticmethod
    def _row(update: TicketUpdate) -> dict[str, Any]:
        fields = {f.name: getattr(update, f.name) for f in dataclass_fields(update)}  # shallow: asdict deep-copies
        fields.pop("created")
        fields.pop("ticket_id")
        fields.pop("description")
        if fields["tags"] is not None:
            fields["tags"] = list(fields["tags"])
        if not fields["custom_fields"]:
            fields.pop("custom_fields")
        return {k: v for k, v in fields.items() if v is not None}

    def outputs(self) -> Iterable[tuple[str, Any, dict[str, Any]]]:
        tickets, self._tickets = self._tickets, {}
        for tenant_id, model in sorted(self.models.items()):
            for topic_id in model.changed():
                yield "topic", (tenant_id, topic_id), model.topics[topic_id].snapshot(model.df)
        names: dict[tuple[int, str], dict[str, Any]] = {}
        for (tenant_id, ticket_id), row in tickets.items():
            if "topic_id" in row:  # a merge later in the batch may have moved the topic
                row["topic_id"] = self.models[tenant_id].resolve(row["topic_id"])
            name = row.pop("organization_name", None)
            if name and row.get("organization_id"):
                names[(tenant_id, row["organization_id"])] = {"name": name}
            yield "ticket", (tenant_id, ticket_id), row
        for key, row in names.items():
            yield "organization", key, row
        vectors, self._vectors = self._vectors, {}
        for key, vector in vectors.items():
            yield "text_vector", key, {"vector": vector}

    def state(self) -> dict[str, Any]:
        return {"models": self.models, "placed": self.placed}

    def load_state(self, state: dict[str, Any]) -> None:
        self.models = state["models"]
        self.placed = state["placed"]
        self._tickets = {}
        self._vectors = {}
        self.placements = []
