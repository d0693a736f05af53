"""Incident replay: synthetic weeks of real-text ticket traffic with injected incidents, replayed
through the product's detector, the naive hourly-DBSCAN design and a fixed-threshold rule, side by side.

The stream (``bench/incident_traffic.py``)
------------------------------------------
Per seed, one tenant: 30 Banking77 (or CLINC150) intents as its topics, Zipf rates of 400-800
tickets a day, business hours and weekends, negative-binomial noise, repeat writers, Zendesk
requester, organisation, plan-tier custom field and channel. Three warm-up weeks (no incidents)
teach the baselines; then ``--weeks`` evaluated weeks carry, each week, two incidents of each shape:
sudden ``burst``, slow ``ramp``,
``new_topic``, ``quiet_burst`` (a small burst in a ~1/day topic) and ``drop`` (a channel silent for
3-4 h in business hours). Every ticket is an event-subscription ``zen:event-type:ticket.created``
payload in a ``LoggedEvent`` (tenant 1, offsets in creation order, received when created: live).
The generator's parameters were fixed before any detector ran on it. Texts (``--texts``): by default
each intent's utterances of both dataset splits are shuffled and drawn from a window of half of them
that slides through them at a constant pace, so new wording arrives at the same rate every week;
``--texts pooled`` halves them at random, the warm-up drawing on one half and the evaluated weeks on
the other (every evaluated utterance is then new at the first evaluated hour); ``--texts split`` takes
the dataset's ``train`` split for the warm-up and its ``test`` split for the evaluated weeks, as this
benchmark first did (see ``bench/incident_traffic.py``).

The designs
-----------
- **ours**: ``UnderstandStage(Embedder().embed)`` then ``DetectStage``, fed batches of 200 events in
  offset order, outputs drained after each batch (as the runner does), default settings.
- **naive**: every hour (event time), DBSCAN (cosine, ``min_samples`` 3) over the last 4 h of tickets,
  on the same MiniLM vectors of the same prepared text. ``eps`` is chosen per seed on the warm-up only:
  the value in 0.20-0.50 with the best mean ARI against the intents over 40 random 4 h windows. A
  cluster continues the tracked cluster whose centroid is nearest, if its cosine similarity is at
  least ``1 - eps`` (the centroid then moves 20% towards the new one); otherwise it starts a new one.
  Each tracked cluster's average size per 4 h window is taken over the hourly runs of its last 30 days
  (absent: 0). Alert when a cluster has more than twice that average, or at least 5 tickets with no
  history. Alerts on one tracked cluster within 4 h of its last alert merge into one.
- **fixed**: per live topic of ours' topic model (the topic a ticket was placed in, as that batch's
  outputs report it), alert when a topic has at least ``--threshold`` (5) tickets in the trailing hour;
  alerts on one topic within 4 h of its last alert merge. **fixed_tuned**: the same rule with the
  smallest N (from 5) that raises at most one alarm a week over the warm-up, per seed.

Matching and metrics
--------------------
A detected incident carries the tickets attached to it and when each was attached (ours: the
``incident_ticket`` rows of the stage outputs). An injected incident with tickets is found by a
detection that has at least one of them attached; the detection time is the earliest attachment of
one of its tickets (an incident opened earlier that only later absorbs them is found when it absorbs
them). A drop is found by a ``drop`` detection on ``channel:<its channel>`` between its start and its
end + 1 h. Delay in tickets = the injected incident's tickets created at or before the detection time;
delay in minutes = detection time - the incident's start. A detection opened in the evaluated weeks
that found nothing is a false alarm, except a ``drop`` on another series during an injected drop (an
effect of it, counted neither way). Alarms during the warm-up are reported apart, never counted.

Speed: the ratio of median detection delays in minutes (naive / ours) on the incidents both found, and
compute per simulated week without embedding: every prepared text is embedded once up front (the
``Embedder`` caches by text; the replay's cache misses are reported, and should be 0).

Run ``python bench/incidents.py [--seeds 3] [--weeks 2] [--dataset banking77] [--verbose] [--write]``;
``--quick`` is a smoke run (1 seed, 2 warm-up weeks, 1 evaluated week).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import datasets  # noqa: E402
from bench.incident_traffic import (FIELD_MAP, SHAPES, TEXT_MODES, Generator, Injected, Traffic,  # noqa: E402
                                   logged_events)
from bench.results import update_section  # noqa: E402
from server.eventlog.log import LoggedEvent  # noqa: E402
from server.incidents.engine import Engine, Observation  # noqa: E402
from server.understand.intake import parse  # noqa: E402
from server.understand.stage import prepare  # noqa: E402

HOUR = timedelta(hours=1)
DESIGNS = ("ours", "naive", "fixed", "fixed_tuned")
NOTE = ("A detection is credited to an incident when it holds one of the incident's tickets, so a design that "
        "alarms tens of times a week on the big topics (naive, fixed at 5) also \"finds\" ramps in those topics "
        "with alarms it would have raised anyway: read their recall beside their false alarms. `fixed_tuned` is "
        "the fixed rule with its N raised until it alarms at most once a week during the warm-up.")
GOALS = {"recall": 0.95, "fa_per_week": 1.0, "delay_tickets": 5.0, "speedup": 5.0}


@dataclass
class Detection:
    """One incident as a design raised it, with when each ticket was attached to it."""

    id: str
    kind: str
    series: str
    detected_at: datetime
    attached: dict[str, datetime] = field(default_factory=dict)
    sentence: str = ""
    expected: float | None = None  # the baseline's expectation in the alerting window (ours)


@dataclass
class Outcome:
    incident: Injected
    by: Detection | None = None
    at: datetime | None = None
    delay_tickets: int | None = None
    delay_minutes: float | None = None

    @property
    def found(self) -> bool:
        return self.by is not None


@dataclass
class Scored:
    outcomes: list[Outcome]
    false_alarms: list[Detection]
    warmup_alarms: int
    eval_weeks: float


def score(traffic: Traffic, detections: Sequence[Detection]) -> Scored:
    """Match detections to the injected incidents of ``traffic`` (rules in the module docstring)."""
    created = {t.ticket_id: t.created_at for t in traffic.tickets}
    used: set[str] = set()
    outcomes = []
    for inc in traffic.incidents:
        best: tuple[datetime, Detection] | None = None
        if inc.shape == "drop":
            for d in detections:
                on_channel = d.kind == "drop" and d.series == f"channel:{inc.channel}"
                if on_channel and inc.start <= d.detected_at <= inc.end + HOUR:
                    if best is None or d.detected_at < best[0]:
                        best = (d.detected_at, d)
            for d in detections:  # effects of the drop elsewhere are no false alarms
                if d.kind == "drop" and inc.start <= d.detected_at <= inc.end + HOUR:
                    used.add(d.id)
        else:
            mine = set(inc.ticket_ids)
            for d in detections:
                times = [at for tid, at in d.attached.items() if tid in mine]
                if times and (best is None or min(times) < best[0]):
                    best = (min(times), d)
        out = Outcome(inc)
        if best is not None:
            at, d = best
            used.add(d.id)
            out.by, out.at = d, at
            out.delay_minutes = (at - inc.start).total_seconds() / 60
            out.delay_tickets = sum(created[t] <= at for t in inc.ticket_ids) if inc.ticket_ids else None
        outcomes.append(out)
    # A detection holding any injected incident's ticket is that incident's, even if another found it first.
    labelled = {tid for inc in traffic.incidents for tid in inc.ticket_ids}
    used |= {d.id for d in detections if labelled & d.attached.keys()}
    evaluated = [d for d in detections if traffic.eval_start <= d.detected_at < traffic.end]
    false_alarms = [d for d in evaluated if d.id not in used]
    warmup = sum(d.detected_at < traffic.eval_start for d in detections)
    return Scored(outcomes, false_alarms, warmup, traffic.eval_weeks)


# -- the designs ----------------------------------------------------------------------------------

def prepared_text(event: LoggedEvent) -> str:
    """The text ``UnderstandStage`` embeds for a new ticket (same parse and preparation)."""
    update = parse(event.kind, event.payload, field_map=FIELD_MAP)
    subject, body, _ = prepare(update)
    return f"{subject}\n{body}".strip()


def run_ours(events: Sequence[LoggedEvent], embed: Callable[[Sequence[str]], np.ndarray], end: datetime,
             batch: int = 200, progress: Callable[[int], None] = lambda _n: None,
             record: list[tuple[Any, ...]] | None = None) -> tuple[list[Detection], dict[str, int], float]:
    """Replays ``events`` through the product's stages; detections, each ticket's topic, seconds.

    ``record``: a list that receives every call the detection engine gets (``bench/engine_replay.py``
    replays them through the engine alone)."""
    from server.incidents.stage import DetectStage
    from server.understand.stage import UnderstandStage

    embed_seconds = 0.0

    def timed_embed(texts: Sequence[str]) -> np.ndarray:
        nonlocal embed_seconds
        t0 = time.perf_counter()
        out = embed(texts)
        embed_seconds += time.perf_counter() - t0
        return out

    understand = UnderstandStage(timed_embed, field_maps=lambda _t: FIELD_MAP)
    detect = DetectStage(understand)
    if record is not None:
        detect.engines[events[0].tenant_id if events else 1] = RecordingEngine(record)
    topic: dict[str, int] = {}
    snaps: dict[int, dict[str, Any]] = {}
    attached: dict[int, dict[str, datetime]] = {}

    def drain() -> None:
        for kind, key, row in understand.outputs():
            if kind == "ticket" and "topic_id" in row:
                topic[key[1]] = row["topic_id"]
        for kind, key, row in detect.outputs():
            if kind == "incident":
                snaps[key[1]] = row
            elif kind == "incident_ticket":
                attached.setdefault(key[1], {}).setdefault(key[2], row["attached_at"])

    start = time.perf_counter()
    for i in range(0, len(events), batch):
        chunk = events[i:i + batch]
        understand.apply_batch(chunk)
        detect.apply_batch(chunk)
        drain()
        progress(len(chunk))
    for tenant_id, engine in detect.engines.items():
        engine.advance(end)
    drain()
    seconds = time.perf_counter() - start - embed_seconds
    detections = [d for engine in detect.engines.values() for d in engine_detections(engine, attached, snaps)]
    return detections, topic, seconds


def engine_detections(engine: Engine, attached: dict[int, dict[str, datetime]],
                      snaps: dict[int, dict[str, Any]] | None = None) -> list[Detection]:
    """The engine's incidents as detections: ``attached`` (incident -> ticket -> when) from its outputs,
    ``snaps`` the incident rows it wrote (None: its current snapshots)."""
    out = []
    for inc in engine.incidents.values():
        snap = snaps.get(inc.id, {}) if snaps is not None else engine.snapshot(inc)
        got = attached.get(inc.id, {})
        for tid in inc.ticket_ids:  # attachments not reported in outputs: at detection
            got.setdefault(tid, inc.detected_at)
        out.append(Detection(f"ours-{inc.id}", inc.kind, inc.series, inc.detected_at, got,
                             snap.get("sentence", ""), (snap.get("evidence") or {}).get("expected")))
    return out


class RecordingEngine(Engine):
    """The product's engine, noting each ticket and topic merge it is given, in order, as it takes them."""

    def __init__(self, calls: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self.calls = calls

    def observe(self, obs: Observation, describe: Any = lambda _t: {}) -> None:
        self.calls.append(("observe", obs))
        super().observe(obs, describe)

    def merge_topic(self, absorbed: int, into: int) -> None:
        self.calls.append(("merge", absorbed, into))
        super().merge_topic(absorbed, into)


def choose_eps(times: np.ndarray, x: np.ndarray, intents: np.ndarray, until: float, seed: int,
               grid: Sequence[float] = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)) -> float:
    """The DBSCAN eps with the best mean ARI against the intents over 40 warm-up 4 h windows."""
    rng = np.random.default_rng(seed)
    ends = rng.uniform(times[0] + 86400, until, 40)
    best = (-1.0, grid[0])
    for eps in grid:
        aris = []
        for e in ends:
            idx = np.arange(np.searchsorted(times, e - 4 * 3600, "right"), np.searchsorted(times, e, "right"))
            if len(idx) < 3:
                continue
            labels = DBSCAN(eps=eps, min_samples=3, metric="cosine").fit_predict(x[idx])
            noise = labels == -1
            labels[noise] = labels.max() + 1 + np.arange(noise.sum())
            aris.append(adjusted_rand_score(intents[idx], labels))
        best = max(best, (float(np.mean(aris)), eps))
    return best[1]


