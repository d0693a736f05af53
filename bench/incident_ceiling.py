"""What the incident replay's traffic allows: the recall a detector that knew every intent and its true
rate would reach at a given false-alarm rate.

The incident replay (``bench/incidents.py``) asks for 95% recall at one false alarm a week or fewer.
This benchmark measures how much of that the traffic itself permits, so that a miss can be read as the
detector's or the data's. The **oracle** is given what no product has:

- every ticket's intent (a perfect topic model: no intent split over topics, none sharing one);
- each intent's true base rate, the generator's hour-of-day and day-of-week profile, and the gamma
  shapes of its day and hour noise (``bench/incident_traffic.py``), so its null distribution is the
  generator's own, not a learnt estimate;
- a threshold chosen on the evaluated weeks themselves (the sweep below), which no online detector
  can do.

At each ticket's creation it tests its intent's distinct requesters over the trailing 30 min, 1 h, 2 h
and 6 h against that null (negative binomial with the exact mean and the variance of the gamma-Poisson
mixture, day factors shared within a day) and keeps the smallest tail probability; given a least number
of customers (``min_requesters``, as the product's setting), a window with fewer is not tested. An
alarm whose window holds an injected incident's ticket finds that incident (as the replay credits a detection holding one
of its tickets); any other alarm is a false alarm, alarms on one intent within 6 h of its previous false
alarm counting once. Drops (a channel gone silent) are outside the oracle; the replay's detector finds
them all, so the ceiling for all shapes adds them as found.

It is an upper bound for detectors that count tickets in windows, not for every detector: a test that
knew the incident's shape in advance could weigh its evidence differently.

    python bench/incident_ceiling.py --seeds 5 --weeks 2 [--naive] [--day-level] [--write]

``--day-level`` gives the oracle one more piece of knowledge a live detector could use: each day's
factor is estimated from the intent's customers earlier that day (before the window), so a busy day
is expected to stay busy. It measures whether the day's own level would tell a ramp from a busy day.

Seeds and generator settings match ``bench/incidents.py``'s, so the traffic is the same; no text is
embedded (about 10 s). ``--naive`` also runs the replay's naive design over the same traffic (embedding
every text: a few minutes) and reports the oracle's speed against it on the incidents both found, the
replay's speed measure: how much of the 5x speed goal the traffic allows.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.incident_traffic import DAY_SHAPE, HOUR_SHAPE, SHAPES, Generator, Traffic, logged_events, profile  # noqa: E402
from bench.incidents import load_texts, naive_on, prepared_text, score, traffic_arguments  # noqa: E402
from server.incidents.settings import DetectionSettings  # noqa: E402
from server.incidents.stats import upper_tail  # noqa: E402

WINDOWS = (1800.0, 3600.0, 7200.0, 21600.0)
#: False alarms on one intent closer than this to its previous one count once.
MERGE = 6 * 3600.0
THRESHOLDS = (1e-3, 3e-4, 1e-4, 7e-5, 5e-5, 3e-5, 2e-5, 1e-5, 3e-6, 1e-6, 1e-7, 1e-8)


def window_null(slots: Sequence[tuple[float, int]], day_shape: float = DAY_SHAPE,
                hour_shape: float = HOUR_SHAPE) -> tuple[float, float]:
    """Mean and variance of a window's count whose hour slots have means ``m`` (pro rata) on calendar
    days ``d``: N = sum of Poisson(m D_d H_h), D and H gamma with mean 1 and the given shapes.

    Var = sum m + sum_d M_d^2 / a + (1 + 1/a) sum m^2 / b, with M_d the day's part of the mean.
    """
    mean = sum(m for m, _d in slots)
    by_day: dict[int, float] = defaultdict(float)
    for m, d in slots:
        by_day[d] += m
    sq = sum(m * m for m, _d in slots)
    var = mean + sum(v * v for v in by_day.values()) / day_shape + (1.0 + 1.0 / day_shape) * sq / hour_shape
    return mean, var


@dataclass
class Alarm:
    seed: int
    intent: str
    ts: float
    p: float
    labels: frozenset[int]


def day_posterior(count: float, expected: float, hour_sq: float, day_shape: float = DAY_SHAPE,
                  hour_shape: float = HOUR_SHAPE) -> tuple[float, float]:
    """Mean and variance of a day's factor D (prior gamma, mean 1, shape ``day_shape``) given ``count``
    customers where ``expected`` were expected in that day's hours outside the window (``hour_sq`` the
    sum of those hour slots' squared means): a precision-weighted (credibility) mean, its variance
    growing with that mean as a gamma posterior's does."""
    if expected <= 1e-9:
        return 1.0, 1.0 / day_shape
    obs_var = 1.0 / expected + hour_sq / (hour_shape * expected * expected)
    tau = 1.0 / obs_var
    mean = (day_shape + tau * count / expected) / (day_shape + tau)
    return mean, mean / (day_shape + tau)


