"""Account changes: recall and false flags of the accounts report against two common rules, in one run.

What it measures:

1. **Simulated tenants** (``--tenants``, one report each): ``--accounts`` accounts whose sizes are
   log-normal (a median of 2.7 a window, a long tail of big customers), ``--weeks`` past windows and
   the current one; each account's rate moves from window to window by a gamma factor (CV 30%), and the
   whole tenant by its own (CV 10%); in a fifth of the reports the current window is an outage week in
   which every account writes 2.5 times as much. In each report three accounts churn (their current
   rate falls to 15%; chosen among accounts of at least 5 a window) and three surge (3.5 times; at least
   2 a window). A flag on one of them in its direction finds it; any other flag is false.
2. **Real counts** (NAB realTweets, ``$GROUNDSWELL_DATASETS/nab``, by default ``../shared/datasets``): ten companies' Twitter mentions as ten
   accounts, in day windows, each day judged against the same weekday of the 4 weeks before (as the
   report does with windows shorter than a week); a day holding one of NAB's labelled
   anomalies of that company is a change to find (a flag on it either way finds it); a flag on any
   other day is counted apart, not called false: the labels mark what NAB's labellers judged anomalous
   in hourly counts, and a company's ordinary week-to-week swings in daily counts are not labelled at
   all. Read it as how often each rule speaks on real, unruly counts, and how much of what was labelled
   it catches.

Side by side, on the same counts:

- **ours**: ``server.accounts.changes.flag_changes`` with the product's defaults (FDR 5%, a change of
  at least 1.5x);
- **week over week**: flag when the window is at least twice the one before (and at least 5), or at
  most half of it (from at least 5): the rule a spreadsheet or a BI alert applies;
- **own z-score**: flag when the window is 3 standard deviations from the account's own past windows'
  mean (standard deviation at least 1), with the same least change as ours; no tenant, no multiplicity.

    python bench/accounts.py [--tenants 200] [--write]

``--write`` records the figures in bench/RESULTS.md (section "Account changes").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from server.accounts.changes import flag_changes  # noqa: E402

NAB = Path(os.environ.get("GROUNDSWELL_DATASETS", REPO.parent / "shared" / "datasets")) / "nab"
Counts = dict[str, tuple[int, list[int]]]
#: A detector: counts of one signal -> {(account, direction)} flagged.
Detector = Callable[[Counts], set[tuple[str, str]]]


def ours(counts: Counts) -> set[tuple[str, str]]:
    totals = (sum(x for x, _ in counts.values()),
              [sum(b[k] for _, b in counts.values()) for k in range(len(next(iter(counts.values()))[1]))])
    return {(f.account, f.direction) for f in flag_changes({"n": counts}, {"n": totals}).flags}


def week_over_week(counts: Counts) -> set[tuple[str, str]]:
    out = set()
    for a, (x, base) in counts.items():
        prev = base[-1]
        if x >= 5 and x >= 2 * prev:
            out.add((a, "up"))
        elif prev >= 5 and x <= prev / 2:
            out.add((a, "down"))
    return out


def own_z(counts: Counts) -> set[tuple[str, str]]:
    out = set()
    for a, (x, base) in counts.items():
        mean, sd = float(np.mean(base)), max(1.0, float(np.std(base, ddof=1)))
        if x >= 3 and x >= 1.5 * mean and (x - mean) / sd >= 3:
            out.add((a, "up"))
        elif mean >= 3 and x <= mean / 1.5 and (mean - x) / sd >= 3:
            out.add((a, "down"))
    return out


DETECTORS: dict[str, Detector] = {"ours": ours, "week over week": week_over_week, "own z-score": own_z}


def simulated(rng: np.random.Generator, accounts: int, weeks: int,
              length: int = 1) -> tuple[Counts, set[tuple[str, str]], bool]:
    """One report's counts, the changes injected and whether it is an outage window. ``length``: windows
    of that many weeks (an account's size times ``length``; weekly rate factors averaged over them)."""
    sizes = rng.lognormal(1.0, 1.0, accounts)
    tenant = rng.gamma(100, 1 / 100, weeks + 1)
    outage = bool(rng.random() < 0.2)
    if outage:
        tenant[-1] *= 2.5
    change = np.ones(accounts)
    truth = set()
    big = [i for i in range(accounts) if sizes[i] >= 5]
    some = [i for i in range(accounts) if sizes[i] >= 2]
    sizes = sizes * length
    churn = rng.choice(big, size=min(3, len(big)), replace=False)
    surge = rng.choice([i for i in some if i not in set(churn)], size=3, replace=False)
    for i in churn:
        change[i] = 0.15
        truth.add((f"a{i}", "down"))
    for i in surge:
        change[i] = 3.5
        truth.add((f"a{i}", "up"))
    cv2 = 0.09 / length
    rates = sizes[:, None] * rng.gamma(1 / cv2, cv2, (accounts, weeks + 1)) * tenant[None, :]
    rates[:, -1] *= change
    c = rng.poisson(rates)
    return {f"a{i}": (int(c[i, -1]), [int(v) for v in c[i, :-1]]) for i in range(accounts)}, truth, outage


def score(flags: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[int, int, int, int]:
    """(churns found, surges found, false flags, any false flag)."""
    found = flags & truth
    false = len(flags - truth)
    return (sum(d == "down" for _, d in found), sum(d == "up" for _, d in found), false, int(false > 0))


KINDS = ("week, calm", "week, outage", "4 weeks, calm", "4 weeks, outage")


def run_simulated(tenants: int, accounts: int, weeks: int, seed: int) -> dict[str, dict[str, dict[str, float]]]:
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    sums: dict[str, dict[str, list[int]]] = {kind: {d: [0, 0, 0, 0, 0] for d in DETECTORS} for kind in KINDS}
    for t in tqdm(range(2 * tenants), desc="simulated reports"):
        length = 1 if t < tenants else 4
        counts, truth, outage = simulated(rng, accounts, weeks, length)
        kind = ("week" if length == 1 else "4 weeks") + (", outage" if outage else ", calm")
        for name, detect in DETECTORS.items():
            s = sums[kind][name]
            for j, v in enumerate(score(detect(counts), truth)):
                s[j] += v
            s[4] += 1
    out: dict[str, dict[str, dict[str, float]]] = {}
    for kind, per in sums.items():
        out[kind] = {}
        for name, (churn, surge, false, any_false, n) in per.items():
            out[kind][name] = {"reports": n, "churn": churn / max(1, 3 * n), "surge": surge / max(1, 3 * n),
                               "false_per_report": false / max(1, n), "any_false": any_false / max(1, n),
                               "precision": (churn + surge) / max(1, churn + surge + false)}
    return out


def nab_days() -> tuple[dict[str, list[int]], list[datetime], dict[str, set[int]]]:
    """Each company's daily mention counts (whole UTC days), the days, and its labelled days."""
    labels = json.loads((NAB / "labels" / "combined_labels.json").read_text())
    daily: dict[str, dict[datetime, int]] = {}
    for path in sorted((NAB / "data" / "realTweets").glob("*.csv")):
        per: dict[datetime, int] = defaultdict(int)
        for line in path.read_text().splitlines()[1:]:
            stamp, value = line.split(",")
            per[datetime.strptime(stamp[:10], "%Y-%m-%d")] += int(float(value))
        daily[path.stem.replace("Twitter_volume_", "")] = per
    days = sorted(set.intersection(*(set(d) for d in daily.values())))[1:-1]  # whole days only
    index = {d: i for i, d in enumerate(days)}
    series = {c: [per[d] for d in days] for c, per in daily.items()}
    marked: dict[str, set[int]] = {}
    for name, stamps in labels.items():
        if "realTweets" in name:
            company = Path(name).stem.replace("Twitter_volume_", "")
            marked[company] = {index[d] for d in (datetime.strptime(s[:10], "%Y-%m-%d") for s in stamps) if d in index}
    return series, days, marked


def run_nab(weeks: int = 4) -> dict[str, dict[str, float]]:
    """Each day against the same weekday of the ``weeks`` weeks before (as the report does with windows
    shorter than a week)."""
    series, days, marked = nab_days()
    out = {}
    first = 7 * weeks
    testable = sum(1 for c, m in marked.items() for d in m if d >= first)
    for name, detect in DETECTORS.items():
        found = false = down = 0
        for t in range(first, len(days)):
            counts = {c: (s[t], [s[t - 7 * k] for k in range(weeks, 0, -1)]) for c, s in series.items()}
            for company, direction in detect(counts):
                if t in marked.get(company, set()):
                    found += 1
                else:
                    false += 1
                    down += direction == "down"
        out[name] = {"found": found, "labelled": testable, "false": false, "down": down, "reports": len(days) - first}
    return out


def render(sim: Mapping[str, Mapping[str, Mapping[str, float]]], nab: Mapping[str, Mapping[str, float]],
           command: str, seconds: float, accounts: int, weeks: int) -> str:
    lines = [f"Command: `{command}` ({datetime.now():%Y-%m-%d}, {seconds:.0f} s)", "",
             f"**Simulated tenants**: {accounts} accounts each, {weeks} past windows; three churns (to 15%) and three "
             "surges (3.5x) per report; in about a fifth of the reports every account writes 2.5 times as much "
             "(an outage week). Week windows, then 4-week windows (the same accounts' rates over four weeks: "
             "four times the count, weekly variation averaged).", "",
             "| report | detector | reports | churns found | surges found | false flags a report | reports with a false flag | precision |",
             "|---|---|---|---|---|---|---|---|"]
    for kind in KINDS:
        for name, r in sim[kind].items():
            lines.append(f"| {kind} | {name} | {r['reports']:.0f} | {100 * r['churn']:.0f}% | {100 * r['surge']:.0f}% | "
                         f"{r['false_per_report']:.2f} | {100 * r['any_false']:.0f}% | {100 * r['precision']:.0f}% |")
    first = next(iter(nab.values()))
    lines += ["", f"**NAB realTweets** (ten companies as ten accounts, {first['reports']:.0f} daily reports, each day "
              f"against the same weekday of the 4 weeks before; {first['labelled']:.0f} labelled company-days to find):", "",
              "| detector | labelled days found | other days flagged | of which down | flags on other days a report |",
              "|---|---|---|---|---|"]
    for name, r in nab.items():
        lines.append(f"| {name} | {r['found']:.0f}/{r['labelled']:.0f} | {r['false']:.0f} | {r['down']:.0f} | "
                     f"{r['false'] / r['reports']:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="record the results in bench/RESULTS.md")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    sim = run_simulated(args.tenants, args.accounts, args.weeks, args.seed)
    nab = run_nab() if NAB.exists() else {}
    command = "python bench/accounts.py " + " ".join(argv if argv is not None else sys.argv[1:])
    body = render(sim, nab, command.strip(), time.perf_counter() - started, args.accounts, args.weeks)
    print(body)
    if args.write:
        from bench.results import update_section

        update_section("Account changes (`bench/accounts.py`)", body)


if __name__ == "__main__":
    main()