def run_naive(times: np.ndarray, ids: Sequence[str], x: np.ndarray, start: float, end: float, eps: float,
              *, min_samples: int = 3, window: float = 4 * 3600, lookback_runs: int = 30 * 24,
              new_min: int = 5) -> tuple[list[Detection], float]:
    """The hourly DBSCAN design (module docstring); ``times`` are sorted Unix seconds."""
    t0 = time.perf_counter()
    centroids = np.zeros((0, x.shape[1]), dtype=np.float32)
    first_run: list[int] = []
    counts: list[deque[tuple[int, int]]] = []
    last_alert: dict[int, tuple[int, Detection]] = {}
    detections: list[Detection] = []
    run = 0
    t = (np.floor(start / 3600) + 1) * 3600
    while t <= end:
        lo, hi = np.searchsorted(times, t - window, "right"), np.searchsorted(times, t, "right")
        at = datetime.fromtimestamp(t, tz=timezone.utc)
        if hi - lo >= min_samples:
            labels = DBSCAN(eps=eps, min_samples=min_samples, metric="cosine").fit_predict(x[lo:hi])
            this_run: dict[int, list[int]] = {}
            for label in set(labels.tolist()) - {-1}:
                members = np.flatnonzero(labels == label) + lo
                c = x[members].mean(axis=0)
                c /= max(float(np.linalg.norm(c)), 1e-9)
                sims = centroids @ c if len(centroids) else np.zeros(0)
                if len(sims) and sims.max() >= 1 - eps:
                    j = int(sims.argmax())
                    moved = 0.8 * centroids[j] + 0.2 * c
                    centroids[j] = moved / max(float(np.linalg.norm(moved)), 1e-9)
                else:
                    j = len(centroids)
                    centroids = np.vstack([centroids, c[None, :]])
                    first_run.append(run)
                    counts.append(deque())
                this_run.setdefault(j, []).extend(members.tolist())
            for j, members in this_run.items():
                n = len(members)
                past = counts[j]
                while past and past[0][0] <= run - lookback_runs:
                    past.popleft()
                runs = min(run - first_run[j], lookback_runs)
                fire = n > 2 * sum(c for _, c in past) / runs if runs > 0 else n >= new_min
                past.append((run, n))
                if not fire:
                    continue
                prev = last_alert.get(j)
                if prev is not None and run - prev[0] <= window / 3600:
                    det = prev[1]
                else:
                    det = Detection(f"naive-{len(detections) + 1}", "spike" if runs > 0 else "new_cluster",
                                    f"cluster:{j}", at, sentence=f"{n} tickets in 4 h in cluster {j}")
                    detections.append(det)
                for m in members:
                    det.attached.setdefault(ids[m], at)
                last_alert[j] = (run, det)
        run += 1
        t += 3600
    return detections, time.perf_counter() - t0


