"""Ingest throughput benchmark: widget batches against a real ``groundswell serve``.

What is measured
----------------
How many widget events per second ``POST /api/v1/events`` durably accepts when it is run the
way it is deployed: ``groundswell serve`` (gunicorn gthread, 2 web workers, plus the detector
process) on 127.0.0.1, on the embedded SQLite file and on PostgreSQL. For each database the
bench reports

- events/s and requests/s answered 202 during the measurement window,
- p50 and p99 request latency in ms, as the client sees it,
- the number of errors (any answer other than 202, or a failed connection),
- ``lost``: the sum of ``accepted`` from the 202 answers minus the rows of the tenant in the
  ``events`` table, counted through SQLAlchemy after the server has stopped. It must be 0; the
  bench exits with status 1 when it is positive (acknowledged events missing). A negative value
  (rows stored whose 202 the client never saw, e.g. after a timeout) is printed, not a failure.

A baseline is measured in the same run: ``bench/baseline_app.py``, a Flask endpoint that reads
the same body and answers 202 with a constant JSON, served by gunicorn with the same worker and
thread settings and hit by the same load for the same duration. The table gives Groundswell's
events/s divided by the baseline's, and the ratio of their p50 latencies.

How
---
Each target is started as a subprocess in its own process group, with a temporary
INSTANCE_PATH. For Groundswell: ``groundswell db upgrade``, then ``groundswell tenant create
Bench --zendesk-subdomain bench --origin http://bench.local --json`` (the site key is read from
its JSON), then ``groundswell serve`` on a free port, with RATE_LIMIT_WIDGET high enough never
to answer 429 and LOG_LEVEL=WARNING. PostgreSQL gets a fresh database ``groundswell_bench``
(dropped and created again); it is skipped, with a note, when the server is unreachable.

The load comes from a separate process (this file, run with ``--load-worker``): several
threads, each with one keep-alive ``http.client`` connection, POST batches of 50 events with
ids unique in the whole run, so that every event is new and accepted. The load runs for a
warm-up, then for the measured duration; a request counts in the window when its answer
arrives in it. While the window is open the bench samples CPU use from ``/proc``: the web
workers, the detector, PostgreSQL, the load process, what other processes on the machine use
("other"; a warning is printed when it is noticeable, as the figures then understate the
machine), and the machine's idle, iowait and steal time.

Every process the bench starts is stopped (its whole process group) when it ends, also on
errors. Only loopback traffic is generated.

Usage
-----
``.venv/bin/python bench/ingest.py`` (20 s per target), ``--quick`` (5 s),
``--databases sqlite`` or ``--databases sqlite,postgresql`` (default), ``--web-threads N`` (default:
the WEB_THREADS setting, so ``WEB_THREADS=8 .venv/bin/python bench/ingest.py`` works too), ``--write``
(replace the Ingest section of ``bench/RESULTS.md`` with the figures, leaving other sections alone).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

HOST = "127.0.0.1"
ORIGIN = "http://bench.local"
EVENTS_PER_BATCH = 50
WEB_WORKERS = 2
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "groundswell_bench"
PG_BENCH_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
EVENT_TYPES = ("page_view", "click", "rage_click", "dead_click", "js_error", "failed_request",
               "form_submit", "navigation")
REQUEST_TIMEOUT = 30.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
OTHER_CPU_WARNING = 0.2  # cores used by processes outside the bench above which the report warns
STEAL_WARNING_PCT = 10.0  # CPU time taken by the hypervisor (steal) above which the report warns


# --------------------------------------------------------------------------------------------
# The load process
# --------------------------------------------------------------------------------------------

def batch_body(session_id: str, now_ms: int) -> bytes:
    """One widget batch of EVENTS_PER_BATCH events, as the widget sends it."""
    events = []
    for i in range(EVENTS_PER_BATCH):
        ev: dict[str, Any] = {"id": f"e{i}", "type": EVENT_TYPES[i % len(EVENT_TYPES)],
                              "ts": now_ms - 5000 + i * 100, "url": f"{ORIGIN}/app/billing/{i % 7}",
                              "title": "Billing", "target": f"button#save-{i % 5}"}
        if i % 4 == 0:
            ev["data"] = {"status": 500, "endpoint": "/api/invoices"}
        events.append(ev)
    return json.dumps({"session_id": session_id, "sent_at": now_ms, "events": events}).encode()


@dataclass
class ThreadStats:
    """What one load thread saw; the window_* fields cover the measurement window only."""

    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    window_requests: int = 0
    window_events: int = 0
    window_errors: int = 0
    window_latencies: list[float] = field(default_factory=list)

    def error(self, what: str, in_window: bool) -> None:
        self.errors += 1
        self.window_errors += in_window
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:200])


def post_once(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn.request("POST", "/api/v1/events", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.will_close:
        conn.close()
    return resp.status, data


def load_thread(spec: dict[str, Any], index: int, stats: ThreadStats) -> None:
    """POST batches until the end of the window, on one keep-alive connection."""
    conn = http.client.HTTPConnection(HOST, spec["port"], timeout=REQUEST_TIMEOUT)
    headers = {"Content-Type": "application/json", "Origin": ORIGIN,
               "X-Groundswell-Site-Key": spec["site_key"]}
    window_start, window_end = spec["window_start"], spec["window_end"]
    seq = 0
    while time.time() < window_end and seq < 10_000_000:
        seq += 1
        body = batch_body(f"{spec['run_id']}-{index}-{seq}", int(time.time() * 1000))
        started = time.perf_counter()
        try:
            status, data = post_once(conn, body, headers)
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            stats.error(f"{type(e).__name__}: {e}", time.time() >= window_start)
            time.sleep(0.05)
            continue
        elapsed, done = time.perf_counter() - started, time.time()
        in_window = window_start <= done < window_end
        stats.requests += 1
        if status != 202:
            stats.error(f"HTTP {status}: {data[:120]!r}", in_window)
            continue
        answer = json.loads(data)
        stats.accepted += int(answer.get("accepted", 0))
        stats.duplicates += int(answer.get("duplicates", 0))
        if in_window:
            stats.window_requests += 1
            stats.window_events += EVENTS_PER_BATCH
            stats.window_latencies.append(elapsed)
    conn.close()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when it is empty)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def summarize(all_stats: list[ThreadStats], duration: float) -> dict[str, Any]:
    latencies = sorted(x for s in all_stats for x in s.window_latencies)
    window_events = sum(s.window_events for s in all_stats)
    return {
        "events_per_s": window_events / duration,
        "requests_per_s": sum(s.window_requests for s in all_stats) / duration,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "window_errors": sum(s.window_errors for s in all_stats),
        "errors": sum(s.errors for s in all_stats),
        "requests": sum(s.requests for s in all_stats),
        "accepted": sum(s.accepted for s in all_stats),
        "duplicates": sum(s.duplicates for s in all_stats),
        "error_samples": [e for s in all_stats for e in s.error_samples][:5],
    }


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def load_main(spec: dict[str, Any]) -> int:
    """Entry of the load process: run the threads, report progress and the result as JSON lines."""
    now = time.time()
    spec = dict(spec, window_start=now + spec["warmup"], window_end=now + spec["warmup"] + spec["duration"])
    stats = [ThreadStats() for _ in range(spec["connections"])]
    threads = [threading.Thread(target=load_thread, args=(spec, i, s), daemon=True) for i, s in enumerate(stats)]
    for t in threads:
        t.start()
    for boundary, phase in ((spec["window_start"], "measure"), (spec["window_end"], "drain")):
        while time.time() < boundary:
            emit({"progress": time.time() - now, "events": sum(s.window_events for s in stats)})
            time.sleep(max(0.0, min(0.25, boundary - time.time())))
        emit({"phase": phase})
    deadline = spec["window_end"] + REQUEST_TIMEOUT + 5
    while any(t.is_alive() for t in threads) and time.time() < deadline:
        time.sleep(0.05)
    for t in threads:
        t.join(timeout=1)
    emit({"result": summarize(stats, spec["duration"]), "stuck_threads": sum(t.is_alive() for t in threads)})
    return 0


# --------------------------------------------------------------------------------------------
# Processes: start, wait for, stop
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def groundswell_argv(*args: str) -> list[str]:
    """The ``groundswell`` command of this venv (``python -m server.cli`` if the script is missing)."""
    script = Path(sys.executable).parent / "groundswell"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "server.cli", *args]


def start_group(argv: list[str], env: dict[str, str], log_path: Path, *, pipe: bool = False) -> subprocess.Popen:
    """Start ``argv`` as the leader of a new process group; stderr (and stdout unless piped) to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE if pipe else log, stderr=log,
                                cwd=REPO_ROOT, start_new_session=True, text=pipe)


