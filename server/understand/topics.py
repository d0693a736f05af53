"""Live topics: online clustering of ticket embeddings with stable topic ids.

The algorithm (chosen by ``bench/clustering.py``; see bench/RESULTS.md):

- **Assign** a ticket to the topic with the highest *average* similarity to its members,
  ``x · S / n`` (``S`` the sum of the members' unit vectors, ``n`` their count), if that is at
  least ``assign_threshold``; otherwise the ticket starts a new topic. Average similarity, unlike
  similarity to a normalised centroid, does not let a large diffuse topic swallow its neighbours.
- **Merge** two topics whose average-linkage similarity ``S_a · S_b / (n_a n_b)`` reaches
  ``merge_threshold``. Only pairs involving a topic that changed since the last pass are checked
  (pairs of unchanged topics were already below the threshold), every ``merge_every`` tickets.
  The larger topic keeps its id; the other records ``merged_into`` so old references resolve.
- **Label** each topic with a ``StickyLabel`` (server/understand/keywords.py): its first terms at
  once, then a new label only when a clearly better ranking of its terms has held for
  ``label_hold`` of its tickets (``label_margin`` times the label's score, or ``NEAR_TIE`` times once
  the topic has grown ``label_growth``-fold). A reordering of the same terms never changes it. The label
  is looked at again whenever the topic changes (a ticket joins, a merge), never when it is read, so
  a replay gives the same labels at the same tickets. A merge keeps the larger topic's label; the
  size it gains counts towards the growth. A new label that another live topic already shows gets
  one more term, this topic's most distinctive one that the other lacks ("month · downgrade ·
  starter · annual"), so that two topics read apart by words, not by ids. ``bench/labels.py``
  measures how often labels change and how many labels two topics share.

Topic ids are a per-model counter, so replaying the same tickets gives the same ids. State is
plain data and numpy arrays, so the model pickles for checkpoints. No clock is read: times come
with the tickets.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from server.understand.keywords import DocumentFrequency, StickyLabel, TermCounts, label

#: A ticket's neighbour topics: at most this many, at most this far below the assignment threshold.
MAX_NEIGHBOURS = 3
NEIGHBOUR_MARGIN = 0.1


@dataclass
class Topic:
    id: int
    first_seen_at: datetime
    last_seen_at: datetime
    size: int = 0
    terms: TermCounts = field(default_factory=TermCounts)
    #: (similarity when it joined, ticket id, redacted text): the most central members seen.
    representatives: list[tuple[float, str, str]] = field(default_factory=list)
    merged_into: int | None = None
    #: The label people see; None in topics from checkpoints written before labels were kept
    #: (``TopicModel`` gives them one when it loads).
    sticky: StickyLabel | None = None

    def snapshot(self, df: DocumentFrequency) -> dict[str, Any]:
        """What the read side shows of the topic. ``label`` is the sticky label, ``keywords`` its
        terms first, then the topic's other most distinctive terms now."""
        shown = list(self.sticky.shown) if self.sticky is not None else []
        fresh = label(self.terms, df, n=5)
        if not shown:
            shown = fresh[:3]
        used = {w for t in shown for w in t.split(" ")}
        keywords = shown + [t for t in fresh if t not in shown and not used & set(t.split(" "))][: max(0, 5 - len(shown))]
        reps = sorted(self.representatives, reverse=True)
        return {
            "size": self.size,
            "first_seen_at": self.first_seen_at,
            "last_seen_at": self.last_seen_at,
            "keywords": keywords,
            "label": " · ".join(shown) or f"topic {self.id}",
            "summary": extractive_summary(keywords, reps),
            "representatives": [{"ticket_id": tid, "similarity": round(sim, 4), "text": text}
                                for sim, tid, text in reps],
            "merged_into": self.merged_into,
        }


def extractive_summary(keywords: list[str], representatives: list[tuple[float, str, str]]) -> str:
    """Keywords plus the most central ticket's text.

    Examples
    --------
    >>> extractive_summary(["invoice pdf", "blank"], [(0.9, "12", "Invoice PDF is blank. Every page is empty.")])
    'About invoice pdf, blank. Typical ticket: "Invoice PDF is blank. Every page is empty."'
    """
    head = f"About {', '.join(keywords[:3])}." if keywords else ""
    if not representatives:
        return head
    text = representatives[0][2]
    if len(text) > 240:
        text = text[:240].rsplit(" ", 1)[0] + "…"
    return f'{head} Typical ticket: "{text}"'.strip()


@dataclass(frozen=True)
class Assignment:
    topic_id: int
    similarity: float
    created: bool
    #: Other topics the ticket was nearly as close to (most similar first): an intent the model
    #: split over several topics shows up as tickets that name each other's topics here.
    neighbours: tuple[int, ...] = ()