def naive_on(traffic: Traffic, x: np.ndarray) -> tuple[list[Detection], float, float]:
    """The naive design over ``traffic`` (``x``: its tickets' embeddings, in order) with eps chosen on
    its warm-up: detections, seconds, eps."""
    times = np.array([t.created_at.timestamp() for t in traffic.tickets])
    ids = [t.ticket_id for t in traffic.tickets]
    eps = choose_eps(times, x, np.array([t.intent for t in traffic.tickets]), traffic.eval_start.timestamp(),
                     traffic.seed)
    detections, seconds = run_naive(times, ids, x, times[0], traffic.end.timestamp(), eps)
    return detections, seconds, eps


def run_fixed(tickets: Sequence[tuple[datetime, str, int]], n: int = 5, merge: timedelta = 4 * HOUR
              ) -> tuple[list[Detection], float]:
    """At least ``n`` tickets of one topic in the trailing hour; ``tickets`` = (created_at, id, topic)."""
    t0 = time.perf_counter()
    recent: dict[int, deque[tuple[datetime, str]]] = {}
    last: dict[int, tuple[datetime, Detection]] = {}
    detections: list[Detection] = []
    for at, tid, topic in tickets:
        q = recent.setdefault(topic, deque())
        q.append((at, tid))
        while q[0][0] <= at - HOUR:
            q.popleft()
        if len(q) < n:
            continue
        prev = last.get(topic)
        if prev is not None and at - prev[0] <= merge:
            det = prev[1]
        else:
            det = Detection(f"fixed-{len(detections) + 1}", "spike", f"topic:{topic}", at,
                            sentence=f"{len(q)} tickets in 1 h in topic {topic}")
            detections.append(det)
        for _, t in q:
            det.attached.setdefault(t, at)
        last[topic] = (at, det)
    return detections, time.perf_counter() - t0