def group_members(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = read_proc_stat(entry)
            if stat is not None and stat[1] == pgid:
                pids.append(int(entry.name))
    return pids


def stop_group(proc: subprocess.Popen | None) -> None:
    """SIGTERM the process group, wait for all its members, SIGKILL whatever remains."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None and not group_members(proc.pid):
                return
            time.sleep(0.1)


def wait_ready(port: int, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}:\n{tail(log_path)}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT:.0f} s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def run_checked(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          start_new_session=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[-3:])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


# --------------------------------------------------------------------------------------------
# CPU observation from /proc
# --------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_proc_stat(pid_dir: Path) -> tuple[str, int, int] | None:
    """(comm, pgid, utime+stime ticks) of one process, or None if it is gone."""
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, int(fields[2]), int(fields[11]) + int(fields[12])


def cmdline(pid_dir: Path) -> str:
    try:
        return (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def classify(comm: str, pgid: int, pid_dir: Path, groups: dict[int, str]) -> str | None:
    """Which part of the bench a process is: web, detector, load, postgres (None: not ours)."""
    if comm.startswith("postgres"):
        return "postgres"
    role = groups.get(pgid)
    if role in (None, "load"):
        return role
    line = cmdline(pid_dir)
    if "gunicorn" in line:
        return "web"
    return "detector" if "detector" in line else "supervisor"


def process_ticks(groups: dict[int, str]) -> dict[int, tuple[str, int]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = read_proc_stat(entry)
        if stat is None:
            continue
        role = classify(stat[0], stat[1], entry, groups)
        if role:
            out[int(entry.name)] = (role, stat[2])
    return out


def machine_ticks() -> list[int]:
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]


@dataclass
class CpuSample:
    at: float
    machine: list[int]
    procs: dict[int, tuple[str, int]]

    @classmethod
    def take(cls, groups: dict[int, str]) -> "CpuSample":
        return cls(time.monotonic(), machine_ticks(), process_ticks(groups))


def cpu_between(a: CpuSample, b: CpuSample) -> dict[str, float]:
    """Cores used by each role between two samples, plus the machine's idle and iowait (in %)."""
    seconds = max(1e-9, b.at - a.at)
    used: dict[str, float] = {}
    for pid, (role, ticks) in b.procs.items():
        before = a.procs.get(pid, (role, 0))[1]  # a process started in the window counts from 0
        used[role] = used.get(role, 0.0) + (ticks - before) / CLK_TCK / seconds
    delta = [y - x for x, y in zip(a.machine, b.machine)]
    total = max(1, sum(delta[:8]))  # user nice system idle iowait irq softirq steal
    busy_cores = (os.cpu_count() or 1) * (total - delta[3] - delta[4] - delta[7]) / total
    used["other"] = max(0.0, busy_cores - sum(used.values()))
    used["idle_pct"] = 100.0 * delta[3] / total
    used["iowait_pct"] = 100.0 * delta[4] / total
    used["steal_pct"] = 100.0 * delta[7] / total
    return used


# --------------------------------------------------------------------------------------------
# Driving one target
# --------------------------------------------------------------------------------------------

@dataclass
class Target:
    """A running server to measure: its port, process group and credentials."""

    name: str
    port: int
    proc: subprocess.Popen
    site_key: str = "baseline"


def read_lines(stream: Any, out: "queue.Queue[str | None]") -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def drive_load(target: Target, args: argparse.Namespace, workdir: Path,
               on_progress: Callable[[float, int], None]) -> dict[str, Any]:
    """Run the load process against ``target``; returns its result plus the CPU observed."""
    spec = {"port": target.port, "site_key": target.site_key, "connections": args.connections,
            "warmup": args.warmup, "duration": args.duration, "run_id": f"r{os.getpid()}{int(time.time())}"}
    argv = [sys.executable, str(Path(__file__).resolve()), "--load-worker", json.dumps(spec)]
    load = start_group(argv, dict(os.environ), workdir / f"load-{target.name}.log", pipe=True)
    try:
        return collect_load(load, target, args, on_progress)
    finally:
        stop_group(load)


def collect_load(load: subprocess.Popen, target: Target, args: argparse.Namespace,
                 on_progress: Callable[[float, int], None]) -> dict[str, Any]:
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_lines, args=(load.stdout, lines), daemon=True).start()
    groups = {target.proc.pid: "server", load.pid: "load"}
    deadline = time.monotonic() + args.warmup + args.duration + REQUEST_TIMEOUT + 30
    samples: list[CpuSample] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        msg = json.loads(line)
        if "phase" in msg:
            samples.append(CpuSample.take(groups))
        elif "progress" in msg:
            on_progress(msg["progress"], msg["events"])
        elif "result" in msg:
            if msg["stuck_threads"]:
                raise RuntimeError(f"{msg['stuck_threads']} load threads did not finish")
            cpu = cpu_between(samples[0], samples[1]) if len(samples) >= 2 else {}
            return dict(msg["result"], cpu=cpu)
    raise RuntimeError(f"the load process gave no result for {target.name}")


