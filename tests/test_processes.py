"""Crash safety with real processes: `kill -9` the server mid-flood and the detector mid-stream."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from server.eventlog import Event, NewEvent, SqlEventLog
from server.pipeline.models import DetectorCheckpoint, IngestStat
from tests.conftest import ORIGIN, TEST_SECRET_KEY, now_ms

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(database_url: str, instance: Path) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=database_url, INSTANCE_PATH=str(instance), SECRET_KEY=TEST_SECRET_KEY,
                LOG_FORMAT="text", LOG_LEVEL="WARNING", RATE_LIMIT_WIDGET="100000/second")


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server.cli", *argv], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill9(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def flood(url: str, site_key: str, stop: threading.Event, acked: list[str], errors: list[str]) -> None:
    http = requests.Session()
    while not stop.is_set():
        sid = uuid.uuid4().hex
        ts = now_ms()
        events = [{"id": f"e{i}", "type": "click", "ts": ts, "url": "https://app.example.com/x"} for i in range(10)]
        try:
            r = http.post(url + "/api/v1/events", data=json.dumps({"session_id": sid, "events": events}),
                          headers={"Origin": ORIGIN, "X-Groundswell-Site-Key": site_key,
                                   "Content-Type": "application/json"}, timeout=5)
        except requests.RequestException as e:
            errors.append(type(e).__name__)
            time.sleep(0.05)
            continue
        if r.status_code == 202:
            assert r.json()["accepted"] == 10
            acked.extend(f"{sid}/e{i}" for i in range(10))
        else:
            errors.append(str(r.status_code))


def stored_keys(db, tenant_id: int) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Event.idempotency_key).where(Event.tenant_id == tenant_id)))


def test_every_acknowledged_event_survives_kill_9_of_the_server(db, database_url, tenant, tmp_path):
    t, creds = tenant
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = env_for(database_url, tmp_path)
    argv = ["serve", "--no-detector", "--port", str(port), "--workers", "2"]
    server = start(argv, env)
    acked: list[str] = []
    errors: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=flood, args=(url, creds.site_key, stop, acked, errors)) for _ in range(4)]
    try:
        wait_healthy(url, server)
        for th in threads:
            th.start()
        deadline = time.monotonic() + 20
        while len(acked) < 2000 and time.monotonic() < deadline:
            time.sleep(0.02)
        kill9(server)  # mid-flood: requests are in flight
        acked_at_kill = len(acked)
        time.sleep(0.5)
        server = start(argv, env)
        wait_healthy(url, server)
        time.sleep(1.0)  # the flood goes on against the restarted server
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=10)
        kill9(server)
    assert acked_at_kill >= 2000, "the flood did not get going before the kill"
    assert errors, "the kill should have broken some in-flight requests"
    assert len(acked) > acked_at_kill, "the restarted server should accept again"
    missing = set(acked) - stored_keys(db, t.id)
    assert not missing, f"{len(missing)} acknowledged events are not in the log"


def fill_log(db, tenants, n: int) -> int:
    log = SqlEventLog()
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with db.session() as s:
        for chunk in range(0, n, 500):
            for t in tenants:
                events = [NewEvent("widget" if i % 3 else "zendesk", "widget.click" if i % 3 else "zendesk.trigger",
                                   f"k{i}", t0, {"i": i}) for i in range(chunk, min(n, chunk + 500))]
                log.append(s, t.id, events, datetime.fromtimestamp(t0.timestamp() + chunk * 7, tz=timezone.utc))
            s.commit()
        return log.head(s)


def snapshot(db) -> dict:
    with db.session() as s:
        stats = {(r.tenant_id, r.source): (r.total, r.minutes, r.kinds, r.last_offset)
                 for r in s.scalars(select(IngestStat))}
        cps = {c.partition: (c.offset, c.events_processed) for c in s.scalars(select(DetectorCheckpoint))}
    return {"stats": stats, "checkpoints": cps}


def checkpoint_offset(db) -> int:
    with db.session() as s:
        return int(s.scalar(select(DetectorCheckpoint.offset)) or 0)


def test_detector_killed_mid_stream_reaches_the_same_statistics(db, database_url, make_tenant, tmp_path):
    tenants = [make_tenant(f"T{i}")[0] for i in range(3)]
    head = fill_log(db, tenants, 4000)
    env = env_for(database_url, tmp_path)
    detector = start(["detector", "--batch-size", "20", "--checkpoint-seconds", "0"], env)
    try:
        deadline = time.monotonic() + 60
        while checkpoint_offset(db) < head // 4 and time.monotonic() < deadline and detector.poll() is None:
            time.sleep(0.005)
        kill9(detector)
        killed_at = checkpoint_offset(db)
        assert 0 < killed_at < head, f"the kill should land mid-stream (checkpoint {killed_at} of {head})"
        detector = start(["detector", "--batch-size", "20", "--checkpoint-seconds", "0"], env)
        deadline = time.monotonic() + 120
        while checkpoint_offset(db) < head and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        detector.send_signal(signal.SIGTERM)
        detector.wait(timeout=20)
    interrupted = snapshot(db)
    assert interrupted["checkpoints"] == {"p0of1": (head, 12000)}

    with db.session() as s:  # forget everything and run once, uninterrupted
        s.query(IngestStat).delete()
        s.query(DetectorCheckpoint).delete()
        s.commit()
    once = subprocess.run([sys.executable, "-m", "server.cli", "detector", "--once", "--batch-size", "20"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert once.returncode == 0, once.stderr
    assert snapshot(db) == interrupted
