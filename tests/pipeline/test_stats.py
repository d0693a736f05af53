from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from server.eventlog.log import LoggedEvent
from server.pipeline.stats import WINDOW_MINUTES, IngestStats, rate_per_minute

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

events_strategy = st.lists(
    st.tuples(st.integers(1, 3), st.sampled_from(["widget", "zendesk"]),
              st.sampled_from(["a", "b", "c"]), st.integers(0, 3 * 24 * 60 * 60)),
    max_size=80,
)


def to_events(raw):
    out, t = [], T0
    for i, (tenant, source, kind, dt) in enumerate(raw):
        t = t + timedelta(seconds=dt % 5000)  # receive times never go backwards
        out.append(LoggedEvent(i + 1, tenant, source, f"{source}.{kind}", str(i), t, T0 + timedelta(seconds=dt), {}))
    return out


def final_rows(stage):
    return {key: st.row() for key, st in stage.stats.items()}


@settings(max_examples=60, deadline=None)
@given(raw=events_strategy, cuts=st.lists(st.integers(0, 80), max_size=5))
def test_any_checkpoint_schedule_gives_the_same_statistics(raw, cuts):
    events = to_events(raw)
    straight = IngestStats()
    for e in events:
        straight.apply(e)
    stage = IngestStats()
    start = 0
    for cut in sorted(set(cuts)) + [len(events)]:
        for e in events[start:cut]:
            stage.apply(e)
        list(stage.outputs())
        stage = pickle.loads(pickle.dumps(stage))  # a crash and restore at this point
        start = max(start, cut)
    assert final_rows(stage) == final_rows(straight)


def test_outputs_only_changed_keys():
    stage = IngestStats()
    stage.apply(LoggedEvent(1, 1, "widget", "widget.click", "1", T0, T0, {}))
    stage.apply(LoggedEvent(2, 2, "zendesk", "zendesk.trigger", "2", T0, T0, {}))
    assert [k for _, k, _ in stage.outputs()] == [(1, "widget"), (2, "zendesk")]
    stage.apply(LoggedEvent(3, 2, "zendesk", "zendesk.trigger", "3", T0, T0, {}))
    assert [k for _, k, _ in stage.outputs()] == [(2, "zendesk")]


def test_minute_history_is_bounded():
    stage = IngestStats()
    for i in range(WINDOW_MINUTES + 200):
        t = T0 + timedelta(minutes=i)
        stage.apply(LoggedEvent(i + 1, 1, "widget", "widget.click", str(i), t, t, {}))
    minutes = stage.stats[(1, "widget")].minutes
    assert len(minutes) <= WINDOW_MINUTES + 1
    assert stage.stats[(1, "widget")].total == WINDOW_MINUTES + 200


def test_kinds_are_bounded():
    stage = IngestStats()
    for i in range(200):
        stage.apply(LoggedEvent(i + 1, 1, "widget", f"widget.k{i}", str(i), T0, T0, {}))
    kinds = stage.stats[(1, "widget")].kinds
    assert len(kinds) == 65 and kinds["other"] == 136


def test_rates():
    now = T0 + timedelta(minutes=10, seconds=30)
    base = int(T0.timestamp() // 60)
    minutes = {str(base + m): 6 for m in range(10)}
    assert rate_per_minute(minutes, now, 1) == 6
    assert rate_per_minute(minutes, now, 5) == 6
    assert rate_per_minute(minutes, now, 60) == 1.0
