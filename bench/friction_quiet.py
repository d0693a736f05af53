"""False alarms of the per-page friction detectors on quiet in-app traffic, against their budget.

The detectors (``server/widget/detectors.py``) promise about ``friction.weekly_false_alarms`` (default 1)
false alarms a week over all of a tenant's pages and signals. This benchmark counts what they raise on
traffic with no incident at all: the demo's session model (``server/demo/stream.py``), where a few
sessions in a hundred meet their page's failure: on Billing and Invoices a request that fails at every
click, clicked again in one to three angry bursts (failed requests and rage clicks), on Upgrade a Continue
that sends nothing (rage clicks alone). So counts cluster by session: an hour's rage clicks vary about
twice, and its failed requests (at most five a session counted) about five times as much as a Poisson
count of the same mean.

Each seed is one tenant: ``--hours`` of sessions at ``--sessions-per-hour`` starting on the demo's three
product pages (half of the failing ones on Billing and Invoices then read the help tip's article, where
nothing fails), fed to a detector event by event in time order, as the widget stage feeds it. An alarm is a (page,
signal, hour) that crossed the threshold; every alarm here is false. Tested hours are counted from the
end of each series' warm-up.

Beside the product, in the same run and on the same events: the same detector judging hours by their
count alone (``per_visitor=False``, as it did before it learnt each page's share of failing visitors),
and the baseline, that hourly detector with the statistics it had before (river's ``EWMean``/``EWVar``,
which start from a series' first hour, partial hour included, and still give it 62% of the weight after
a day).

With ``--daily-cycle`` the sessions follow the day (10% of the peak rate at night): the hourly detectors
have no daily seasonality, the per-visitor one follows the traffic.

Run ``python bench/friction_quiet.py [--seeds 40] [--hours 72] [--warmup 24] [--daily-cycle] [--write]``.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from datetime import datetime, timezone
from pathlib import Path

from river import stats
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import update_section  # noqa: E402
from server.demo.stream import TrafficModel  # noqa: E402
from server.widget.detectors import FADING, PageFrictionDetector  # noqa: E402
from server.widget.features import SIGNALS  # noqa: E402
from server.widget.settings import page_path  # noqa: E402

END = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
WEEK_HOURS = 168.0


class RiverBaseline(PageFrictionDetector):
    """The detector with river's EW statistics from each series' first (partial) hour."""

    def observe(self, path: str, signal: str, session_id: str, user: str | None, ts: float):  # type: ignore[override]
        new = (path, signal) not in self.series
        alarm = super().observe(path, signal, session_id, user, ts)
        if new and (path, signal) in self.series:
            s = self.series[(path, signal)]
            s.mean, s.var, s.first = stats.EWMean(fading_factor=FADING), stats.EWVar(fading_factor=FADING), False
        return alarm


def daily(hour: float) -> float:
    """Traffic through the day relative to its peak: 10% at night, 100% at 14:00 UTC.

    >>> round(daily(14.0), 2), round(daily(2.0), 2)
    (1.0, 0.1)
    """
    return 0.1 + 0.9 * math.exp(-(((hour % 24) - 14) / 4.0) ** 2)


def run(seeds: int, hours: float, warmup: int, sessions_per_hour: float,
        daily_cycle: bool = False) -> dict[str, dict[str, float]]:
    out = {name: {"alarms": 0, "pages": 0, "tested_weeks": 0.0} for name in ("product", "hourly", "baseline")}
    for seed in tqdm(range(seeds), desc="tenants", unit="tenant", file=sys.stderr):
        model = TrafficModel(seed=seed, sessions_per_minute=sessions_per_hour / 60)
        sessions = list(model.session_history(END, hours))
        if daily_cycle:  # thin the peak-rate traffic by the time of day
            keep = random.Random(seed)
            sessions = [s for s in sessions if keep.random() < daily(s["events"][0]["ts"].hour
                                                                      + s["events"][0]["ts"].minute / 60)]
        events = sorted(((e["ts"].timestamp(), s["session_id"], e) for s in sessions for e in s["events"]),
                        key=lambda x: x[0])
        for name, det in (("product", PageFrictionDetector(warmup_hours=warmup)),
                          ("hourly", PageFrictionDetector(warmup_hours=warmup, per_visitor=False)),
                          ("baseline", RiverBaseline(warmup_hours=warmup, per_visitor=False))):
            alarmed: set[tuple[str, str, float]] = set()
            for ts, sid, e in events:  # as the widget stage feeds them: every event is a visit
                path = page_path(e["url"])
                det.seen(ts)
                det.visit(path, sid, ts)
                if e["type"] in SIGNALS:
                    a = det.observe(path, e["type"], sid, e["user_id"], ts)
                    if a:
                        alarmed.add((a.path, a.signal, a.hour_start))
            det.closed_hours(END.timestamp())
            out[name]["alarms"] += len(alarmed)
            out[name]["pages"] += len({(path, hour) for path, _signal, hour in alarmed})  # incidents: one a page
            # A tenant-week of testing is a week in which its series were tested (after the warm-up).
            out[name]["tested_weeks"] += max(0.0, hours - warmup - 1) / WEEK_HOURS
    for r in out.values():
        r["per_week"] = r["alarms"] / r["tested_weeks"] if r["tested_weeks"] else float("nan")
        r["pages_per_week"] = r["pages"] / r["tested_weeks"] if r["tested_weeks"] else float("nan")
    return out


def poisson_interval(k: int) -> tuple[float, float]:
    """Exact 95% interval of a Poisson mean having seen ``k`` events."""
    from scipy.stats import chi2
    lo = 0.0 if k == 0 else chi2.ppf(0.025, 2 * k) / 2
    return lo, chi2.ppf(0.975, 2 * k + 2) / 2


def render(res: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    p, b = res["product"], res["baseline"]
    ratio = b["per_week"] / p["per_week"] if p["per_week"] else float("inf")
    cycle = " --daily-cycle" if args.daily_cycle else ""
    rate = (f"{args.sessions_per_hour:g} an hour at the daily peak (14:00 UTC), 10% of that at night"
            if args.daily_cycle else f"{args.sessions_per_hour:g} an hour")
    lines = [
        f"Command: `python bench/friction_quiet.py --seeds {args.seeds} --hours {args.hours:g} "
        f"--warmup {args.warmup} --sessions-per-hour {args.sessions_per_hour:g}{cycle} --write` "
        f"({datetime.now(timezone.utc):%Y-%m-%d})",
        "",
        f"{args.seeds} tenants, each {args.hours:g} hours of the demo's quiet sessions "
        f"({rate}, over three product pages, 3% meeting their page's failure: on Billing and Invoices a request "
        f"failing at every click of 1-3 angry bursts, on Upgrade rage clicks alone), "
        f"warm-up {args.warmup} hours, budget 1 false alarm a week per tenant (the default). Every alarm is false.",
        "",
        "| detector | alarms (page, signal, hour) | a week (95% interval) | incidents (page, hour) | a week | "
        "tenant-weeks tested | budget a week |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in (("product (share of the page's visitors, once learnt)", p),
                     ("hourly (count against the hour's warm-started EW mean and variance; the product before)",
                      res["hourly"]),
                     ("baseline (hourly, river EWMean/EWVar from the first hour)", b)):
        lo, hi = poisson_interval(r["alarms"])
        w = r["tested_weeks"]
        lines.append(f"| {label} | {r['alarms']} | {r['per_week']:.2f} ({lo / w:.2f}-{hi / w:.2f}) | {r['pages']} | "
                     f"{r['pages_per_week']:.2f} | {w:.1f} | 1 |")
    h = res["hourly"]
    lines += [
        "",
        f"Baseline / product false alarms a week: {ratio:.1f}x; incidents a week, product {p['pages_per_week']:.2f} "
        f"against {h['pages_per_week']:.2f} for the hourly detector. An alarm is a (page, signal, hour) past the "
        "threshold; incidents count one a page and hour, as they open (a page's signals share one incident). "
        "In this traffic a failing session on Billing or Invoices meets both failed requests and rage clicks, so "
        "the per-visitor test, which counts sessions, raises the two signals' alarms together: read incidents.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--hours", type=float, default=72.0)
    ap.add_argument("--warmup", type=int, default=24)
    ap.add_argument("--sessions-per-hour", type=float, default=720.0, help="at the daily peak with --daily-cycle")
    ap.add_argument("--daily-cycle", action="store_true",
                    help="traffic follows the day: 10%% of the peak at night, the peak at 14:00 UTC")
    ap.add_argument("--write", action="store_true", help="write the figures into bench/RESULTS.md")
    args = ap.parse_args(argv)
    text = render(run(args.seeds, args.hours, args.warmup, args.sessions_per_hour, args.daily_cycle), args)
    print(text)
    if args.write:
        suffix = ", with a daily cycle" if args.daily_cycle else ""
        update_section(f"Friction detectors on quiet traffic{suffix} (`bench/friction_quiet.py`)", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