def tune_fixed(placed: Sequence[tuple[datetime, str, int]], traffic: Traffic, budget: float = 1.0
               ) -> tuple[int, list[Detection], float]:
    """The fixed rule with the smallest N whose alarms in the warm-up stay within ``budget`` a week."""
    t0 = time.perf_counter()
    warm = [p for p in placed if p[0] < traffic.eval_start]
    weeks = (traffic.eval_start - traffic.start) / timedelta(days=7)
    n = 5
    while n < 200 and len(run_fixed(warm, n=n)[0]) > budget * weeks:
        n += 1
    detections, _ = run_fixed(placed, n=n)
    return n, detections, time.perf_counter() - t0


# -- one seed ---------------------------------------------------------------------------------------

@dataclass
class SeedRun:
    traffic: Traffic
    scored: dict[str, Scored]
    seconds: dict[str, float]
    eps: float
    misses: int
    topic: dict[str, int]
    tuned_n: int = 0


def load_texts(name: str) -> dict[str, dict[str, list[str]]]:
    loader = {"banking77": datasets.banking77, "clinc150": datasets.clinc150}[name]
    out: dict[str, dict[str, list[str]]] = {}
    for split in ("train", "test"):
        texts, labels = loader(split)
        for text, label in zip(texts, labels):
            out.setdefault(split, {}).setdefault(label, []).append(text)
    return out