class TopicModel:
    """Online topic clustering for one tenant.

    Parameters
    ----------
    assign_threshold
        Least average similarity to a topic's members for a ticket to join it.
    merge_threshold
        Least average-linkage similarity at which two topics merge.
    merge_every
        Tickets between merge passes.
    max_representatives
        Most central tickets kept per topic.
    max_active
        Most topics kept in memory; beyond it the stalest small topics are retired (they keep
        their rows and ids, but new tickets no longer join them).
    dim
        Embedding dimensions.
    label_margin
        How many times better than a topic's label a challenger must score to replace it.
    label_growth
        Growth of a topic since its label was chosen after which a challenger needs only to be
        better (by more than ``keywords.NEAR_TIE``).
    label_hold
        Tickets (or merges) of the topic in a row on which a challenger must win before it becomes
        the label.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> m = TopicModel(assign_threshold=0.8, dim=3)
    >>> a, b, c = np.eye(3, dtype=np.float32)
    >>> [m.learn_one(v, ticket_id=str(i), text="", terms=[], at=t).topic_id for i, v in enumerate([a, a, b, c, b])]
    [1, 1, 2, 3, 2]
    >>> m.topics[1].size, m.predict_one(c)
    (2, (3, 1.0))
    """

    def __init__(self, assign_threshold: float = 0.55, merge_threshold: float = 0.55, merge_every: int = 50,
                 max_representatives: int = 5, max_active: int = 5000, dim: int = 384,
                 label_margin: float = 1.5, label_growth: float = 2.0, label_hold: int = 5) -> None:
        self.assign_threshold = assign_threshold
        self.merge_threshold = merge_threshold
        self.merge_every = merge_every
        self.max_representatives = max_representatives
        self.max_active = max_active
        self.dim = dim
        self.label_margin = label_margin
        self.label_growth = label_growth
        self.label_hold = label_hold
        self.topics: dict[int, Topic] = {}
        self.df = DocumentFrequency()
        self.next_id = 1
        self._sums = np.zeros((16, dim), dtype=np.float32)
        self._counts = np.zeros(16, dtype=np.float32)
        self._row_topic: list[int] = []  # row -> topic id (-1 when free)
        self._row_of: dict[int, int] = {}  # active topic id -> row
        self._since_merge = 0
        self._touched: set[int] = set()  # topics changed since the last merge pass
        self._changed: set[int] = set()  # topics changed since the last ``changed()``

    # -- queries -------------------------------------------------------------------------------
    def _active_rows(self) -> np.ndarray:
        return np.fromiter(self._row_of.values(), dtype=np.int64, count=len(self._row_of))

    def predict_one(self, vector: np.ndarray) -> tuple[int | None, float]:
        """The best topic for ``vector`` and its average similarity, without learning."""
        ranked = self._ranked(vector, 1)
        return ranked[0] if ranked else (None, 0.0)

    def _ranked(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` topics most similar to ``vector`` (average similarity), best first."""
        if not self._row_of:
            return []
        rows = self._active_rows()
        sims = (self._sums[rows] @ vector) / self._counts[rows]
        if len(sims) > k:
            top = np.argpartition(-sims, k - 1)[:k]
            top = top[np.argsort(-sims[top], kind="stable")]
        else:
            top = np.argsort(-sims, kind="stable")
        return [(self._row_topic[int(rows[i])], float(sims[i])) for i in top]

    def resolve(self, topic_id: int) -> int:
        """Follow ``merged_into`` links to the topic that holds ``topic_id``'s tickets now."""
        seen = 0
        while (t := self.topics.get(topic_id)) is not None and t.merged_into is not None and seen < 10_000:
            topic_id, seen = t.merged_into, seen + 1
        return topic_id

    def changed(self) -> list[int]:
        """Topic ids whose snapshot changed since the last call (merged-away topics included)."""
        out, self._changed = sorted(self._changed), set()
        return out

    # -- learning ------------------------------------------------------------------------------
    def learn_one(self, vector: np.ndarray, *, ticket_id: str, text: str, terms: list[str],
                  at: datetime) -> Assignment:
        """Place one ticket (a unit vector) in a topic, creating one when nothing fits."""
        ranked = self._ranked(vector, 1 + MAX_NEIGHBOURS)
        topic_id, sim = ranked[0] if ranked else (None, 0.0)
        created = topic_id is None or sim < self.assign_threshold
        near = ranked if created else ranked[1:]
        neighbours = tuple(t for t, s in near if s >= self.assign_threshold - NEIGHBOUR_MARGIN)
        if created:
            topic_id, sim = self._new_topic(at), 1.0
        row = self._row_of[topic_id]
        self._sums[row] += vector
        self._counts[row] += 1
        topic = self.topics[topic_id]
        topic.size += 1
        topic.last_seen_at = max(topic.last_seen_at, at)
        topic.terms.add(terms)
        self.df.add(terms)
        self._relabel(topic)
        self._add_representative(topic, sim, ticket_id, text)
        self._touched.add(topic_id)
        self._changed.add(topic_id)
        self._since_merge += 1
        if self._since_merge >= self.merge_every:
            self.merge_pass()
        resolved = self.resolve(topic_id)
        return Assignment(resolved, sim, created,
                          tuple(dict.fromkeys(n for n in map(self.resolve, neighbours) if n != resolved)))

    def _relabel(self, topic: Topic) -> bool:
        """Look at the topic's label again after it changed; True when the label changed."""
        if topic.sticky is None:
            topic.sticky = StickyLabel()
        changed = topic.sticky.update(topic.terms, self.df, topic.size, margin=self.label_margin,
                                      growth=self.label_growth, hold=self.label_hold)
        if changed or topic.sticky.clashes:  # a label another live topic shows gets a term of its own
            topic.sticky.distinguish(topic.terms, self.df, (
                other.sticky.shown for other in self.topics.values()
                if other is not topic and other.merged_into is None and other.sticky is not None))
        return changed

    def _add_representative(self, topic: Topic, sim: float, ticket_id: str, text: str) -> None:
        if not text:
            return
        reps = topic.representatives
        reps.append((sim, ticket_id, text[:500]))
        if len(reps) > self.max_representatives:
            reps.sort(reverse=True)
            del reps[self.max_representatives:]

    def _new_topic(self, at: datetime) -> int:
        topic_id = self.next_id
        self.next_id += 1
        self.topics[topic_id] = Topic(topic_id, at, at)
        if len(self._row_of) >= self.max_active:
            self._retire()
        try:
            row = self._row_topic.index(-1)
        except ValueError:
            row = len(self._row_topic)
            self._row_topic.append(-1)
            if row >= len(self._counts):
                grow = max(16, len(self._counts))
                self._sums = np.vstack([self._sums, np.zeros((grow, self.dim), dtype=np.float32)])
                self._counts = np.concatenate([self._counts, np.zeros(grow, dtype=np.float32)])
        self._row_topic[row] = topic_id
        self._row_of[topic_id] = row
        self._sums[row] = 0.0
        self._counts[row] = 0.0
        return topic_id

    def _free(self, topic_id: int) -> None:
        row = self._row_of.pop(topic_id)
        self._row_topic[row] = -1
        self._sums[row] = 0.0
        self._counts[row] = 0.0
        self._touched.discard(topic_id)

    def _retire(self) -> None:
        """Drop the stalest of the smallest topics from memory (a tenth of the cap at once)."""
        victims = sorted(self._row_of, key=lambda t: (self.topics[t].size, self.topics[t].last_seen_at, t))
        for topic_id in victims[: max(1, self.max_active // 10)]:
            self._free(topic_id)

    def merge_pass(self) -> list[tuple[int, int]]:
        """Merge converged topics; returns (absorbed, into) pairs in the order they happened."""
        self._since_merge = 0
        merges: list[tuple[int, int]] = []
        touched = sorted(t for t in self._touched if t in self._row_of)
        self._touched = set()
        while touched and len(self._row_of) > 1:
            rows = self._active_rows()
            trows = np.array([self._row_of[t] for t in touched], dtype=np.int64)
            link = (self._sums[trows] @ self._sums[rows].T) / np.outer(self._counts[trows], self._counts[rows])
            link[trows[:, None] == rows[None, :]] = -np.inf
            i, j = np.unravel_index(int(np.argmax(link)), link.shape)
            if link[i, j] < self.merge_threshold:
                break
            a, b = touched[int(i)], self._row_topic[int(rows[int(j)])]
            into, absorbed = (a, b) if (self.topics[a].size, -a) >= (self.topics[b].size, -b) else (b, a)
            self._absorb(into, absorbed)
            merges.append((absorbed, into))
            touched = sorted((set(touched) - {absorbed}) | {into})
        return merges

    def _absorb(self, into: int, absorbed: int) -> None:
        ri, ra = self._row_of[into], self._row_of[absorbed]
        self._sums[ri] += self._sums[ra]
        self._counts[ri] += self._counts[ra]
        t_into, t_abs = self.topics[into], self.topics[absorbed]
        t_into.size += t_abs.size
        t_into.first_seen_at = min(t_into.first_seen_at, t_abs.first_seen_at)
        t_into.last_seen_at = max(t_into.last_seen_at, t_abs.last_seen_at)
        t_into.terms.merge(t_abs.terms)
        t_into.representatives = sorted(t_into.representatives + t_abs.representatives,
                                        reverse=True)[: self.max_representatives]
        t_abs.merged_into = into
        t_abs.representatives = []
        self._relabel(t_into)
        self._free(absorbed)
        self._changed.update((into, absorbed))

    # -- checkpoints ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        rows = sorted(self._row_of.values())
        state["_sums"] = self._sums[rows].copy()
        state["_counts"] = self._counts[rows].copy()
        state["_row_topic"] = [self._row_topic[r] for r in rows]
        state["_row_of"] = {t: i for i, t in enumerate(state["_row_topic"])}
        # Merged-away topics keep only what resolving ids needs.
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Checkpoints written before labels were kept have no label parameters and no labels: such
        # a topic keeps the label it showed when the checkpoint was read, and sticks to it from then on.
        defaults = inspect.signature(TopicModel.__init__).parameters
        for name in ("label_margin", "label_growth", "label_hold"):
            state.setdefault(name, defaults[name].default)
        self.__dict__.update(state)
        for topic in self.topics.values():
            if topic.__dict__.get("sticky") is None:
                topic.sticky = StickyLabel(tuple(label(topic.terms, self.df, n=3)), topic.size)
