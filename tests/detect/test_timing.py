from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.detect.timing import event_time


def test_event_time_reads_datetimes_and_epoch_seconds_alike():
    aware = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert event_time(aware) == event_time(datetime(2026, 1, 1, 10)) == event_time(1767261600)
    assert event_time(None) is None