def with_progress(label: str, total: float, fn: Callable[[Callable[[float, int], None]], Any]) -> Any:
    """Call ``fn(on_progress)`` while a rich progress bar shows elapsed time and events/s."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rate]}"),
                  TimeRemainingColumn(), transient=True) as progress:
        task = progress.add_task(label, total=total, rate="warm-up")
        started = [0.0, 0]

        def on_progress(elapsed: float, events: int) -> None:
            if events and not started[1]:
                started[:] = [elapsed, events]
            rate = f"{(events - started[1]) / (elapsed - started[0]):,.0f} events/s" \
                if elapsed > started[0] and started[1] else "warm-up"
            progress.update(task, completed=min(total, elapsed), rate=rate)

        return fn(on_progress)


# --------------------------------------------------------------------------------------------
# The baseline and Groundswell
# --------------------------------------------------------------------------------------------

def bench_baseline(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from server.serve import web_argv

    port = free_port()
    argv = [a if a != "server.wsgi:app" else "baseline_app:app"
            for a in web_argv(HOST, port, WEB_WORKERS, args.web_threads)]
    argv += ["--chdir", str(BENCH_DIR)]
    log_path = workdir / "baseline.log"
    proc = start_group(argv, dict(os.environ), log_path)
    try:
        wait_ready(port, proc, log_path)
        target = Target("baseline", port, proc)
        return with_progress("baseline", args.warmup + args.duration,
                             lambda cb: drive_load(target, args, workdir, cb))
    finally:
        stop_group(proc)


def server_env(instance: Path, database_url: str, web_threads: int) -> dict[str, str]:
    return dict(os.environ, INSTANCE_PATH=str(instance), DATABASE_URL=database_url, SECRET_KEY="",
                RATE_LIMIT_WIDGET="1000000/second", LOG_LEVEL="WARNING", LOG_FORMAT="text", REDIS_URL="",
                WEB_WORKERS=str(WEB_WORKERS), WEB_THREADS=str(web_threads))


def fresh_postgres() -> str | None:
    """Drop and create the bench database; None (with a printed note) if PostgreSQL is unreachable."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
            conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    except psycopg.OperationalError as e:
        reason = (str(e).strip().splitlines() or ["?"])[0][:160]
        print(f"note: PostgreSQL skipped, {PG_ADMIN_URL} is unreachable ({reason})", file=sys.stderr)
        return None
    return PG_BENCH_URL


