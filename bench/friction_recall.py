"""Recall and delay of the per-page friction detectors on surges of friction, by day and by night.

``bench/friction_quiet.py`` counts false alarms on traffic without incidents; this benchmark asks the other
question: when a page starts failing for more of its visitors, how often and how fast do the detectors
notice? Each seed is one tenant with the demo's session model (``server/demo/stream.py``: sessions start on
three product pages and 3% meet their page's failure, ``TrafficModel.friction``: on Billing and Invoices a
request that fails at every click, clicked again in one to three angry bursts, so failed requests and rage
clicks; on Upgrade a Continue that sends nothing, so rage clicks alone; half of those on Billing and
Invoices then read the help tip's article and come back) following the day (``--peak`` sessions an hour at
14:00 UTC, 10% of that at night). After ``--warmup`` hours of that traffic, one surge starts at a random
minute of the next day on a random product page: for ``--minutes`` minutes each new session on the page
meets the page's failure, as the model's failing sessions do, with probability ``--share`` on top of the
usual 3%. The detectors see every event in time order, as the widget stage feeds them (page views too).

A surge is found when its page raises an alarm (any signal) between its start and 30 minutes after its
end; the delay is from its start to that alarm. Alarms on other pages, or outside that span, are false;
they are reported per tenant-week beside the recall (the budget is 1 a week). The surges are reported by
the hour of day they start in (day 08:00-20:00 UTC, night otherwise) and by size (the extra failing
sessions they held).

Beside the product, on the same events in the same run, the baseline: the detector as it was before
it learnt each page's failures per session on the page (an hour's count against the hour's learnt mean,
whatever the traffic): the same detector with ``per_visitor=False``.

Run ``python bench/friction_recall.py [--seeds 60] [--share 0.1] [--minutes 60] [--write]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.friction_quiet import daily, poisson_interval  # noqa: E402
from bench.results import update_section  # noqa: E402
from server.demo.stream import PAGES, TrafficModel  # noqa: E402
from server.widget.detectors import PageFrictionDetector  # noqa: E402
from server.widget.features import SIGNALS  # noqa: E402
from server.widget.settings import page_path  # noqa: E402

START = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
WEEK_HOURS = 168.0
#: How long after a surge's end an alarm on its page still counts as finding it.
GRACE = timedelta(minutes=30)


def tenant_events(seed: int, warmup: int, peak: float, share: float, minutes: float
                  ) -> tuple[list[tuple[float, str, dict[str, Any]]], dict[str, Any]]:
    """One tenant's events (time, session, event) in order and its surge: page, start, end, extra sessions."""
    rng = random.Random(10_000 + seed)
    hours = warmup + 24 + 2
    end = START + timedelta(hours=hours)
    model = TrafficModel(seed=seed, sessions_per_minute=peak / 60)
    sessions = [s for s in model.session_history(end, hours)
                if rng.random() < daily(s["events"][0]["ts"].hour + s["events"][0]["ts"].minute / 60)]
    page = rng.choice(list(PAGES))
    start = START + timedelta(hours=warmup, minutes=rng.randrange(24 * 60))
    stop = start + timedelta(minutes=minutes)
    extra = 0
    for s in sessions:
        first = s["events"][0]
        if first["url"].endswith(page) and start <= first["ts"] < stop and rng.random() < share:
            if any(e["type"] in SIGNALS for e in s["events"]):
                continue  # already failing: the surge adds nothing to it
            customer = {"id": first["user_id"], "org_id": first["account_id"]}
            for k, e in enumerate(model.friction(s["events"][-1]["ts"], page, customer)):
                s["events"].append({**e, "id": f"x{extra}-{k}"})
            extra += 1
    events = sorted(((e["ts"].timestamp(), s["session_id"], e) for s in sessions for e in s["events"]),
                    key=lambda x: x[0])
    return events, {"page": page, "start": start, "end": stop, "extra": extra, "hours": hours}


def feed(det: PageFrictionDetector, events: list[tuple[float, str, dict[str, Any]]]
         ) -> list[tuple[str, float]]:
    """Every event to the detector as the widget stage gives it; the alarms (page, time)."""
    alarms = []
    for ts, sid, e in events:
        det.seen(ts)
        path = page_path(e["url"])
        if e["type"] in SIGNALS:
            a = det.observe(path, e["type"], sid, e["user_id"], ts)
            if a:
                alarms.append((a.path, ts))
        elif e["type"] == "page_view":
            det.visit(path, sid, ts)
    return alarms


