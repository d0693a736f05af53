"""Constructed ticket streams for the detection engine's tests: diurnal background traffic, bursts, and
running them through an engine."""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timedelta, timezone

import numpy as np

from server.incidents.engine import Engine, Observation

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday
#: Days of background history before each scenario (three weeks: the day-of-week profile is in use).
DAYS = 21
#: Tickets per day of each background topic (topic ids 1..6).
RATES = {1: 120.0, 2: 60.0, 3: 30.0, 4: 12.0, 5: 6.0, 6: 3.0}


def diurnal(at: datetime) -> float:
    """Business-hours peak, quiet nights, half volume at weekends (mean about 1 over a week)."""
    day = 0.25 + 1.9 * math.exp(-(((at.hour + at.minute / 60) - 14.0) / 4.0) ** 2)
    return day * (0.55 if at.weekday() >= 5 else 1.1)


def background(days: float, seed: int = 0, start: datetime = T0, rates: dict[int, float] = RATES,
               channels=("web", "email", "chat")) -> list[Observation]:
    rng = np.random.default_rng(seed)
    out: list[Observation] = []
    n = 0
    for h in range(int(days * 24)):
        hour = start + timedelta(hours=h)
        for topic, per_day in rates.items():
            for _ in range(rng.poisson(per_day / 24 * diurnal(hour))):
                n += 1
                out.append(Observation(
                    ticket_id=f"b{seed}-{n}", topic_id=topic, at=hour + timedelta(seconds=float(rng.uniform(0, 3600))),
                    requester=f"u{rng.integers(100_000)}", account=f"org{rng.integers(500)}",
                    segments={"channel": channels[int(rng.integers(len(channels)))],
                              "plan": ("free", "pro", "enterprise")[int(rng.integers(3))]},
                    sentiment=float(np.clip(rng.normal(0.0, 0.35), -1, 1)), text=f"topic {topic} ticket"))
    return sorted(out, key=lambda o: o.at)


def burst(topic: int, at: datetime, n: int, minutes: float = 30.0, prefix: str = "x", **fields) -> list[Observation]:
    step = minutes / max(n, 1)
    base = dict(account=None, segments={"channel": "web", "plan": "pro"}, sentiment=0.0, text="burst ticket")
    base.update(fields)
    return [Observation(ticket_id=f"{prefix}{i}", topic_id=topic, at=at + timedelta(minutes=step * i),
                        requester=f"{prefix}-customer-{i}", **base) for i in range(n)]


def run(engine: Engine, observations: list[Observation]) -> Engine:
    for obs in sorted(observations, key=lambda o: o.at):
        engine.observe(obs, lambda t: {"label": f"label {t}", "keywords": [f"term{t}"]})
    return engine


def opened(engine: Engine, after: datetime | None = None, kind: str | None = None):
    return [i for i in engine.incidents.values()
            if (after is None or i.detected_at >= after) and (kind is None or i.kind == kind)]


def fresh(warmed: bytes) -> Engine:
    return pickle.loads(warmed)


def _with_vectors(observations: list[Observation], seed: int, centres: dict[int, np.ndarray]) -> list[Observation]:
    """Each ticket gets its topic's direction plus noise (tickets of one topic have cosine about 0.73)."""
    rng = np.random.default_rng(seed)
    out = []
    for o in observations:
        v = centres[o.topic_id] + 0.6 * rng.normal(size=384) / math.sqrt(384)
        out.append(Observation(**{**o.__dict__, "vector": (v / np.linalg.norm(v)).astype(np.float32)}))
    return out