def count_rows(database_url: str, slug: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events e JOIN tenants t ON t.id = e.tenant_id "
                                         "WHERE t.slug = :slug"), {"slug": slug}).scalar_one())
    finally:
        engine.dispose()


def prepare_groundswell(env: dict[str, str]) -> dict[str, Any]:
    run_checked(groundswell_argv("db", "upgrade"), env)
    out = run_checked(groundswell_argv("tenant", "create", "Bench", "--zendesk-subdomain", "bench",
                                       "--origin", ORIGIN, "--json"), env)
    return json.loads(out)


def bench_groundswell(database: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any] | None:
    from server import config as config_mod

    url = "" if database == "sqlite" else fresh_postgres()
    if url is None:
        return None
    instance = workdir / f"instance-{database}"
    env = server_env(instance, url, args.web_threads)
    url = config_mod.load(environ=env)["DATABASE_URL"]
    creds = prepare_groundswell(env)
    port, log_path = free_port(), workdir / f"serve-{database}.log"
    argv = groundswell_argv("serve", "--host", HOST, "--port", str(port), "--workers", str(WEB_WORKERS),
                            "--threads", str(args.web_threads))
    proc = start_group(argv, env, log_path)
    try:
        wait_ready(port, proc, log_path)
        target = Target(database, port, proc, creds["site_key"])
        result = with_progress(database, args.warmup + args.duration,
                               lambda cb: drive_load(target, args, workdir, cb))
    finally:
        stop_group(proc)  # graceful: requests in flight finish before the count
    rows = count_rows(url, creds["tenant"])
    log_text = log_path.read_text(errors="replace")
    return dict(result, rows=rows, lost=result["accepted"] - rows,
                restarts=log_text.count(" exited with code "), server_log=log_text.splitlines()[-40:])


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def cpu_note(cpu: dict[str, float]) -> str:
    if not cpu:
        return "-"
    roles = [f"{role} {cpu[role]:.2f}" for role in ("web", "detector", "postgres", "load", "supervisor", "other")
             if cpu.get(role, 0) >= 0.005]
    return (f"{', '.join(roles)}; idle {cpu['idle_pct']:.0f}%, iowait {cpu['iowait_pct']:.0f}%, "
            f"steal {cpu['steal_pct']:.0f}%")