def run_seed(seed: int, texts: dict[str, dict[str, list[str]]], embedder: Any, args: argparse.Namespace) -> SeedRun:
    from tqdm import tqdm

    traffic = Generator(texts, seed, warmup_weeks=args.warmup_weeks, eval_weeks=args.weeks,
                        per_week=args.per_week, texts_mode=args.texts).build()
    events = logged_events(traffic)
    prepared = [prepared_text(e) for e in events]
    unique = list(dict.fromkeys(prepared))
    for i in tqdm(range(0, len(unique), 512), desc=f"seed {seed}: embed {len(unique):,} texts", leave=False):
        embedder.embed(unique[i:i + 512])
    x = embedder.embed(prepared)
    misses = embedder.misses
    with tqdm(total=len(events), desc=f"seed {seed}: ours", leave=False) as bar:
        ours, topic, ours_s = run_ours(events, embedder.embed, traffic.end, progress=bar.update)
    misses = embedder.misses - misses
    naive, naive_s, eps = naive_on(traffic, x)
    placed = [(t.created_at, t.ticket_id, topic[t.ticket_id]) for t in traffic.tickets if t.ticket_id in topic]
    fixed, fixed_s = run_fixed(placed, n=args.threshold)
    tuned_n, tuned, tuned_s = tune_fixed(placed, traffic)
    scored = {"ours": score(traffic, ours), "naive": score(traffic, naive), "fixed": score(traffic, fixed),
              "fixed_tuned": score(traffic, tuned)}
    return SeedRun(traffic, scored, {"ours": ours_s, "naive": naive_s, "fixed": fixed_s, "fixed_tuned": tuned_s},
                   eps, misses, topic, tuned_n)


# -- the report -------------------------------------------------------------------------------------

def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def cell(outcomes: Sequence[Outcome]) -> tuple[str, str]:
    found = [o for o in outcomes if o.found]
    recall = f"{len(found)}/{len(outcomes)} ({100 * len(found) / max(1, len(outcomes)):.0f}%)"
    tickets = median([o.delay_tickets for o in found if o.delay_tickets is not None])
    minutes = median([o.delay_minutes for o in found])
    return recall, f"{fmt(tickets)} / {fmt(minutes)}"


