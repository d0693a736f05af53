"""Synthetic weeks of one tenant's Zendesk traffic, built from real text, with injected incidents.

Used by ``bench/incidents.py``; pure and seeded (same seed and texts, same stream), no I/O.

The tenant
----------
- **Topics**: ``n_topics`` intents of the dataset, drawn per seed. All but ``n_quiet`` get Zipf base
  rates (exponent ``zipf``, largest first, order shuffled over intents) that add up to the day's
  volume, drawn uniformly in ``daily_volume``; the ``n_quiet`` quiet topics get 0.7-1.3 tickets a day.
- **Time profile**: a business-hours bump (peak 14:00 UTC, night floor about 15% of the peak) and a
  weekly profile (weekend about 40% of a weekday), both normalised to a mean of 1.
- **Noise**: every topic's hourly rate is multiplied by a gamma day factor (shape 20, CV 22%) and a
  gamma hour factor (shape 8, CV 35%), so hourly counts are negative binomial, not Poisson.
- **Customers**: ``n_orgs`` organisations of Zipf sizes, each with a plan tier (free, starter, pro,
  enterprise) carried as a custom field, and 1-20 requesters; requesters write with Zipf activity.
  Channels: web 45%, email 30%, chat 15%, api 10%.
- **Repeat writers**: 8% of tickets get one or two follow-ups by the same requester about the same
  intent (another utterance of it) 20 min to 4 h later. A follow-up inherits its parent's label.
- **Text**: a subject (the utterance's first words) and a description (the utterance, sometimes with a
  greeting and sign-off). With ``texts="drift"`` (the default) each intent's utterances of both
  dataset splits are shuffled into the order they come into use, and a ticket draws from a window of
  half of them that slides from the first to the last at a constant pace over the whole stream: words
  not seen before arrive at the same rate in every week, warm-up and evaluated alike, and an
  utterance comes back as often as in ``pooled``. With ``texts="pooled"`` the shuffled utterances are
  halved, warm-up weeks drawing from one half and evaluated weeks from the other, so that no evaluated
  text is seen in the history; but then every evaluated utterance is new at the first evaluated hour
  (a quarter to a third of the first evaluated week's tickets bring words never seen before, against
  2-5% in the last warm-up week), a step no tenant's traffic takes. With ``texts="split"`` warm-up weeks take the dataset's ``train`` split and evaluated
  weeks its ``test`` split; on Banking77 the two splits are worded differently enough that the topic
  model places an intent's tickets in other proportions from the first evaluated hour on: every topic's
  share steps at once, which no tenant's traffic does overnight and which the scoring counts against
  any detector that learns shares.

Incidents
---------
Only in the evaluated weeks (the warm-up has none), each shape ``per_week`` times a week, at random
times at least 6 h apart from each other (span to span):

- ``burst``: 10-20 tickets from distinct customers within 30-60 min, one of the tenant's intents;
- ``ramp``: a topic of at least 20 tickets a day rises linearly to 3-4x its rate over 4-6 h, starting
  on a weekday between 06:00 and 14:00 UTC (the extra tickets are the incident's; a ramp at night in a
  small topic would add two or three tickets, no incident);
- ``new_topic``: an intent absent from the history, 8-15 tickets over 1-2 h;
- ``quiet_burst``: 4-6 tickets within an hour in one of the quiet topics;
- ``drop``: one channel goes silent for 3-4 h, starting on a weekday between 09:00 and 14:00 UTC.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import numpy as np

from server.eventlog.log import LoggedEvent

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
#: Monday 00:00 UTC, the first hour of the warm-up.
START = datetime(2026, 1, 5, tzinfo=timezone.utc)
TEXT_MODES = ("pooled", "split", "drift")
#: drift: the share of an intent's utterances in use at any time: half, as each half of ``pooled``, so
#: a text comes back as often as there, only its first use is spread evenly over the stream
DRIFT_SHARE = 0.5
#: The Zendesk custom field that carries the plan tier, and how the tenant maps it.
PLAN_FIELD_ID = "360041234567"
FIELD_MAP = {PLAN_FIELD_ID: "plan_tier"}
CHANNELS = ("web", "email", "chat", "api")
CHANNEL_SHARE = (0.45, 0.30, 0.15, 0.10)
PLANS = ("free", "starter", "pro", "enterprise")
PLAN_SHARE = (0.2, 0.4, 0.3, 0.1)
SHAPES = ("burst", "ramp", "new_topic", "quiet_burst", "drop")
#: Gamma shapes of the per-topic day and hour rate factors (mean 1; CV 1/sqrt(shape): 22% and 35%).
DAY_SHAPE = 20.0
HOUR_SHAPE = 8.0
WEEKLY = np.array([1.05, 1.1, 1.05, 1.0, 0.95, 0.45, 0.4])
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Gustavo", "Hana", "Ivan", "Jia", "Kofi", "Lena",
         "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yusuf"]
LAST = ["Okafor", "Schmidt", "Tanaka", "García", "Nguyen", "Kowalski", "Haddad", "Silva", "Ivanova", "Brown"]


def diurnal(hour: float) -> float:
    """Relative rate at ``hour`` (UTC, fractional), mean 1 over the day."""
    return _DIURNAL_RAW(hour) / _DIURNAL_MEAN


def _DIURNAL_RAW(hour: float) -> float:
    d = min(abs(hour - 14.0), 24.0 - abs(hour - 14.0))
    return 0.15 + 0.85 * math.exp(-0.5 * (d / 3.5) ** 2)


_DIURNAL_MEAN = sum(_DIURNAL_RAW(h / 10) for h in range(240)) / 240
_WEEKLY = WEEKLY / WEEKLY.mean()


def profile(at: datetime) -> float:
    """Relative rate at ``at``: diurnal times weekly, mean 1 over a week."""
    return diurnal(at.hour + at.minute / 60) * float(_WEEKLY[at.weekday()])


@dataclass
class Customer:
    requester_id: str
    organization_id: str
    plan: str
    first: str
    last: str


@dataclass
class Ticket:
    ticket_id: str
    created_at: datetime
    intent: str
    subject: str
    description: str
    requester: Customer
    channel: str
    label: int | None = None  # the injected incident it belongs to


@dataclass
class Injected:
    id: int
    shape: str
    start: datetime
    end: datetime
    intent: str | None = None
    channel: str | None = None
    ticket_ids: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class Traffic:
    seed: int
    tickets: list[Ticket]
    incidents: list[Injected]
    start: datetime
    eval_start: datetime
    end: datetime
    rates: dict[str, float]  # the tenant's intents and their base tickets a day
    quiet: list[str]

    @property
    def eval_weeks(self) -> float:
        return (self.end - self.eval_start) / WEEK


@dataclass
class _Raw:
    at: datetime
    intent: str
    customer: Customer
    channel: str
    label: int | None
    period: str  # "train" or "test": which split the text comes from


class Generator:
    """Builds one seed's traffic. ``texts[split][intent]`` holds the dataset's utterances."""

    def __init__(self, texts: dict[str, dict[str, list[str]]], seed: int = 0, *, warmup_weeks: int = 3,
                 eval_weeks: int = 2, n_topics: int = 30, n_quiet: int = 5, zipf: float = 1.0,
                 daily_volume: tuple[float, float] = (400.0, 800.0), per_week: int = 2, n_orgs: int = 300,
                 repeat_rate: float = 0.08, texts_mode: str = "drift") -> None:
        if texts_mode not in TEXT_MODES:
            raise ValueError(f"texts_mode must be one of {TEXT_MODES}, not {texts_mode!r}")
        self.texts = texts if texts_mode == "split" else pooled_halves(texts, seed)
        self.texts_mode = texts_mode
        #: drift: each intent's utterances in the order they come into use (the warm-up half, then the other)
        self.drift = {i: self.texts["train"][i] + self.texts["test"][i] for i in self.texts["train"]
                      if i in self.texts["test"]}
        self._span = (START, START)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.warmup_weeks = warmup_weeks
        self.eval_weeks = eval_weeks
        self.n_topics = n_topics
        self.n_quiet = n_quiet
        self.zipf = zipf
        self.daily_volume = daily_volume
        self.per_week = per_week
        self.n_orgs = n_orgs
        self.repeat_rate = repeat_rate

    # -- the tenant ----------------------------------------------------------------------------------
    def _customers(self) -> tuple[list[Customer], np.ndarray]:
        rng = self.rng
        people: list[Customer] = []
        weights: list[float] = []
        zipf = 20 / np.arange(1, self.n_orgs + 1) ** 0.8
        sizes = np.minimum(20, 1 + np.floor(zipf * rng.uniform(0.5, 1.5, self.n_orgs)))
        for o, size in enumerate(sizes.astype(int)):
            org_id = str(360000000000 + int(rng.integers(10**6, 10**7)) * 10 + o)
            plan = str(rng.choice(PLANS, p=PLAN_SHARE))
            for _ in range(size):
                rid = str(1900000000000 + int(rng.integers(10**9, 10**10)))
                people.append(Customer(rid, org_id, plan, str(rng.choice(FIRST)), str(rng.choice(LAST))))
                weights.append(1.0 / (1 + len(weights) % 97) ** 0.7)  # Zipf-ish activity, mixed over orgs
        w = np.array(weights)
        return people, w / w.sum()

    def _topics(self) -> tuple[dict[str, float], list[str], list[str]]:
        rng = self.rng
        intents = sorted(set(self.texts["train"]) & set(self.texts["test"]))
        chosen = [str(x) for x in rng.permutation(intents)]
        topics, spare = chosen[:self.n_topics], chosen[self.n_topics:]
        volume = rng.uniform(*self.daily_volume)
        loud = self.n_topics - self.n_quiet
        zipf = 1.0 / np.arange(1, loud + 1) ** self.zipf
        rates = {t: float(volume * z / zipf.sum()) for t, z in zip(topics[:loud], zipf)}
        quiet = topics[loud:]
        rates.update({t: float(rng.uniform(0.7, 1.3)) for t in quiet})
        return rates, quiet, spare

    # -- the stream ----------------------------------------------------------------------------------
    def build(self) -> Traffic:
        rng = self.rng
        people, activity = self._customers()
        rates, quiet, spare = self._topics()
        eval_start = START + self.warmup_weeks * WEEK
        end = eval_start + self.eval_weeks * WEEK
        raw: list[_Raw] = []
        names = list(rates)
        base = np.array([rates[n] for n in names]) / 24.0
        day_factor = np.ones(len(names))
        t = START
        while t < end:
            if t.hour == 0:
                day_factor = rng.gamma(DAY_SHAPE, 1 / DAY_SHAPE, len(names))
            lam = base * profile(t + HOUR / 2) * day_factor * rng.gamma(HOUR_SHAPE, 1 / HOUR_SHAPE, len(names))
            period = "train" if t < eval_start else "test"
            for i, n in enumerate(rng.poisson(lam)):
                for _ in range(n):
                    raw.append(self._raw(t + rng.uniform(0, 3600) * timedelta(seconds=1), names[i], people,
                                         activity, None, period))
            t += HOUR
        incidents = self._schedule(eval_start, end)
        dropped: list[Injected] = []
        for inc in incidents:
            if inc.shape == "drop":
                inc.channel = str(rng.choice(CHANNELS))
                inc.detail = f"channel {inc.channel} silent {(inc.end - inc.start) / HOUR:.1f} h"
                dropped.append(inc)
            else:
                raw += self._inject(inc, rates, quiet, spare, people, activity)
        raw += self._repeats(raw, people)
        raw = [r for r in raw if r.at < end and not any(
            d.channel == r.channel and d.start <= r.at < d.end and r.label is None for d in dropped)]
        raw.sort(key=lambda r: r.at)
        self._span = (START, end)
        tickets = [self._ticket(i, r) for i, r in enumerate(raw)]
        by_label: dict[int, list[str]] = {}
        for tk in tickets:
            if tk.label is not None:
                by_label.setdefault(tk.label, []).append(tk.ticket_id)
        for inc in incidents:
            inc.ticket_ids = by_label.get(inc.id, [])
        return Traffic(self.seed, tickets, incidents, START, eval_start, end, rates, quiet)

    def _raw(self, at: datetime, intent: str, people: list[Customer], activity: np.ndarray, label: int | None,
             period: str, customer: Customer | None = None) -> _Raw:
        who = customer or people[int(self.rng.choice(len(people), p=activity))]
        channel = str(self.rng.choice(CHANNELS, p=CHANNEL_SHARE))
        return _Raw(at, intent, who, channel, label, period)

    def _schedule(self, eval_start: datetime, end: datetime) -> list[Injected]:
        rng = self.rng
        shapes = [s for _ in range(int(self.per_week * self.eval_weeks)) for s in SHAPES]
        order = sorted(rng.permutation(len(shapes)), key=lambda k: shapes[k] not in ("drop", "ramp"))  # tightest first
        spans: list[tuple[datetime, datetime]] = []
        out: list[Injected] = []
        gap = timedelta(hours=6)
        for k in order:
            shape = shapes[k]
            for _ in range(1000):
                if shape in ("drop", "ramp"):
                    day = eval_start + int(rng.integers(0, (end - eval_start).days)) * DAY
                    if day.weekday() >= 5:
                        continue
                    first, hours = ((9, 14), (3, 4)) if shape == "drop" else ((6, 14), (4, 6))
                    start = day + timedelta(hours=float(rng.uniform(*first)))
                    length = timedelta(hours=float(rng.uniform(*hours)))
                else:
                    start = eval_start + timedelta(seconds=float(rng.uniform(0, (end - eval_start).total_seconds())))
                    hours = {"burst": (0.5, 1.0), "new_topic": (1, 2), "quiet_burst": (0.5, 1.0)}[shape]
                    length = timedelta(hours=float(rng.uniform(*hours)))
                if start + length + timedelta(hours=4) > end:
                    continue
                if all(start + length + gap <= a or b + gap <= start for a, b in spans):
                    break
            else:  # pragma: no cover - the weeks are long enough for the default schedule
                raise RuntimeError("cannot place every incident; fewer per week or more weeks")
            spans.append((start, start + length))
            out.append(Injected(0, shape, start, start + length))
        out.sort(key=lambda i: i.start)
        for i, inc in enumerate(out, 1):
            inc.id = i
        return out

    def _inject(self, inc: Injected, rates: dict[str, float], quiet: list[str], spare: list[str],
                people: list[Customer], activity: np.ndarray) -> list[_Raw]:
        rng = self.rng
        seconds = (inc.end - inc.start).total_seconds()
        out: list[_Raw] = []
        if inc.shape in ("burst", "new_topic", "quiet_burst"):
            if inc.shape == "burst":
                intent, n = str(rng.choice([t for t in rates if t not in quiet])), int(rng.integers(10, 21))
            elif inc.shape == "new_topic":
                intent, n = spare.pop(int(rng.integers(0, len(spare)))), int(rng.integers(8, 16))
            else:
                intent, n = str(rng.choice(quiet)), int(rng.integers(4, 7))
            who = rng.choice(len(people), size=n, replace=False, p=activity)
            for k in range(n):
                at = inc.start + timedelta(seconds=float(rng.uniform(0, seconds)))
                out.append(self._raw(at, intent, people, activity, inc.id, "test", people[int(who[k])]))
            inc.detail = f"{n} tickets in {seconds / 60:.0f} min"
        else:  # ramp: extra tickets at (m(t) - 1) times the base rate, m rising linearly to the factor
            intent = str(rng.choice([t for t in rates if rates[t] >= 20] or [max(rates, key=rates.get)]))
            factor = float(rng.uniform(3, 4))
            t = inc.start
            while t < inc.end:
                step = min(timedelta(minutes=10), inc.end - t)
                frac = ((t - inc.start) + step / 2) / (inc.end - inc.start)
                lam = rates[intent] / 24 * profile(t) * (factor - 1) * frac * (step / HOUR)
                for _ in range(int(rng.poisson(lam))):
                    at = t + timedelta(seconds=float(rng.uniform(0, step.total_seconds())))
                    out.append(self._raw(at, intent, people, activity, inc.id, "test"))
                t += step
            inc.detail = f"to {factor:.1f}x of {rates[intent]:.0f}/day over {seconds / 3600:.1f} h, {len(out)} extra"
        inc.intent = intent
        return out

    def _repeats(self, raw: Sequence[_Raw], people: list[Customer]) -> list[_Raw]:
        rng = self.rng
        out: list[_Raw] = []
        for r in raw:
            if rng.random() >= self.repeat_rate:
                continue
            for _ in range(1 if rng.random() < 0.7 else 2):
                at = r.at + timedelta(minutes=float(rng.uniform(20, 240)))
                out.append(_Raw(at, r.intent, r.customer, r.channel, r.label, r.period))
        return out

    def _ticket(self, i: int, r: _Raw) -> Ticket:
        rng = self.rng
        if self.texts_mode == "drift":
            pool = self.drift[r.intent]
            lo, hi = drift_window(len(pool), (r.at - self._span[0]) / (self._span[1] - self._span[0]))
            utterance = pool[lo + int(rng.integers(0, hi - lo))].strip()
        else:
            pool = self.texts[r.period][r.intent]
            utterance = pool[int(rng.integers(0, len(pool)))].strip()
        words = utterance.rstrip("?.!").split()
        subject = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
        style = rng.random()
        if style < 0.4:
            description = utterance
        elif style < 0.75:
            description = f"Hi,\n\n{utterance}\n\nThanks,\n{r.customer.first}"
        else:
            description = f"Hello,\n\n{utterance}\n\nBest regards,\n{r.customer.first} {r.customer.last}"
        return Ticket(str(48213 + i), r.at, r.intent, subject, description, r.customer, r.channel, r.label)


def drift_window(n: int, frac: float, share: float = DRIFT_SHARE) -> tuple[int, int]:
    """The utterances in use at ``frac`` (0 to 1) of the stream, as ``[lo, hi)`` of an intent's ``n``:
    a window of ``share`` of them that slides from the first to the last at a constant pace, so the
    same share of tickets brings words not seen before at every hour of the stream.

    >>> drift_window(150, 0.0), drift_window(150, 0.6), drift_window(150, 1.0)
    ((0, 75), (45, 120), (75, 150))
    """
    k = max(1, min(n, round(n * share)))
    hi = k + round(min(1.0, max(0.0, frac)) * (n - k))
    return hi - k, hi


def pooled_halves(texts: dict[str, dict[str, list[str]]], seed: int) -> dict[str, dict[str, list[str]]]:
    """Each intent's utterances of both splits, shuffled and halved: ``train`` (the warm-up's) and
    ``test`` (the evaluated weeks'), disjoint and alike. Its own generator: the stream's draws do not move.

    >>> halves = pooled_halves({"train": {"a": ["1", "2", "3"]}, "test": {"a": ["4"]}}, seed=0)
    >>> sorted(halves["train"]["a"] + halves["test"]["a"]), len(halves["train"]["a"])
    (['1', '2', '3', '4'], 2)
    """
    rng = np.random.default_rng(seed + 20_000)
    out: dict[str, dict[str, list[str]]] = {"train": {}, "test": {}}
    for intent in sorted(set(texts["train"]) & set(texts["test"])):
        pool = list(dict.fromkeys(texts["train"][intent] + texts["test"][intent]))
        order = rng.permutation(len(pool))
        half = (len(pool) + 1) // 2
        out["train"][intent] = [pool[i] for i in order[:half]]
        out["test"][intent] = [pool[i] for i in order[half:]]
    return out


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(ticket: Ticket, event_id: str, account_id: int = 22129848) -> dict[str, Any]:
    """The event-subscription ``ticket.created`` delivery Zendesk sends for ``ticket``."""
    created = iso(ticket.created_at)
    who = ticket.requester
    return {
        "type": "zen:event-type:ticket.created", "account_id": account_id, "id": event_id, "time": created,
        "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket.ticket_id}",
        "detail": {"id": ticket.ticket_id, "subject": ticket.subject, "description": ticket.description,
                   "status": "NEW", "priority": "NORMAL", "type": "QUESTION", "tags": [],
                   "requester_id": who.requester_id, "organization_id": who.organization_id, "brand_id": "360001",
                   "group_id": "360100", "created_at": created, "updated_at": created,
                   "via": {"channel": ticket.channel}, "is_public": True, "form_id": "360200",
                   "custom_fields": [{"id": PLAN_FIELD_ID, "value": who.plan}]},
        "event": {},
    }


def logged_events(traffic: Traffic, tenant_id: int = 1) -> list[LoggedEvent]:
    """Every ticket as the event log hands it to the pipeline: live (received when created)."""
    ids = np.random.default_rng(traffic.seed + 10_000)
    out = []
    for offset, tk in enumerate(traffic.tickets, 1):
        event_id = str(uuid.UUID(int=int(ids.integers(0, 2**63)) << 64 | int(ids.integers(0, 2**63))))
        out.append(LoggedEvent(offset=offset, tenant_id=tenant_id, source="zendesk", kind="zendesk.ticket.created",
                               idempotency_key=f"zendesk:{event_id}", received_at=tk.created_at,
                               event_time=tk.created_at, payload=payload(tk, event_id)))
    return out