def table(results: dict[str, dict[str, Any] | None], base: dict[str, Any]) -> str:
    head = ("| database | events/s | req/s | p50 ms | p99 ms | errors | baseline events/s "
            "| events/s ratio | p50 ratio | lost |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for name, r in results.items():
        if r is None:
            lines.append(f"| {name} | skipped (unreachable) | | | | | | | | |")
            continue
        lines.append(
            f"| {name} | {r['events_per_s']:,.0f} | {r['requests_per_s']:,.1f} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['errors']} | {base['events_per_s']:,.0f} "
            f"| {r['events_per_s'] / max(1e-9, base['events_per_s']):.3f} "
            f"| {r['p50_ms'] / max(1e-9, base['p50_ms']):.1f} | {r['lost']} |")
    lines.append(f"| baseline (empty Flask) | {base['events_per_s']:,.0f} | {base['requests_per_s']:,.1f} "
                 f"| {base['p50_ms']:.1f} | {base['p99_ms']:.1f} | {base['errors']} | | | | |")
    return "\n".join(lines)


def details(results: dict[str, dict[str, Any] | None], base: dict[str, Any]) -> Iterator[str]:
    yield (f"CPU, in cores busy during the window (machine: {os.cpu_count()} cores; "
           "other: processes outside the bench):")
    yield f"- baseline: {cpu_note(base['cpu'])}"
    for name, r in results.items():
        if r is None:
            continue
        yield f"- {name}: {cpu_note(r['cpu'])}"
    for name, r in results.items():
        if r is None:
            continue
        yield (f"- {name}: accepted {r['accepted']:,} (duplicates {r['duplicates']}), rows in events "
               f"{r['rows']:,}, lost: {r['lost']}; child processes restarted by `serve`: {r['restarts']}")
        if r["restarts"]:
            yield f"- {name}: end of the serve log:\n\n      " + "\n      ".join(r["server_log"])
        if r["error_samples"]:
            yield f"- {name} errors (first ones): {r['error_samples']}"
    if base["error_samples"]:
        yield f"- baseline errors (first ones): {base['error_samples']}"
    busy = {name: round(r["cpu"].get("other", 0.0), 2) for name, r in [("baseline", base), *results.items()]
            if r is not None and r["cpu"]}
    if any(v > OTHER_CPU_WARNING for v in busy.values()):
        yield (f"WARNING: processes outside the bench used CPU during the windows ({busy}, in cores); "
               "the figures understate this machine. Run again when it is idle.")
    steal = {name: round(r["cpu"].get("steal_pct", 0.0)) for name, r in [("baseline", base), *results.items()]
             if r is not None and r["cpu"]}
    if any(v > STEAL_WARNING_PCT for v in steal.values()):
        yield (f"WARNING: the hypervisor took CPU from this machine during the windows (steal, in %: {steal}); "
               "the figures understate it. Run again to see the spread.")


def header(args: argparse.Namespace) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{when}; {platform.node()} {platform.machine()}, {os.cpu_count()} cores; Python "
            f"{platform.python_version()}; {WEB_WORKERS} web workers x {args.web_threads} threads; "
            f"{args.connections} keep-alive connections; {EVENTS_PER_BATCH} events per batch; "
            f"warm-up {args.warmup:g} s, window {args.duration:g} s per target")


