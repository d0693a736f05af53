"""The friction recall benchmark: its surges are where it says, and it scores what the detectors raise."""

from __future__ import annotations

from bench.friction_recall import run, tenant_events
from server.widget.settings import page_path


def test_the_surge_adds_failing_sessions_on_its_page_inside_its_window_only():
    events, surge = tenant_events(seed=3, warmup=30, peak=200, share=0.5, minutes=60)
    lo, hi = surge["start"].timestamp(), surge["end"].timestamp()
    added = [(ts, page_path(e["url"])) for ts, _sid, e in events if str(e.get("id", "")).startswith("x")]
    assert surge["extra"] > 0 and len({ts for ts, _ in added}) >= surge["extra"]
    assert all(path == surge["page"] and lo <= ts <= hi + 60 for ts, path in added)
    assert [ts for ts, _sid, _e in events] == sorted(ts for ts, _sid, _e in events)


def test_run_scores_each_detector_on_the_same_tenants():
    res = run(seeds=2, warmup=30, peak=200, share=0.6, minutes=60)
    assert len(res["rows"]) == 2 and res["tested_weeks"] == 2 * 26 / 168
    for row in res["rows"]:
        for name in ("product", "baseline"):
            assert row[name] is None or 0 <= row[name] <= 90  # minutes after the start, within the span
            assert row[name + "_false"] >= 0
