"""``groundswell serve``: the web app under gunicorn plus the detector, supervised.

Both run as child processes. A child that dies is restarted with a growing back-off (the log
keeps everything accepted, and the detector resumes from its checkpoint). SIGINT or SIGTERM
stops both gracefully. Metrics of all processes are aggregated through a shared
``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    backoff: float = 1.0
    next_start: float = 0.0
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env)
        self.started_at = time.monotonic()
        log.info("started %s (pid %s)", self.name, self.proc.pid)


def web_argv(host: str, port: int, workers: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "server.wsgi:app",
            "--bind", f"{host}:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads),
            "--graceful-timeout", "10", "--timeout", "30", "--keep-alive", "5",
            "--max-requests", "0", "--log-level", "warning"]


def detector_argv() -> list[str]:
    return [sys.executable, "-m", "server.cli", "detector"]


def supervise(children: list[Child], *, stop_after: float | None = None) -> int:
    metrics_dir = tempfile.mkdtemp(prefix="groundswell-metrics-")
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=metrics_dir)
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for child in children:
        child.env = env
        child.start()
    deadline = time.monotonic() + stop_after if stop_after else None
    try:
        while not stopping and (deadline is None or time.monotonic() < deadline):
            now = time.monotonic()
            for child in children:
                if child.proc is None:
                    if now >= child.next_start:
                        child.start()
                    continue
                code = child.proc.poll()
                if code is None:
                    if now - child.started_at > 60:
                        child.backoff = 1.0
                    continue
                log.error("%s exited with code %s; restarting in %.0f s", child.name, code, child.backoff)
                child.proc = None
                child.restarts += 1
                child.next_start = now + child.backoff
                child.backoff = min(30.0, child.backoff * 2)
            time.sleep(0.2)
    finally:
        for child in children:
            if child.proc and child.proc.poll() is None:
                child.proc.terminate()
        for child in children:
            if child.proc:
                try:
                    child.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