def limit_note(name: str, r: dict[str, Any], connections: int) -> str:
    """One sentence on what bounded a target, read from the CPU it used during the window."""
    cpu = r["cpu"]
    if not cpu:
        return f"{name}: no CPU sample."
    if cpu["idle_pct"] >= 20:
        return (f"{name}: the CPU was {cpu['idle_pct']:.0f}% idle while {connections} connections each had a "
                "request outstanding, so requests waited on each other, not on the CPU: appends are serialized "
                "(PostgreSQL: the event log's advisory append lock; SQLite: its single writer).")
    return (f"{name}: CPU-bound ({cpu['idle_pct']:.0f}% idle): web workers {cpu.get('web', 0):.2f} cores, "
            f"detector {cpu.get('detector', 0):.2f}, PostgreSQL {cpu.get('postgres', 0):.2f}, "
            f"load generator {cpu.get('load', 0):.2f} of {os.cpu_count()}.")


def results_section(args: argparse.Namespace, results: dict[str, dict[str, Any] | None],
                    base: dict[str, Any]) -> str:
    """The ``## Ingest`` section of bench/RESULTS.md: command, date, machine, table, CPU and limits."""
    env = [f"WEB_THREADS={os.environ['WEB_THREADS']}"] if os.environ.get("WEB_THREADS") else []
    command = " ".join([*env, ".venv/bin/python bench/ingest.py", *sys.argv[1:]])
    limits = [limit_note(name, r, args.connections) for name, r in results.items() if r is not None]
    return "\n\n".join([
        f"Command: `{command}` ({header(args)})",
        table(results, base),
        "\n".join(details(results, base)),
        "What bounded throughput, from the CPU observed:\n\n" + "\n".join(f"- {x}" for x in limits),
    ])


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from server.config import load

    p = argparse.ArgumentParser(description="Widget ingest throughput against a real `groundswell serve`.")
    p.add_argument("--quick", action="store_true", help="Short run: 5 s per target after a 2 s warm-up.")
    p.add_argument("--databases", default="sqlite,postgresql", help="Comma-separated: sqlite, postgresql.")
    p.add_argument("--duration", type=float, help="Seconds measured per target (default 20, 5 with --quick).")
    p.add_argument("--warmup", type=float, help="Seconds of load before measuring (default 5, 2 with --quick).")
    p.add_argument("--connections", type=int, default=8, help="Load threads, one keep-alive connection each.")
    p.add_argument("--web-threads", type=int, default=int(load()["WEB_THREADS"]),
                   help="Threads per gunicorn worker, for Groundswell and the baseline (default: WEB_THREADS).")
    p.add_argument("--write", action="store_true", help="Write the figures into bench/RESULTS.md (its Ingest section).")
    p.add_argument("--load-worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.duration = args.duration or (5.0 if args.quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 5.0)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.databases) - {"sqlite", "postgresql"}
    if unknown:
        p.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    if not 1 <= args.connections <= 256 or not 0 < args.duration <= 3600 or not 1 <= args.web_threads <= 256:
        p.error("--connections and --web-threads must be in 1..256, --duration in (0, 3600]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.load_worker:
        return load_main(json.loads(args.load_worker))
    print(header(args), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="groundswell-bench-") as tmp:
        workdir = Path(tmp)
        base = bench_baseline(args, workdir)
        results = {db: bench_groundswell(db, args, workdir) for db in args.databases}
    print("\n" + table(results, base) + "\n")
    print("\n".join(details(results, base)))
    lost = {name: r["lost"] for name, r in results.items() if r is not None and r["lost"] != 0}
    print(f"lost: {sum(lost.values())}" + (f"  ({lost}; negative: rows stored without a 202 seen)" if lost else ""))
    if args.write:
        from bench.results import update_section

        update_section("Ingest (`bench/ingest.py`)", results_section(args, results, base))
        print("written to bench/RESULTS.md")
    return 1 if any(n > 0 for n in lost.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