def oracle_alarms(traffic: Traffic, min_requesters: int = 1, day_level: bool = False) -> list[Alarm]:
    """The oracle's test at every evaluated ticket: smallest tail probability over the windows, and
    the injected incidents whose tickets that window holds."""
    t0 = traffic.start.timestamp()
    eval_ts = traffic.eval_start.timestamp()
    n_hours = math.ceil((traffic.end.timestamp() - t0) / 3600.0)
    prof = np.array([profile(traffic.start + timedelta(hours=h, minutes=30)) for h in range(n_hours)])
    days = np.array([(traffic.start + timedelta(hours=h)).toordinal() for h in range(n_hours)])
    by_intent: dict[str, list[tuple[float, str, int | None]]] = defaultdict(list)
    for t in traffic.tickets:
        by_intent[t.intent].append((t.created_at.timestamp(), t.requester.requester_id, t.label))
    # Distinct requesters per expected ticket (repeat writers add follow-ups), measured on the warm-up.
    seen = expected = 0.0
    warm_hours = int((eval_ts - t0) // 3600)
    for intent, rows in by_intent.items():
        rate = traffic.rates.get(intent, 0.0)
        hours: dict[int, set[str]] = defaultdict(set)
        for ts, who, _label in rows:
            if ts < eval_ts:
                hours[int((ts - t0) // 3600)].add(who)
        seen += sum(len(v) for v in hours.values())
        expected += rate / 24.0 * float(prof[:warm_hours].sum())
    scale = seen / expected if expected else 1.0
    out = []
    for intent, rows in by_intent.items():
        hourly = traffic.rates.get(intent, 0.0) / 24.0 * scale
        times = np.array([r[0] for r in rows])
        for j, (ts, _who, _label) in enumerate(rows):
            if ts < eval_ts:
                continue
            best, labels = 1.0, frozenset()
            for width in WINDOWS:
                lo = int(np.searchsorted(times, ts - width, side="right"))
                window = rows[lo:j + 1]
                n = len({r[1] for r in window})
                if n < min_requesters:
                    continue
                slots = []
                a = ts - width
                while a < ts:
                    h = int((a - t0) // 3600)
                    end = min(ts, t0 + (h + 1) * 3600.0)
                    slots.append((hourly * prof[h] * (end - a) / 3600.0, int(days[h])))
                    a = end
                if day_level:
                    mean, var = _day_level_null(slots, rows, times, lo, ts - width, t0, hourly, prof, days)
                else:
                    mean, var = window_null(slots)
                mean = max(mean, 1e-3)
                p = upper_tail(n, mean, max(var / mean, 1.0))
                if p < best:
                    best, labels = p, frozenset(r[2] for r in window if r[2] is not None)
            out.append(Alarm(traffic.seed, intent, ts, best, labels))
    return out


def _day_level_null(slots: Sequence[tuple[float, int]], rows: Sequence[tuple[float, str, int | None]],
                    times: np.ndarray, lo: int, start: float, t0: float, hourly: float, prof: np.ndarray,
                    days: np.ndarray) -> tuple[float, float]:
    """The window's null with each calendar day's factor estimated from that day's customers before the
    window (the same intent), instead of the day-factor prior alone."""
    by_day: dict[int, float] = defaultdict(float)
    for m, d in slots:
        by_day[d] += m
    mean = var = 0.0
    for d, m_d in by_day.items():
        first_hour = int(np.searchsorted(days, d, side="left"))
        day_start = t0 + first_hour * 3600.0
        h_end = int((start - t0) // 3600)
        expected = hour_sq = 0.0
        for h in range(first_hour, h_end + 1):
            a, b = t0 + h * 3600.0, min(start, t0 + (h + 1) * 3600.0)
            if b <= a or days[h] != d:
                continue
            m = hourly * prof[h] * (b - a) / 3600.0
            expected += m
            hour_sq += m * m
        k = int(np.searchsorted(times, day_start, side="left"))
        count = len({r[1] for r in rows[k:lo]}) if start > day_start else 0
        dm, dv = day_posterior(count, expected, hour_sq)
        sq = sum(m * m for m, dd in slots if dd == d)
        mean += m_d * dm
        var += m_d * dm + m_d * m_d * dv + (dm * dm + dv) * sq / HOUR_SHAPE
    return mean, var


@dataclass
class Point:
    threshold: float
    false_alarms: int
    found: dict[str, int]
    #: per incident found, by (seed, incident id): (incident tickets created by the first alarm that found
    #: it, minutes after its start)
    delays: dict[tuple[int, int], tuple[int, float]] = field(default_factory=dict)

    def median_delay(self) -> tuple[float, float] | None:
        if not self.delays:
            return None
        return (statistics.median(d[0] for d in self.delays.values()),
                statistics.median(d[1] for d in self.delays.values()))


def sweep(runs: Sequence[tuple[Traffic, list[Alarm]]], thresholds: Sequence[float] = THRESHOLDS) -> list[Point]:
    points = []
    for thr in thresholds:
        found: dict[tuple[int, int], float] = {}
        false_alarms = 0
        last: dict[tuple[int, str], float] = {}
        for _traffic, alarms in runs:
            for a in sorted(alarms, key=lambda a: a.ts):
                if a.p > thr:
                    continue
                if a.labels:
                    for label in a.labels:
                        found.setdefault((a.seed, label), a.ts)
                    continue
                key = (a.seed, a.intent)
                if key not in last or a.ts - last[key] > MERGE:
                    false_alarms += 1
                last[key] = a.ts
        per_shape: Counter[str] = Counter()
        delays = {}
        for traffic, _alarms in runs:
            created = {t.ticket_id: t.created_at.timestamp() for t in traffic.tickets}
            for inc in traffic.incidents:
                at = found.get((traffic.seed, inc.id))
                if at is not None:
                    per_shape[inc.shape] += 1
                    delays[(traffic.seed, inc.id)] = (sum(created[t] <= at for t in inc.ticket_ids),
                                                      (at - inc.start.timestamp()) / 60.0)
        points.append(Point(thr, false_alarms, dict(per_shape), delays))
    return points


def best_within(points: Sequence[Point], weeks: float, budget: float = 1.0) -> Point | None:
    """The point with the most incidents found at ``budget`` false alarms a week or fewer."""
    ok = [p for p in points if p.false_alarms / weeks <= budget]
    return max(ok, key=lambda p: (sum(p.found.values()), -p.false_alarms), default=None)


def _delay(p: Point) -> str:
    d = p.median_delay()
    return "-" if d is None else f"{d[0]:.0f} / {d[1]:.0f}"


def naive_minutes(traffic: Traffic, embed: Any) -> dict[tuple[int, int], float]:
    """Minutes after its start at which the naive design (``bench/incidents.py``) found each incident with
    tickets that it found, by (seed, incident id)."""
    x = embed([prepared_text(e) for e in logged_events(traffic)])
    detections, _seconds, _eps = naive_on(traffic, x)
    return {(traffic.seed, o.incident.id): o.delay_minutes for o in score(traffic, detections).outcomes
            if o.found and o.incident.shape != "drop" and o.delay_minutes is not None}


def speed_lines(weeks: float, best: Point, at_least: Point | None, naive: dict[tuple[int, int], float],
                minimum: int) -> list[str]:
    """The oracle's speed against the naive design on the incidents both found (the replay's measure):
    ``best`` alarms on any number of customers, ``at_least`` on ``minimum`` or more (the product's)."""
    lines = []
    for label, point in (("any number of customers", best), (f"at least {minimum} customers (the product's default)",
                                                               at_least)):
        if point is None:
            continue
        both = sorted(naive.keys() & point.delays.keys())
        if not both:
            lines.append(f"- {label}: no incident found by both.")
            continue
        oracle_m = statistics.median(point.delays[k][1] for k in both)
        naive_m = statistics.median(naive[k] for k in both)
        lines.append(f"- alarms on {label}: {sum(point.found.values())} incidents with tickets found at "
                     f"{point.false_alarms / weeks:.2f} false alarms a week (threshold {point.threshold:.0e}); on the "
                     f"{len(both)} both it and naive found, median {oracle_m:.0f} min against naive's {naive_m:.0f} min: "
                     f"**{naive_m / max(oracle_m, 1e-9):.1f}x**")
    return ["Speed against the naive design, as the replay measures it (median minutes after the incident's start "
            f"on the incidents both found; the goal is 5x; naive found {len(naive)} incidents with tickets):", ""] + lines


def render(runs: Sequence[tuple[Traffic, list[Alarm]]], points: Sequence[Point], command: str, seconds: float,
           naive: dict[tuple[int, int], float] | None = None, at_least: Point | None = None,
           minimum: int = 1) -> str:
    weeks = sum(t.eval_weeks for t, _a in runs)
    n_shape = Counter(inc.shape for t, _a in runs for inc in t.incidents)
    counted = [s for s in SHAPES if s != "drop"]
    n_counted = sum(n_shape[s] for s in counted)
    lines = [f"Command: `{command}` ({datetime.now():%Y-%m-%d}, {seconds:.0f} s)", "",
             f"Seeds 0-{len(runs) - 1}, {weeks:.0f} evaluated weeks in all, the same traffic as the incident "
             "replay's. The oracle knows every ticket's intent, each intent's true rate and the generator's "
             "noise; its threshold is swept on the evaluated weeks (see the module docstring).", "",
             "| threshold | false alarms a week | " + " | ".join(counted)
             + " | with tickets | all (drops as found) | median delay, tickets / min |",
             "|---|---|" + "---|" * (len(counted) + 3)]
    for p in points:
        got = sum(p.found.get(s, 0) for s in counted)
        lines.append(f"| {p.threshold:.0e} | {p.false_alarms / weeks:.2f} | "
                     + " | ".join(f"{p.found.get(s, 0)}/{n_shape[s]}" for s in counted)
                     + f" | {got}/{n_counted} | {got + n_shape['drop']}/{sum(n_shape.values())} | {_delay(p)} |")
    best = best_within(points, weeks)
    lines.append("")
    if best is not None:
        got = sum(best.found.get(s, 0) for s in counted) + n_shape["drop"]
        total = sum(n_shape.values())
        lines.append(f"At one false alarm a week or fewer the oracle finds at most {got}/{total} "
                     f"({100 * got / total:.0f}%): " + ", ".join(f"{s} {best.found.get(s, 0)}/{n_shape[s]}" for s in counted)
                     + f", drops {n_shape['drop']}/{n_shape['drop']} by assumption; median delay {_delay(best)} "
                     "(incident tickets / minutes after the incident's start, over the incidents with tickets it found).")
        if naive is not None:
            lines += [""] + speed_lines(weeks, best, at_least, naive, minimum)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    traffic_arguments(ap, seeds=5)
    ap.add_argument("--day-level", action="store_true",
                    help="estimate each day's factor from its customers before the window (experimental)")
    ap.add_argument("--naive", action="store_true",
                    help="also run the naive design (embeds every text, a few minutes) and compare speeds")
    ap.add_argument("--write", action="store_true", help="record the results in bench/RESULTS.md")
    args = ap.parse_args(argv)
    from tqdm import tqdm

    started = time.perf_counter()
    texts = load_texts(args.dataset)
    embed = None
    if args.naive:
        from server.understand.embed import Embedder

        embed = Embedder(batch_size=64, cache_size=500_000).embed
    runs = []
    naive: dict[tuple[int, int], float] | None = {} if args.naive else None
    for seed in tqdm(range(args.seeds), desc="seeds"):
        traffic = Generator(texts, seed, warmup_weeks=args.warmup_weeks, eval_weeks=args.weeks,
                            per_week=args.per_week, texts_mode=args.texts).build()
        runs.append((traffic, oracle_alarms(traffic, day_level=args.day_level)))
        if naive is not None:
            naive.update(naive_minutes(traffic, embed))
    points = sweep(runs)
    minimum = DetectionSettings().min_requesters
    at_least = None
    if naive is not None:  # the same oracle held to the product's least number of customers per alarm
        at_least = best_within(sweep([(t, oracle_alarms(t, minimum)) for t, _a in runs]),
                               sum(t.eval_weeks for t, _a in runs))
    command = "python bench/incident_ceiling.py " + " ".join(argv if argv is not None else sys.argv[1:])
    body = render(runs, points, command.strip(), time.perf_counter() - started, naive, at_least, minimum)
    print(body)
    if args.write:
        from bench.results import update_section

        title = "Incident replay: what the traffic allows (`bench/incident_ceiling.py`)"
        update_section(title + ("" if args.dataset == "banking77" else f", {args.dataset}"), body)


if __name__ == "__main__":
    main()
