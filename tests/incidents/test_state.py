"""The engine's kept state: the embedding bank and a series' remembered forecasts."""

from __future__ import annotations

import pickle
from datetime import timedelta

import numpy as np

from tests.incidents.engine_data import DAYS, RATES, T0, background, fresh, run


def test_the_embedding_bank_keeps_the_newest_tickets_within_its_cap(monkeypatch):
    from server.incidents import state as engine_module

    monkeypatch.setattr(engine_module, "NEAR_MAX", 300)
    bank = engine_module._Bank(4)
    t0 = T0.timestamp()
    compactions, rows = 0, bank.tickets
    for i in range(2000):  # one a minute: all within NEAR_HISTORY, so only the cap forgets
        ticket = engine_module._Ticket(t0 + 60.0 * i, f"k{i}", f"u{i}", None, {}, 0.0, "")
        bank.add(np.full(4, float(i), dtype=np.float32), ticket)
        compactions, rows = compactions + (bank.tickets is not rows), bank.tickets
        assert len(bank.ts) <= 2 * 300 + 256
    assert compactions <= 2000 // 150  # forgotten rows go in batches, never one copy per ticket
    assert len(pickle.loads(pickle.dumps(bank)).ts) == len(bank.tickets)  # a checkpoint holds the rows only
    vectors, ts, tickets = bank.recent()
    assert [t.ticket_id for t in tickets] == [f"k{i}" for i in range(1700, 2000)]
    assert ts[0] == t0 + 60.0 * 1700 and vectors[-1][0] == 1999.0
    # a week later: rows past NEAR_HISTORY go at the next compaction, and the room stays bounded
    for i in range(2000, 3000):
        ticket = engine_module._Ticket(t0 + 8 * 86400.0 + i, f"k{i}", f"u{i}", None, {}, 0.0, "")
        bank.add(np.zeros(4, dtype=np.float32), ticket)
        assert len(bank.ts) <= 2 * 300 + 256
    assert [t.ticket_id for t in bank.recent()[2]] == [f"k{i}" for i in range(2700, 3000)]
    assert all(t.ts > t0 + 7 * 86400.0 for t in bank.tickets)


def test_remembered_window_forecasts_follow_what_the_baseline_learns(warmed):
    engine = fresh(warmed)
    total = engine.series["all"]
    start = T0 + timedelta(days=DAYS)
    ahead = ((start + timedelta(hours=30)).timestamp(), (start + timedelta(hours=32, minutes=20)).timestamp())
    direct = lambda: [m * frac for m, _v, frac in total._slots(*ahead)]  # noqa: E731
    before = total.hourly(*ahead)
    assert before == direct()
    assert "_hourly" not in pickle.loads(pickle.dumps(total)).__dict__  # a cache, not checkpointed state
    run(engine, background(1.0, seed=31, start=start, rates={k: 3 * v for k, v in RATES.items()}))
    after = total.hourly(*ahead)
    assert after == direct() and after != before  # a day at three times the volume moved the forecast