def summary(runs: Sequence[SeedRun]) -> tuple[list[list[str]], dict[str, Any]]:
    """Table rows (shape, n, then recall and delay per design) and the figures of the goal check."""
    rows = []
    by = {d: [o for r in runs for o in r.scored[d].outcomes] for d in DESIGNS}
    for shape in (*SHAPES, "all with tickets", "all"):
        pick = (lambda o: o.incident.shape == shape) if shape in SHAPES else \
            (lambda o: o.incident.shape != "drop") if shape == "all with tickets" else (lambda o: True)
        row = [shape, str(sum(pick(o) for o in by["ours"]))]
        for d in DESIGNS:
            row += cell([o for o in by[d] if pick(o)])
        rows.append(row)
    weeks = sum(r.traffic.eval_weeks for r in runs)
    sim_weeks = sum((r.traffic.end - r.traffic.start) / timedelta(days=7) for r in runs)
    fa = {d: sum(len(r.scored[d].false_alarms) for r in runs) / weeks for d in DESIGNS}
    warm = {d: sum(r.scored[d].warmup_alarms for r in runs) / sum((r.traffic.eval_start - r.traffic.start)
                                                                   / timedelta(days=7) for r in runs) for d in DESIGNS}
    cost = {d: sum(r.seconds[d] for r in runs) / sim_weeks for d in DESIGNS}
    for name, values, digits in (("false alarms / evaluated week", fa, 2),
                                 ("alarms / warm-up week (not scored)", warm, 2),
                                 ("compute s / simulated week (no embedding)", cost, 3)):
        rows.append([name, ""] + [x for d in DESIGNS for x in (fmt(values[d], digits), "")])
    both = [(o.delay_minutes, n.delay_minutes) for o, n in zip(by["ours"], by["naive"]) if o.found and n.found]
    ours_found = [o for o in by["ours"] if o.found]
    figures = {
        "recall": len(ours_found) / max(1, len(by["ours"])),
        "fa_per_week": fa["ours"],
        "delay_tickets": median([o.delay_tickets for o in ours_found if o.delay_tickets is not None]),
        "speedup": (median([n for _, n in both]) / max(median([o for o, _ in both]), 1e-9)) if both else None,
        "both": len(both),
        "median_minutes_both": (median([o for o, _ in both]), median([n for _, n in both])) if both else (None, None),
        "cost": cost,
    }
    return rows, figures


def goal_lines(f: dict[str, Any]) -> list[str]:
    def check(ok: bool) -> str:
        return "met" if ok else "**missed**"

    ours_m, naive_m = f["median_minutes_both"]
    speed = f["speedup"]
    return [
        f"- recall {100 * f['recall']:.1f}% (goal ≥ {100 * GOALS['recall']:.0f}%): "
        f"{check(f['recall'] >= GOALS['recall'])}",
        f"- false alarms {f['fa_per_week']:.2f} per week (goal ≤ {GOALS['fa_per_week']:.0f}): "
        f"{check(f['fa_per_week'] <= GOALS['fa_per_week'])}",
        f"- median delay {fmt(f['delay_tickets'])} incident tickets (goal ≤ {GOALS['delay_tickets']:.0f}): "
        f"{check(f['delay_tickets'] is not None and f['delay_tickets'] <= GOALS['delay_tickets'])}",
        f"- speed: median delay {fmt(ours_m)} min (ours) vs {fmt(naive_m)} min (naive) on the {f['both']} incidents "
        f"both found: {fmt(speed, 1)}x (goal ≥ {GOALS['speedup']:.0f}x): "
        f"{check(speed is not None and speed >= GOALS['speedup'])}",
    ]


def where(o: Outcome, topic: dict[str, int]) -> str:
    spread = Counter(topic.get(t, -1) for t in o.incident.ticket_ids)
    return ", ".join(f"{k}×{v}" for k, v in spread.most_common(4))