def run(seeds: int, warmup: int, peak: float, share: float, minutes: float) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for seed in tqdm(range(seeds), desc="tenants", unit="tenant", file=sys.stderr):
        events, surge = tenant_events(seed, warmup, peak, share, minutes)
        row = {"seed": seed, **surge}
        lo, hi = surge["start"].timestamp(), (surge["end"] + GRACE).timestamp()
        tested_from = (START + timedelta(hours=warmup)).timestamp()
        for name, det in (("product", PageFrictionDetector(warmup_hours=warmup - 2)),
                          ("baseline", PageFrictionDetector(warmup_hours=warmup - 2, per_visitor=False))):
            alarms = feed(det, events)
            found = [ts for path, ts in alarms if path == surge["page"] and lo <= ts <= hi]
            row[name] = (min(found) - lo) / 60 if found else None
            # false: after the warm-up, elsewhere or outside the surge's span; one per (page, hour)
            row[name + "_false"] = len({(path, int(ts // 3600)) for path, ts in alarms
                                        if ts >= tested_from and not (path == surge["page"] and lo <= ts <= hi)})
        rows.append(row)
    return {"rows": rows, "tested_weeks": seeds * (24 + 2) / WEEK_HOURS}


def _recall(rows: list[dict[str, Any]], name: str) -> str:
    if not rows:
        return "–"
    found = [r[name] for r in rows if r[name] is not None]
    delay = f"{statistics.median(found):.0f}" if found else "–"
    return f"{len(found)}/{len(rows)} ({100 * len(found) / len(rows):.0f}%) | {delay}"


def render(res: dict[str, Any], args: argparse.Namespace) -> str:
    rows = res["rows"]
    day = [r for r in rows if 8 <= r["start"].hour < 20]
    night = [r for r in rows if not 8 <= r["start"].hour < 20]
    sizes = sorted(r["extra"] for r in rows)
    cut = sizes[len(sizes) // 2] if sizes else 0
    small = [r for r in rows if r["extra"] < cut]
    large = [r for r in rows if r["extra"] >= cut]
    lines = [
        f"Command: `python bench/friction_recall.py --seeds {args.seeds} --warmup {args.warmup} --peak {args.peak:g} "
        f"--share {args.share:g} --minutes {args.minutes:g} --write` ({datetime.now(timezone.utc):%Y-%m-%d})",
        "",
        f"{args.seeds} tenants, each {args.warmup} hours of the demo's sessions following the day ({args.peak:g} an hour "
        f"at 14:00 UTC, 10% of that at night, over three product pages, 3% meeting their page's failure: on Billing "
        f"and Invoices a request failing at every click of 1-3 angry bursts, on Upgrade rage clicks alone), "
        f"then one surge at a random minute of the next day: for {args.minutes:g} minutes, a further "
        f"{100 * args.share:g}% of the sessions on one page meet its failure "
        f"(median {statistics.median(sizes) if sizes else 0:g} extra failing sessions, {min(sizes, default=0)}"
        f"-{max(sizes, default=0)}). Found: an alarm on the page from the surge's start to 30 minutes after its end.",
        "",
        "| surges | n | product (per visitor) found | median delay, min | hourly (before) found | median delay, min |",
        "|---|---|---|---|---|---|",
    ]
    for label, part in (("all", rows), ("day (08-20 UTC)", day), ("night", night),
                        (f"under {cut} extra failing sessions", small), (f"{cut} or more", large)):
        lines.append(f"| {label} | {len(part)} | {_recall(part, 'product')} | {_recall(part, 'baseline')} |")
    w = res["tested_weeks"]
    lines += ["", "| false alarms (page-hours outside the surge) | count | a week (95% interval) |", "|---|---|---|"]
    for name, label in (("product", "product (per visitor)"), ("baseline", "hourly (before)")):
        k = sum(r[name + "_false"] for r in rows)
        lo, hi = poisson_interval(k)
        lines.append(f"| {label} | {k} | {k / w:.2f} ({lo / w:.2f}-{hi / w:.2f}) |")
    lines += ["", f"Tenant-weeks tested: {w:.2f} (the surge's day and two hours more per tenant); budget 1 a week."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=48)
    ap.add_argument("--peak", type=float, default=720.0, help="sessions an hour at 14:00 UTC")
    ap.add_argument("--share", type=float, default=0.1, help="extra share of the page's sessions failing")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--write", action="store_true", help="write the figures into bench/RESULTS.md")
    args = ap.parse_args(argv)
    text = render(run(args.seeds, args.warmup, args.peak, args.share, args.minutes), args)
    print(text)
    if args.write:
        update_section("Friction detectors on surges, by day and night (`bench/friction_recall.py`)", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
