"""Distinctive keywords of a topic, kept up to date incrementally (class-based TF-IDF).

Each topic keeps decayed counts of the terms (words and two-word phrases) of its recent members;
the tenant keeps document frequencies over all tickets. A term's score in a topic is its decayed
count times ``log(1 + documents / document frequency)``: frequent in the topic, rare elsewhere.

The ranking moves with every ticket, so the label people see is not the ranking itself: a
``StickyLabel`` keeps a topic's label until a materially better one has held (see its docstring).
Incident titles, Slack threads, webhooks and searches all carry the label, and a name that changes
while people talk about it is worse than a slightly stale one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_WORD = re.compile(r"[a-zà-ÿ][a-zà-ÿ0-9'+-]*[a-zà-ÿ0-9]|[a-z]{2,}")
#: Redaction placeholders are not words of the ticket.
_PLACEHOLDER = re.compile(r"\[(?:email|phone|card|iban|ip|secret|address|url-secret|organization)\]")
#: Words that say nothing about a support issue.
EXTRA_STOP = frozenset({
    "hi", "hello", "thanks", "thank",
    "please", "help", "hey", "regards", "dear", "team", "support", "ticket", "issue", "problem", "just", "need",
    "want", "like", "know", "get", "got", "getting", "can't", "cannot", "don't", "doesn't", "won't", "it's", "i'm",
    "i've", "there's", "way", "today", "yesterday", "morning", "able", "trying", "tried", "still", "also", "really",
})
STOP = frozenset(ENGLISH_STOP_WORDS) | EXTRA_STOP
SHORT_OK = frozenset({"ui", "ux", "os", "pc", "tv", "id", "qr", "vpn", "2fa"})
#: What follows the apostrophe of a contraction or a possessive: "we'd", "what's", "you'll", "customer's".
_CLITICS = frozenset({"s", "d", "ll", "re", "ve", "m"})


def _word(w: str) -> str | None:
    """A word as a term: a contraction is its first word ("what's" is "what", then a stop word), a possessive
    its noun ("customer's": "customer"), a negation ("isn't", "won't") no term; None when nothing is left."""
    if "'" in w:
        if w.endswith("n't"):
            return None
        stem, _, rest = w.partition("'")
        if rest in _CLITICS:
            w = stem
    if w in STOP or w.strip("'-+").isdigit() or (len(w) < 3 and w not in SHORT_OK):
        return None
    return w
#: A two-word phrase names an issue better than either of its words alone.
PHRASE_BOOST = 1.3


def terms(text: str, max_terms: int = 64) -> list[str]:
    """Words and two-word phrases of ``text``, lower-cased, stop words removed.

    Examples
    --------
    >>> terms("The invoice PDF is blank when I download it")
    ['invoice', 'pdf', 'blank', 'download', 'invoice pdf']
    >>> terms("Card declined, see [email]")
    ['card', 'declined', 'card declined']
    >>> terms("What's new: we'd like the customer’s view-only rights, it isn't there")
    ['new', 'customer', 'view-only', 'rights', 'customer view-only', 'view-only rights']
    """
    words = _WORD.findall(_PLACEHOLDER.sub(" ", text).lower().replace("\u2019", "'"))
    out: list[str] = []
    seen: set[str] = set()
    prev: str | None = None
    bigrams: list[str] = []
    for raw in words:
        w = _word(raw)
        if w is None:
            prev = None
            continue
        if w not in seen:
            seen.add(w)
            out.append(w)
        if prev is not None:
            bigrams.append(f"{prev} {w}")
        prev = w
    for b in bigrams:
        if b not in seen:
            seen.add(b)
            out.append(b)
    return out[:max_terms]


class TermCounts:
    """Decayed term counts of one topic, bounded to ``max_terms`` entries.

    Examples
    --------
    >>> tc = TermCounts(decay=0.5)
    >>> tc.add(["invoice", "pdf"]); tc.add(["invoice", "blank"])
    >>> sorted(tc.items())
    [('blank', 1.0), ('invoice', 1.5), ('pdf', 0.5)]
    """

    def __init__(self, decay: float = 0.98, max_terms: int = 300) -> None:
        self.decay = decay
        self.max_terms = max_terms
        self.scale = 1.0  # counts are stored divided by scale, so decaying is O(1)
        self.counts: dict[str, float] = {}

    def add(self, items: Iterable[str]) -> None:
        self.scale *= self.decay
        if self.scale < 1e-6:  # renormalise before floats underflow
            self.counts = {k: v * self.scale for k, v in self.counts.items()}
            self.scale = 1.0
        for t in items:
            self.counts[t] = self.counts.get(t, 0.0) + 1.0 / self.scale
        if len(self.counts) > 2 * self.max_terms:
            keep = sorted(self.counts.items(), key=lambda kv: kv[1], reverse=True)[: self.max_terms]
            self.counts = dict(keep)

    def merge(self, other: "TermCounts") -> None:
        for t, v in other.counts.items():
            self.counts[t] = self.counts.get(t, 0.0) + v * other.scale / self.scale

    def get(self, term: str) -> float:
        return self.counts.get(term, 0.0) * self.scale

    def items(self) -> Iterable[tuple[str, float]]:
        return ((t, v * self.scale) for t, v in self.counts.items())

    def __getstate__(self) -> dict:
        return {"decay": self.decay, "max_terms": self.max_terms,
                "counts": {k: v * self.scale for k, v in self.counts.items() if v * self.scale > 1e-3}}

    def __setstate__(self, state: dict) -> None:
        self.decay, self.max_terms, self.counts, self.scale = state["decay"], state["max_terms"], state["counts"], 1.0


class DocumentFrequency:
    """How many tickets contain each term, bounded by pruning the rarest terms."""

    def __init__(self, max_terms: int = 50_000) -> None:
        self.max_terms = max_terms
        self.documents = 0
        self.df: Counter[str] = Counter()

    def add(self, items: Iterable[str]) -> None:
        self.documents += 1
        self.df.update(set(items))
        if len(self.df) > 2 * self.max_terms:
            self.df = Counter(dict(self.df.most_common(self.max_terms)))

    def idf(self, term: str) -> float:
        return math.log(1.0 + self.documents / (1.0 + self.df.get(term, 0)))


def score(counts: TermCounts, df: DocumentFrequency, term: str) -> float:
    """How distinctive ``term`` is of the topic whose ``counts`` these are (0 when it has none)."""
    return counts.get(term) * df.idf(term) * (PHRASE_BOOST if " " in term else 1.0)


def label(counts: TermCounts, df: DocumentFrequency, n: int = 3) -> list[str]:
    """The ``n`` most distinctive terms now; a term sharing a word with a chosen one is skipped.

    This is the live ranking: it can change with every ticket. What people see is a topic's
    ``StickyLabel``, which follows this ranking only when it is clearly better.

    Examples
    --------
    >>> df = DocumentFrequency(); tc = TermCounts()
    >>> for text in ["invoice pdf blank", "invoice pdf corrupt", "password reset"] * 3:
    ...     df.add(terms(text))
    >>> for text in ["invoice pdf blank", "invoice pdf corrupt"]:
    ...     tc.add(terms(text))
    >>> label(tc, df)
    ['invoice pdf', 'corrupt', 'blank']
    """
    idf = df.idf
    scored = sorted(((v * idf(t) * (PHRASE_BOOST if " " in t else 1.0), t) for t, v in counts.items()), reverse=True)
    chosen: list[str] = []
    used: set[str] = set()
    for _, t in scored:
        words = set(t.split(" "))
        if words & used:
            continue
        used |= words
        chosen.append(t)
        if len(chosen) == n:
            break
    return chosen


def label_score(counts: TermCounts, df: DocumentFrequency, chosen: Sequence[str]) -> float:
    """How well ``chosen`` terms describe the topic now: the sum of their scores."""
    return sum(score(counts, df, t) for t in chosen)


#: Once a topic has grown by the growth factor since its label was chosen, a challenger needs only
#: to score this much more than the label: closer than this, two labels are the same within the
#: noise of decayed counts.
NEAR_TIE = 1.1


@dataclass
class StickyLabel:
    """A topic's label: it changes only when a materially better one has held for a while.

    After each change to the topic, ``update`` ranks its terms afresh (``label``). The label
    changes to that challenger only when, on ``hold`` updates in a row, a challenger has
    scored (``label_score``, with the counts and document frequencies of that moment) more than
    ``margin`` times the label's own terms, or more than ``NEAR_TIE`` times once the topic has
    grown ``growth``-fold since the label was chosen. The same terms in another order are the same
    label: they never change it, and they end a challenge. A topic's first terms label it at once.

    State is three plain fields, so it pickles with the topic; the rule reads no clock and no
    randomness, so a replay gives the same labels at the same tickets.

    Attributes
    ----------
    terms
        The label's terms, in the order they were chosen (shown joined by " · ").
    size
        The topic's size when they were chosen.
    challenged
        Updates in a row on which a challenger has clearly beaten them.

    Examples
    --------
    >>> df = DocumentFrequency(); tc = TermCounts(); sticky = StickyLabel()
    >>> for _ in range(20):
    ...     df.add(terms("password reset email never arrives"))  # the tenant's other tickets
    >>> def ticket(text, size):
    ...     df.add(terms(text)); tc.add(terms(text))
    ...     return sticky.update(tc, df, size, margin=1.5, growth=2.0, hold=3)
    >>> ticket("saml assertion invalid at login", 1), sticky.terms
    (True, ('saml assertion', 'login', 'invalid'))
    >>> any(ticket("login fails: invalid saml assertion", n) for n in range(2, 8)), label(tc, df)
    (False, ['saml assertion', 'login fails', 'invalid'])
    >>> [ticket("okta redirects forever, loop", n) for n in range(8, 16)]
    [False, False, False, False, False, False, True, False]
    >>> " · ".join(sticky.terms)
    'redirects forever · saml assertion · login fails'
    """

    terms: tuple[str, ...] = ()
    size: int = 0
    challenged: int = 0
    #: A term added to tell the label apart from another live topic's with the same terms (``distinguish``);
    #: dropped when the label changes. (Checkpoints from before it read the class default.)
    extra: tuple[str, ...] = ()
    #: True while the label is shared with another live topic and no term of this one told them apart yet:
    #: ``distinguish`` is tried again after each of its tickets until one does.
    clashes: bool = False

    @property
    def shown(self) -> tuple[str, ...]:
        """The terms people read: the label's, then the distinguishing one, if any."""
        return self.terms + self.extra

    def distinguish(self, counts: TermCounts, df: DocumentFrequency, others: Iterable[Sequence[str]]) -> bool:
        """When another live topic shows the same terms (``others``: the shown terms of the tenant's other live
        topics), add this topic's most distinctive term that the label lacks and that the others do not show,
        so that two topics read apart by words rather than by ids; True when a term was added.

        Called when the label changes (and, while ``clashes``, after each ticket: a young topic may not have a
        term of its own yet): the topic whose label came second takes the extra term, the one people already
        knew keeps its label. The term stays until the label changes again.

        Examples
        --------
        >>> df = DocumentFrequency(); tc = TermCounts()
        >>> for text in ["downgrade starter annual plan", "downgrade starter month", "password reset"] * 3:
        ...     df.add(terms(text))
        >>> tc.add(terms("downgrade starter annual plan")); tc.add(terms("downgrade starter annual"))
        >>> sticky = StickyLabel(("downgrade starter",), 2)
        >>> sticky.distinguish(tc, df, [("downgrade starter",)]), sticky.shown
        (True, ('downgrade starter', 'annual'))
        >>> StickyLabel(("downgrade starter",), 2).distinguish(tc, df, [("password reset",)])
        False
        >>> third = StickyLabel(("downgrade starter",), 2)  # another topic already shows '... · annual'
        >>> third.distinguish(tc, df, [("downgrade starter",), ("downgrade starter", "annual")]), third.shown
        (True, ('downgrade starter', 'annual plan'))
        """
        mine = set(self.terms)
        shown = [set(o) for o in others]
        clash = [o for o in shown if o == mine]
        self.clashes = False
        if not self.terms or not clash:
            return False
        used = {w for t in self.terms for w in t.split(" ")}
        theirs = set().union(*clash)
        for _, term in sorted(((score(counts, df, t), t) for t, _ in counts.items()), reverse=True):
            if term not in theirs and not used & set(term.split(" ")) and (mine | {term}) not in shown:
                self.extra = (term,)  # never what a third topic already shows
                return True
        self.clashes = True
        return False

    def update(self, counts: TermCounts, df: DocumentFrequency, size: int, *, margin: float = 1.5,
               growth: float = 2.0, hold: int = 5, n: int = 3) -> bool:
        """Look again after the topic changed (it now has ``size`` tickets); True when the label changed."""
        best = label(counts, df, n)
        if not self.terms:
            if best:
                self.terms, self.size, self.challenged, self.extra, self.clashes = tuple(best), size, 0, (), False
                return True
            return False
        if set(best) == set(self.terms):
            self.challenged = 0
            return False
        need = NEAR_TIE if size >= growth * self.size else margin
        if label_score(counts, df, best) > need * label_score(counts, df, self.terms):
            self.challenged += 1
        else:
            self.challenged = 0
        if self.challenged < hold:
            return False
        self.terms, self.size, self.challenged, self.extra, self.clashes = tuple(best), size, 0, (), False
        return True
