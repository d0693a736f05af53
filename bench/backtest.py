"""What a backtest from the incidents page costs, and what comparing two settings in one replay saves.

The page's backtest (``POST /api/v1/backtests``) replays a tenant's log once, embedding each ticket
once, through two sets of detectors (the stored settings and the proposal). The baseline is what the
command without ``--compare`` would take to answer the same question: two separate replays, each
embedding the tickets with a cold cache (as two runs of the command do). A third, single replay gives
the marginal cost of the second set of detectors.

Those replays embed every ticket (``stored_vectors=False``). A tenant's live detector stores each
text's vector as it embeds it, and a backtest reads those instead: the last row runs the detector over
the log first (untimed: that is what the live detector did as the tickets came), then the page's
backtest reading the stored vectors, against the same backtest embedding every ticket (first row).

The log: one seed of the incident replay's traffic (``bench/incident_traffic.py``, Banking77 texts,
about 600 tickets a day with injected incidents), written to a temporary SQLite database as live
Zendesk events. Real MiniLM embeddings on the CPU.

    python bench/backtest.py --days 14 --write

``--write`` records the figures in bench/RESULTS.md (section "Backtest from the incidents page").
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.incident_traffic import Generator, logged_events  # noqa: E402
from bench.incidents import load_texts  # noqa: E402
from bench.results import update_section  # noqa: E402
from server import migrate  # noqa: E402
from server.db import Database  # noqa: E402
from server.eventlog import SqlEventLog  # noqa: E402
from server.eventlog.log import NewEvent  # noqa: E402
from server.incidents.backtest import backtest_variants  # noqa: E402
from server.pipeline import Runner  # noqa: E402
from server.pipeline.registry import stage_factory  # noqa: E402
from server.tenants import create_tenant  # noqa: E402
from server.understand.embed import Embedder  # noqa: E402

PROPOSAL = {"sensitivity": {"spike": 0.5}, "alarm_budget_per_week": 0.5}


def build_log(db: Database, days: int, seed: int) -> tuple[int, int]:
    weeks = max(1, round(days / 7))
    traffic = Generator(load_texts("banking77"), seed=seed, warmup_weeks=max(1, weeks - 1), eval_weeks=1).build()
    events = logged_events(traffic)
    log = SqlEventLog()
    with db.session() as session:
        tenant, _ = create_tenant(session, "Bench", secret_key="bench", zendesk_subdomain="bench", origins=[])
        session.commit()
        tenant_id = tenant.id
        for i in range(0, len(events), 1000):
            for e in events[i:i + 1000]:
                log.append(session, tenant_id, [NewEvent(e.source, e.kind, e.idempotency_key, e.event_time, e.payload)],
                           e.received_at)
            session.commit()
    return tenant_id, len(events)


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=14, help="days of traffic in the log (whole weeks)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="gs-bench-backtest-")
    db = Database("sqlite:///" + str(Path(tmp.name) / "bench.db"), sqlite_synchronous="OFF")
    migrate.upgrade(db)
    tenant_id, n = build_log(db, args.days, args.seed)
    log = SqlEventLog()
    with db.session() as session:
        first, last = (e.event_time for e in (log.read(session, 0, 1, tenant_id=tenant_id)[0],
                                              log.read(session, n - 1, 1, tenant_id=tenant_id)[0]))
    since = last - timedelta(days=7)
    Embedder().embed(["warm the model up"])  # load once, outside every timing

    (pair, t_pair) = timed(lambda: backtest_variants(db, log, tenant_id, since, embed=Embedder().embed, settings=None,
                                                     variants=[None, PROPOSAL], stored_vectors=False))
    (sep_a, t_a) = timed(lambda: backtest_variants(db, log, tenant_id, since, embed=Embedder().embed, settings=None,
                                                   variants=[None], stored_vectors=False)[0])
    (sep_b, t_b) = timed(lambda: backtest_variants(db, log, tenant_id, since, embed=Embedder().embed, settings=None,
                                                   variants=[PROPOSAL], stored_vectors=False)[0])
    Runner(db, log, stage_factory(db, embed=Embedder().embed)).run_until_idle()  # the live detector stores vectors
    (kept, t_kept) = timed(lambda: backtest_variants(db, log, tenant_id, since, embed=Embedder().embed, settings=None,
                                                     variants=[None, PROPOSAL]))
    same_kept = all([(i["kind"], i["series"], i["detected_at"]) for i in a.incidents]
                    == [(i["kind"], i["series"], i["detected_at"]) for i in b.incidents] for a, b in zip(kept, pair))
    same = ([i["detected_at"] for i in pair[0].incidents] == [i["detected_at"] for i in sep_a.incidents]
            and [i["detected_at"] for i in pair[1].incidents] == [i["detected_at"] for i in sep_b.incidents])
    separate = t_a + t_b
    rows = [
        ("stored settings and the proposal in one replay (the page's backtest)", t_pair, len(pair[0].incidents),
         len(pair[1].incidents)),
        ("the stored settings alone (one replay)", t_a, len(sep_a.incidents), None),
        ("the proposal alone (one replay)", t_b, None, len(sep_b.incidents)),
        ("baseline: the two replays one after the other", separate, len(sep_a.incidents), len(sep_b.incidents)),
        ("the page's backtest reading the vectors the detector stored", t_kept, len(kept[0].incidents),
         len(kept[1].incidents)),
    ]
    text = [f"Command: `python bench/backtest.py --days {args.days}{' --write' if args.write else ''}` "
            f"({time.strftime('%Y-%m-%d')}, {platform.machine()}, Python {platform.python_version()}, SQLite)",
            "",
            f"Log: {n:,} live tickets over {(last - first).days + 1} days (incident replay traffic, seed {args.seed}); "
            f"incidents reported from the last 7 days. Proposal: `{PROPOSAL}`. Real MiniLM embeddings, "
            "a cold embedding cache for each replay, the model loaded before every timing; every replay but the "
            "last embeds every ticket.",
            "",
            "| replay | seconds | incidents, stored | incidents, proposal |",
            "|---|---:|---:|---:|"]
    for name, secs, a, b in rows:
        text.append(f"| {name} | {secs:.1f} | {'' if a is None else a} | {'' if b is None else b} |")
    text += ["",
             f"One replay for both against two: {separate / t_pair:.2f}x faster ({t_pair:.1f} s against "
             f"{separate:.1f} s); the second set of detectors costs {t_pair - t_a:.1f} s on top of a single replay "
             f"({t_pair / t_a:.2f}x one replay). Same incidents as the separate replays: {'yes' if same else 'NO'}. "
             f"Per ticket: {1000 * t_pair / n:.1f} ms for the pair, {1000 * t_a / n:.1f} ms for one replay.",
             "",
             f"Reading the stored vectors instead of embedding: {t_pair / t_kept:.2f}x faster ({t_kept:.1f} s against "
             f"{t_pair:.1f} s, {1000 * t_kept / n:.1f} ms a ticket for the pair). Same incidents as embedding every "
             f"ticket: {'yes' if same_kept else 'NO'}."]
    body = "\n".join(text)
    print(body)
    if args.write:
        update_section("Backtest from the incidents page (`bench/backtest.py`)", body)


if __name__ == "__main__":
    main()
