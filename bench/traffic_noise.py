"""How noisy is real hourly volume, next to the incident replay's generator?

The incident replay's traffic (``bench/incident_traffic.py``) multiplies every topic's hourly rate by a
gamma day factor (CV 22%) and a gamma hour factor (CV 35%). The hour factor decides how often an
ordinary hour looks like a ramp or a burst, so it bounds what any detector can find at a given false
alarm rate (``bench/incident_ceiling.py``). This benchmark checks that figure against real volume.

What it measures
----------------
The closest real analogue to a help desk's hourly volume in the benchmark data is NAB's realTweets:
ten companies' Twitter mention counts, five-minute buckets over about eight weeks. For each stream:

1. complete hours (12 buckets) outside NAB's labelled anomaly windows, summed to hourly counts;
2. an expected count per hour from a multiplicative fit of a level per calendar day and a profile per
   hour of day (alternating means), which takes out the day's level as the generator's day factor does;
3. the hour-level noise left: its extra-Poisson coefficient of variation (method of moments,
   ``Var = mu + phi mu^2``, CV = sqrt(phi)), the lag-one correlation of log(observed/expected) between
   consecutive hours, and the share of hours at three times their expected count or more.

The same three steps run on a synthetic twin of each stream: the generator's noise model (its day
profile, gamma day and hour factors of the generator's shapes, Poisson counts) at the stream's own mean
level, over the stream's own hours. Real and twin go through the same estimator, so its biases (a day's
level fitted from 24 counts takes some noise with it) fall on both. The twin is drawn ``--twins`` times
and its median reported.

Run ``python bench/traffic_noise.py [--twins 5] [--write]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.datasets import datasets_dir  # noqa: E402
from bench.incident_traffic import DAY_SHAPE, HOUR_SHAPE, profile  # noqa: E402
from bench.results import update_section  # noqa: E402

#: An hour counts as a surge at this many times its expected count.
SURGE = 3.0
#: Surges are counted only where the expected count is at least this (below it Poisson alone gets there).
SURGE_FLOOR = 5.0


def hourly_counts(rows: Sequence[tuple[datetime, float]],
                  windows: Sequence[tuple[datetime, datetime]] = ()) -> tuple[list[datetime], np.ndarray]:
    """Sum five-minute buckets into hours; keep the complete hours (12 buckets) none of whose buckets
    falls in a labelled window."""
    acc: dict[datetime, list] = defaultdict(lambda: [0.0, 0, False])
    for ts, value in rows:
        hour = ts.replace(minute=0, second=0, microsecond=0)
        entry = acc[hour]
        entry[0] += value
        entry[1] += 1
        entry[2] = entry[2] or any(a <= ts <= b for a, b in windows)
    hours = sorted(h for h, (_v, n, flagged) in acc.items() if n == 12 and not flagged)
    return hours, np.array([acc[h][0] for h in hours], dtype=float)


def expected_counts(hours: Sequence[datetime], counts: np.ndarray, rounds: int = 30) -> np.ndarray:
    """Expected count of each hour: a level per calendar day times a profile per hour of day, fitted by
    alternating means (each factor the mean of the counts divided by the other)."""
    _days, day = np.unique([h.toordinal() for h in hours], return_inverse=True)
    hod = np.array([h.hour for h in hours])
    n_days = day.max() + 1
    day_n = np.bincount(day, minlength=n_days)
    hod_n = np.maximum(np.bincount(hod, minlength=24), 1)
    level = (np.bincount(day, counts, n_days) / day_n)[day]
    shape = np.ones_like(counts)
    for _ in range(rounds):
        shape = (np.bincount(hod, counts / np.maximum(level, 1e-9), 24) / hod_n)[hod]
        level = (np.bincount(day, counts / np.maximum(shape, 1e-9), n_days) / day_n)[day]
    return level * shape


def noise_stats(hours: Sequence[datetime], counts: np.ndarray) -> dict[str, float]:
    """Hour-level extra-Poisson CV, lag-one correlation of the log ratio, and share of surge hours."""
    mu = expected_counts(hours, counts)
    phi = float(((counts - mu) ** 2 - counts).sum() / (mu ** 2).sum())
    ratio = np.log(np.maximum(counts, 0.5) / np.maximum(mu, 1e-9))
    consecutive = np.array([b - a == timedelta(hours=1) for a, b in zip(hours, hours[1:])])
    lag1 = float(np.corrcoef(ratio[:-1][consecutive], ratio[1:][consecutive])[0, 1]) if consecutive.sum() > 2 else 0.0
    eligible = mu >= SURGE_FLOOR
    surges = float((counts[eligible] >= SURGE * mu[eligible]).mean()) if eligible.any() else float("nan")
    return {"hour_cv": float(np.sqrt(max(phi, 0.0))), "lag1": lag1, "surge_share": surges,
            "mean": float(counts.mean())}


def twin_counts(hours: Sequence[datetime], mean: float, rng: np.random.Generator,
                day_shape: float = DAY_SHAPE, hour_shape: float = HOUR_SHAPE) -> np.ndarray:
    """The generator's noise model over ``hours``: its time profile, a gamma day factor per calendar day
    and a gamma hour factor per hour (mean 1, the generator's shapes), Poisson counts, scaled to ``mean``."""
    prof = np.array([profile(h + timedelta(minutes=30)) for h in hours])
    _days, day = np.unique([h.toordinal() for h in hours], return_inverse=True)
    day_factor = rng.gamma(day_shape, 1.0 / day_shape, day.max() + 1)[day]
    hour_factor = rng.gamma(hour_shape, 1.0 / hour_shape, len(hours))
    return rng.poisson(mean / prof.mean() * prof * day_factor * hour_factor).astype(float)


def load_tweets() -> dict[str, tuple[list[datetime], np.ndarray]]:
    root = datasets_dir() / "nab"
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    streams = {}
    for name in sorted(k for k in windows if k.startswith("realTweets/")):
        spans = [(datetime.fromisoformat(a[:19]), datetime.fromisoformat(b[:19])) for a, b in windows[name]]
        with open(root / "data" / name, newline="") as fh:
            rows = [(datetime.fromisoformat(r["timestamp"][:19]), float(r["value"])) for r in csv.DictReader(fh)]
        streams[name.split("/")[1].removesuffix(".csv").removeprefix("Twitter_volume_")] = hourly_counts(rows, spans)
    return streams


def measure(streams: dict[str, tuple[list[datetime], np.ndarray]], twins: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for name, (hours, counts) in streams.items():
        real = noise_stats(hours, counts)
        drawn = [noise_stats(hours, twin_counts(hours, real["mean"], rng)) for _ in range(twins)]
        twin = {k: float(np.nanmedian([d[k] for d in drawn])) for k in real}
        out.append({"name": name, "hours": len(hours), "real": real, "twin": twin})
    return out


def render(rows: list[dict], twins: int, command: str) -> str:
    def pct(x: float) -> str:
        return "–" if np.isnan(x) else f"{100 * x:.1f}%"

    lines = [f"Command: `{command}` ({datetime.now():%Y-%m-%d})", "",
             "NAB realTweets (hourly sums of five-minute mention counts, outside NAB's labelled anomaly windows) "
             f"against a twin drawn from the incident replay's noise model at each stream's level (median of {twins} "
             f"twins). Hour CV: extra-Poisson variation of an hour around its day's level and hour-of-day profile; "
             f"surges: hours at {SURGE:g}x their expected count or more, among hours expecting at least {SURGE_FLOOR:g}.",
             "", "| stream | hours | tweets / h | hour CV real | twin | real / twin | lag-1 corr. real | twin "
             "| surges real | twin |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        re_, tw = r["real"], r["twin"]
        lines.append(f"| {r['name']} | {r['hours']} | {re_['mean']:.1f} | {re_['hour_cv']:.2f} | {tw['hour_cv']:.2f} | "
                     f"{re_['hour_cv'] / max(tw['hour_cv'], 1e-9):.2f}x | {re_['lag1']:.2f} | {tw['lag1']:.2f} | "
                     f"{pct(re_['surge_share'])} | {pct(tw['surge_share'])} |")
    real_cv = float(np.median([r["real"]["hour_cv"] for r in rows]))
    twin_cv = float(np.median([r["twin"]["hour_cv"] for r in rows]))
    lower = sum(r["real"]["hour_cv"] < r["twin"]["hour_cv"] for r in rows)
    real_lag = float(np.median([r["real"]["lag1"] for r in rows]))
    lines += ["", f"Median over the {len(rows)} streams: hour CV {real_cv:.2f} real against {twin_cv:.2f} for the "
              f"generator's model ({real_cv / twin_cv:.2f}x); {lower} of {len(rows)} streams are calmer than their twin. "
              f"Lag-one correlation of the hourly log ratio: {real_lag:.2f} real (the model's hours are independent)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--twins", type=int, default=5, help="synthetic twins drawn per stream (median reported)")
    ap.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = ap.parse_args(argv)
    rows = measure(load_tweets(), args.twins)
    command = "python bench/traffic_noise.py" + (f" --twins {args.twins}" if args.twins != 5 else "") + " --write"
    text = render(rows, args.twins, command)
    print(text)
    if args.write:
        update_section("Incident replay: how noisy real volume is (`bench/traffic_noise.py`)", text)


if __name__ == "__main__":
    main()
