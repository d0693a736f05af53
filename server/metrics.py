"""Prometheus metrics.

Counters live in each process; under gunicorn (several worker processes) and with the
detector beside them, ``groundswell serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` so that
``/metrics`` aggregates all processes (prometheus-client's multiprocess mode). Gauges about
the log and the detector are read from the database at scrape time.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

HTTP_REQUESTS = Counter("groundswell_http_requests_total", "HTTP requests by endpoint and status.",
                        ["method", "endpoint", "status"])
HTTP_LATENCY = Histogram("groundswell_http_request_duration_seconds", "Request latency by endpoint.",
                         ["endpoint"], buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
INGEST_EVENTS = Counter("groundswell_ingest_events_total", "Events offered to ingest, by source and result.",
                        ["source", "result"])
INGEST_REJECTED = Counter("groundswell_ingest_rejected_total", "Rejected ingest requests by source and status.",
                          ["source", "status"])
DETECTOR_EVENTS = Counter("groundswell_detector_events_total", "Events processed by the detector.", ["partition"])
DETECTOR_DEAD_LETTERS = Counter("groundswell_detector_dead_letters_total",
                                "Events the detector skipped because each failed twice on its own.", ["partition"])
NOTIFICATIONS = Counter("groundswell_notifications_total",
                        "Incident notifications closed or retried, by target (slack, webhook) and outcome "
                        "(delivered, retry, failed, muted, not_configured).", ["target", "outcome"])


class DatabaseCollector(Collector):
    """Reads the log head, checkpoints and lag from the database on each scrape."""

    def __init__(self, read: Callable[[], dict]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        info = self._read()
        head = GaugeMetricFamily("groundswell_eventlog_head_offset", "Highest committed offset in the event log.")
        head.add_metric([], info["head"])
        yield head
        cp = GaugeMetricFamily("groundswell_detector_checkpoint_offset", "Offset each detector partition reached.",
                               labels=["partition"])
        for name, offset in info["checkpoints"].items():
            cp.add_metric([name], offset)
        yield cp
        lag = GaugeMetricFamily("groundswell_detector_lag_seconds", "Age of the oldest unprocessed event.")
        lag.add_metric([], info["lag_seconds"])
        yield lag
        backlog = info.get("notifications") or {}
        pending = GaugeMetricFamily("groundswell_notifications_pending",
                                    "Incident notifications waiting to be sent or retried.", labels=["target"])
        oldest = GaugeMetricFamily("groundswell_notifications_oldest_pending_seconds",
                                   "Age of the oldest notification waiting, by target.", labels=["target"])
        for target, row in sorted(backlog.items()):
            pending.add_metric([target], row["pending"])
            oldest.add_metric([target], row["oldest_seconds"])
        yield pending
        yield oldest


def render(db_read: Callable[[], dict]) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in (HTTP_REQUESTS, HTTP_LATENCY, INGEST_EVENTS, INGEST_REJECTED, DETECTOR_EVENTS,
                       DETECTOR_DEAD_LETTERS, NOTIFICATIONS):
            registry.register(metric)
    registry.register(DatabaseCollector(db_read))
    return generate_latest(registry)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