def details(runs: Sequence[SeedRun]) -> list[str]:
    """Every injected incident with each design's outcome, then ours' false alarms."""
    lines = ["| seed | # | shape | what | start (UTC) | tickets | " + " | ".join(DESIGNS)
             + " | ours' topics of its tickets |",
             "|---|---|---|---|---|---|" + "---|" * len(DESIGNS) + "---|"]
    for r in runs:
        for k, o in enumerate(r.scored["ours"].outcomes):
            inc = o.incident
            cells = []
            for d in DESIGNS:
                x = r.scored[d].outcomes[k]
                cells.append(f"{fmt(x.delay_tickets)} t / {fmt(x.delay_minutes)} min ({x.by.kind} {x.by.series})"
                             if x.found else "missed")
            lines.append(f"| {r.traffic.seed} | {inc.id} | {inc.shape} | {inc.intent or inc.channel}: {inc.detail} "
                         f"| {inc.start:%a %d %H:%M} | {len(inc.ticket_ids)} | {' | '.join(cells)} "
                         f"| {where(o, r.topic)} |")
    lines += ["", "Ours' false alarms:", "", "| seed | kind | series | detected (UTC) | evidence |",
              "|---|---|---|---|---|"]
    for r in runs:
        for d in r.scored["ours"].false_alarms:
            lines.append(f"| {r.traffic.seed} | {d.kind} | {d.series} | {d.detected_at:%a %d %H:%M} | {d.sentence} |")
    return lines


def diagnosis(runs: Sequence[SeedRun], texts: str = "drift") -> list[str]:
    """Ours' misses by shape (were its tickets in one topic?) and ours' false alarms by kind."""
    lines = []
    for shape in SHAPES:
        missed = [(o, r) for r in runs for o in r.scored["ours"].outcomes
                  if o.incident.shape == shape and not o.found]
        if not missed:
            continue
        if shape == "drop":
            channels = Counter(o.incident.channel for o, _ in missed)
            lines.append(f"- {shape}: {len(missed)} missed, channels {dict(channels)}")
            continue
        split = sum(Counter(r.topic.get(t) for t in o.incident.ticket_ids).most_common(1)[0][1]
                    < 0.6 * len(o.incident.ticket_ids) for o, r in missed)
        sizes = sorted(len(o.incident.ticket_ids) for o, _ in missed)
        lines.append(f"- {shape}: {len(missed)} missed; {split} of them had under 60% of their tickets in one topic; "
                     f"incident tickets {sizes}")
    fas = [d for r in runs for d in r.scored["ours"].false_alarms]
    kinds = Counter(d.kind for d in fas)
    volume = [d for d in fas if d.kind in ("spike", "new_topic", "concentration") and d.expected is not None]
    near_zero = sum(d.expected < 0.1 for d in volume)
    lines.append(f"- false alarms: {len(fas)} ({', '.join(f'{k} {v}' for k, v in kinds.most_common())}); "
                 f"{near_zero} of the {len(volume)} volume ones (spike, new topic, concentration) expected under 0.1 "
                 "customers in their window (topics with almost no baseline)")
    per_week = Counter(int((d.detected_at - r.traffic.eval_start) / timedelta(days=7)) + 1
                       for r in runs for d in r.scored["ours"].false_alarms)
    lines.append("- false alarms by evaluated week (all seeds): "
                 + ", ".join(f"week {w}: {n}" for w, n in sorted(per_week.items()))
                 + (" (the texts switch from the train to the test split when week 1 starts)" if texts == "split" else ""))
    return lines


