"""Sidebar benchmark: the ticket-context endpoint under a steady 100 requests/s, beside /healthz.

What it does:

1. builds a database (SQLite in a temporary directory, or ``--database-url``) with one tenant and a
   realistic volume written through the detector's writers (`server.zendesk.sample`): by default
   40 topics, 6,000 tickets, 30 open incidents with 40 tickets each and two weeks of hourly volume
   per topic; and, for half the tickets (``--in-app-share``), two widget sessions of the requester
   before the ticket (one stuck on a failing page and shown a help nudge), so those context calls
   read the "In the app before this ticket" card too; then stores the accounts reports the detector
   would (``refresh_all_reports``, every five minutes in a deployment), which the account note reads;
2. starts ``groundswell serve --no-detector`` (gunicorn, the deployed configuration) on a free
   loopback port;
3. from this process (a separate one), sends an open-loop schedule: ``--rate`` ticket-context
   requests per second (random tickets: attached to an incident, on a topic with an incident, or
   on a calm topic) and ``--trivial-rate`` ``/healthz`` requests per second, interleaved, for
   ``--seconds`` after a warm-up. Requests go out on schedule from a pool of keep-alive
   connections; a late request counts its wait in its latency (no coordinated omission);
4. prints p50/p90/p99/max per endpoint and the ratio of the context endpoint's to /healthz's,
   measured in the same run (this machine is shared and noisy). Goal: context p99 under 50 ms.

``--write`` records the figures in bench/RESULTS.md (section "Sidebar context").
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import random
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.ingest import free_port, groundswell_argv, start_group, stop_group, wait_ready  # noqa: E402
from bench.results import update_section  # noqa: E402

SECRET_KEY = "bench-sidebar-secret-key"


def build(url: str, args: argparse.Namespace) -> tuple[str, Any, list[str], float]:
    """Migrate, create the tenant and write the sample; returns (api token, the sample, the tickets
    with in-app sessions, seconds)."""
    from server import migrate
    from server.accounts.service import refresh_all_reports
    from server.db import Base, Database
    from server.tenants import create_tenant
    from server.zendesk.sample import write_requester_sessions, write_sample

    import server.models  # noqa: F401

    started = time.perf_counter()
    db = Database(url)
    with db.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate.upgrade(db)
    with db.session() as s:
        tenant, creds = create_tenant(s, "Bench", secret_key=SECRET_KEY, slug="bench", zendesk_subdomain="bench")
        s.commit()
        tenant_id = tenant.id
    per_topic = max(1, args.tickets // args.topics)
    sample = write_sample(db, tenant_id, now=datetime.now(timezone.utc), topics=args.topics,
                          tickets_per_topic=per_topic, incidents=args.incidents,
                          tickets_per_incident=min(per_topic, 40), history_hours=14 * 24, xss=False)
    rng = random.Random(args.seed + 1)
    in_app = [z for z in sample.ticket_ids if rng.random() < args.in_app_share]
    for z in in_app:
        write_requester_sessions(db, tenant_id, z, ticket_at=sample.tickets[z]["created_at"])
    refresh_all_reports(db)
    db.dispose()
    return str(creds.api_token), sample, in_app, time.perf_counter() - started


def schedule(args: argparse.Namespace, tickets: list[str], rng: random.Random) -> list[tuple[float, str]]:
    """(offset in seconds, path) for warm-up plus window, sorted by time."""
    total = args.warmup + args.seconds
    plan = [(i / args.rate, f"/api/v1/tickets/{rng.choice(tickets)}/context") for i in range(int(total * args.rate))]
    plan += [(i / args.trivial_rate + 0.5 / args.trivial_rate, "/healthz")
             for i in range(int(total * args.trivial_rate))]
    return sorted(plan)


def drive(base: str, token: str, plan: list[tuple[float, str]], connections: int,
          warmup: float) -> dict[str, dict[str, list[float] | int]]:
    jobs: queue.Queue[tuple[float, str] | None] = queue.Queue()
    results: dict[str, dict[str, list[float] | int]] = {
        "context": {"ms": [], "errors": 0}, "healthz": {"ms": [], "errors": 0}}
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def worker() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while True:
            job = jobs.get()
            if job is None:
                return
            due, path = job
            wait = start + due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                ok = session.get(base + path, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            ms = (time.perf_counter() - (start + due)) * 1000.0  # from when it was due: lateness counts
            if due < warmup:
                continue
            kind = "healthz" if path == "/healthz" else "context"
            with lock:
                results[kind]["ms"].append(ms)  # type: ignore[union-attr]
                if not ok:
                    results[kind]["errors"] += 1  # type: ignore[operator]

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for th in threads:
        th.start()
    for job in plan:
        jobs.put(job)
    for _ in threads:
        jobs.put(None)
    for th in threads:
        th.join()
    return results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="Context requests per second.")
    parser.add_argument("--trivial-rate", type=float, default=25.0, help="/healthz requests per second.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Measured window.")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--topics", type=int, default=40)
    parser.add_argument("--tickets", type=int, default=6000)
    parser.add_argument("--incidents", type=int, default=30)
    parser.add_argument("--in-app-share", type=float, default=0.5,
                        help="Share of tickets whose requester has widget sessions before the ticket.")
    parser.add_argument("--connections", type=int, default=16, help="Keep-alive connections of the load.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers.")
    parser.add_argument("--database-url", default="", help="Default: SQLite in a temporary directory.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3,
                        help="Measured windows, one after another against the same server (this machine is "
                             "shared: the table pools them and each round's p99 is listed).")
    parser.add_argument("--write", action="store_true", help="Record the figures in bench/RESULTS.md.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gs-bench-sidebar-") as tmp:
        url = args.database_url or "sqlite:///" + str(Path(tmp) / "bench.db")
        token, sample_data, in_app, build_s = build(url, args)
        tickets = sample_data.ticket_ids
        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, INSTANCE_PATH=tmp, LOG_LEVEL="WARNING",
                   LOG_FORMAT="text", RATE_LIMIT_API="100000/second", PORT=str(port), WEB_WORKERS=str(args.workers))
        log_path = Path(tmp) / "server.log"
        proc = start_group(groundswell_argv("serve", "--no-detector", "--port", str(port)), env, log_path)
        try:
            wait_ready(port, proc, log_path)
            base = f"http://127.0.0.1:{port}"
            sample = requests.get(f"{base}/api/v1/tickets/{sample_data.incident_tickets[1][0]}/context",
                                  headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert sample.status_code == 200 and sample.json()["incidents"], sample.text[:300]
            if in_app:
                card = requests.get(f"{base}/api/v1/tickets/{in_app[0]}/context",
                                    headers={"Authorization": f"Bearer {token}"}, timeout=10)
                assert card.status_code == 200 and len(card.json()["in_app"]["sessions"]) == 2, card.text[:300]
            rounds = [drive(base, token, schedule(args, tickets, random.Random(args.seed + r)), args.connections,
                            args.warmup) for r in range(args.rounds)]
        finally:
            stop_group(proc)

    rows = []
    for name in ("context", "healthz"):
        ms = [v for r in rounds for v in r[name]["ms"]]
        rows.append((name, len(ms), len(ms) / (args.seconds * args.rounds), pct(ms, 0.5), pct(ms, 0.9),
                     pct(ms, 0.99), max(ms), sum(r[name]["errors"] for r in rounds)))
    per_round = ", ".join(f"{pct(r['context']['ms'], 0.99):.1f} / {pct(r['healthz']['ms'], 0.99):.1f}"
                          for r in rounds)
    ctx, hz = rows
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    db_name = "postgresql" if url.startswith("postgresql") else "sqlite"
    lines = [
        f"Command: `.venv/bin/python bench/sidebar.py{' --write' if args.write else ''}` ({when}; "
        f"{platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}; {db_name}; "
        f"`groundswell serve --no-detector`, {args.workers} gunicorn workers; data: {args.topics} topics, "
        f"{len(tickets):,} tickets, {args.incidents} open incidents, 14 days of hourly volume per topic, "
        f"{len(in_app):,} tickets with two widget sessions of their requester before them, "
        f"written in {build_s:.1f} s; open-loop schedule, {args.connections} keep-alive connections, "
        f"warm-up {args.warmup:g} s, {args.rounds} windows of {args.seconds:g} s pooled)",
        "",
        "| endpoint | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n, rate, p50, p90, p99, worst, errors in rows:
        label = "GET /api/v1/tickets/<id>/context" if name == "context" else "GET /healthz (trivial)"
        lines.append(f"| {label} | {n:,} | {rate:.1f} | {p50:.1f} | {p90:.1f} | {p99:.1f} | {worst:.1f} | {errors} |")
    lines += ["", f"Context vs /healthz in the same run: p50 x{ctx[3] / hz[3]:.2f}, p99 x{ctx[5] / hz[5]:.2f}. "
              f"Goal p99 < 50 ms: {'met' if ctx[5] < 50 else 'NOT met'} ({ctx[5]:.1f} ms). p99 of each window, "
              f"context / healthz ms: {per_round}."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        update_section("Sidebar context (`bench/sidebar.py`)", text)


if __name__ == "__main__":
    main()