def render(rows: list[list[str]]) -> list[str]:
    head = ["shape", "n"] + [f"{d} {c}" for d in DESIGNS for c in ("recall", "delay tickets / min")]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def show(rows: list[list[str]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in ["shape", "n"] + [f"{d}\n{c}" for d in DESIGNS for c in ("recall", "median delay\ntickets / min")]:
        table.add_column(h)
    for r in rows:
        table.add_row(*r)
    Console(width=200).print(table)


def traffic_arguments(ap: argparse.ArgumentParser, seeds: int) -> None:
    """The options that fix the replayed traffic (shared by the benchmarks built on this one)."""
    ap.add_argument("--seeds", type=int, default=seeds, help="seeds 0..N-1")
    ap.add_argument("--weeks", type=int, default=2, help="evaluated weeks per seed")
    ap.add_argument("--warmup-weeks", type=int, default=3)
    ap.add_argument("--per-week", type=int, default=2, help="incidents of each shape per evaluated week")
    ap.add_argument("--dataset", choices=("banking77", "clinc150"), default="banking77")
    ap.add_argument("--texts", choices=TEXT_MODES, default="drift",
                    help="texts: a window of each intent's utterances that drifts through them at a constant "
                         "pace (default), halves of them for the warm-up and the evaluated weeks, or the "
                         "dataset's train and test splits (bench/incident_traffic.py)")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    traffic_arguments(ap, seeds=3)
    ap.add_argument("--threshold", type=int, default=5, help="the fixed rule's tickets per topic per hour")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 2 warm-up weeks, 1 evaluated week")
    ap.add_argument("--verbose", action="store_true", help="list every injected incident and false alarm")
    ap.add_argument("--write", action="store_true", help="record the results in bench/RESULTS.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.weeks, args.warmup_weeks, args.per_week = 1, 1, 2, 1
    from tqdm import tqdm

    from server.understand.embed import Embedder

    texts = load_texts(args.dataset)
    embedder = Embedder(batch_size=64, cache_size=500_000)
    wall = time.perf_counter()
    runs = []
    for seed in tqdm(range(args.seeds), desc="seeds"):
        runs.append(run_seed(seed, texts, embedder, args))
        r = runs[-1]
        tqdm.write(f"seed {seed}: {len(r.traffic.tickets):,} tickets, {len(r.traffic.incidents)} incidents, "
                   f"eps {r.eps}, ours found {sum(o.found for o in r.scored['ours'].outcomes)}, "
                   f"false alarms {len(r.scored['ours'].false_alarms)}, replay cache misses {r.misses}")
    wall = time.perf_counter() - wall
    rows, figures = summary(runs)
    show(rows, f"Incident replay: {args.dataset}, {args.seeds} seeds x {args.weeks} evaluated weeks")
    goals = goal_lines(figures)
    listing = details(runs)
    why = diagnosis(runs, args.texts)
    print("\n".join(goals + ["", "Ours' misses and false alarms:"] + why))
    if args.verbose:
        print("\n".join(listing))
    volume = statistics.mean(len(r.traffic.tickets) / ((r.traffic.end - r.traffic.start).days) for r in runs)
    words = {"split": "the `train` split for the warm-up, `test` for the evaluated weeks",
             "pooled": "each intent's utterances of both splits halved at random, one half for the warm-up, the "
                       "other for the evaluated weeks",
             "drift": "each intent's utterances of both splits shuffled, drawn from a window of half of them that "
                      "slides through them at a constant pace over the whole stream"}[args.texts]
    setup = (f"Data: {args.dataset} ({words}). "
             f"Seeds 0-{args.seeds - 1}; per seed {args.warmup_weeks} warm-up weeks then {args.weeks} evaluated weeks, "
             f"{volume:.0f} tickets a day "
             f"on average, {args.per_week} incidents of each shape per evaluated week "
             f"({sum(len(r.traffic.incidents) for r in runs)} in all). "
             f"Naive DBSCAN eps per seed (chosen on the warm-up): "
             f"{', '.join(str(r.eps) for r in runs)}. Fixed rule: {args.threshold} tickets per topic in an hour; tuned "
             f"per seed on the warm-up (at most 1 alarm a week there): {', '.join(str(r.tuned_n) for r in runs)}. "
             f"Replay embedding-cache misses: {sum(r.misses for r in runs)}. Wall time {wall / 60:.1f} min.")
    print(setup)
    if args.write:
        extra = "" if not args.quick else " --quick"
        extra += "" if args.texts == "drift" else f" --texts {args.texts}"
        body = [f"Command: `.venv/bin/python bench/incidents.py --seeds {args.seeds} --weeks {args.weeks} "
                f"--dataset {args.dataset}{extra} --verbose --write` ({datetime.now(timezone.utc):%Y-%m-%d}, 2-core CPU machine)",
                "", setup, "", "Recall and median detection delay (in incident tickets created by detection / in "
                "minutes after the incident's start) per shape; the rules are in the module docstring.", "",
                *render(rows), "", NOTE, "", "Goals (ours):", "", *goals, "", "Ours' misses and false alarms:", "",
                *why, "", "Every injected incident:", "", *listing]
        # Banking77 is the reference run; another dataset's figures get a section of their own.
        title = "Incident replay (`bench/incidents.py`)" + ("" if args.dataset == "banking77" else f", {args.dataset}")
        update_section(title, "\n".join(body))


if __name__ == "__main__":
    main()
