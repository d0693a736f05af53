"""The incident-replay benchmark's generator and its matching arithmetic, on small made-up text."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from bench import datasets
from bench.incident_traffic import (FIELD_MAP, HOUR, Customer, Generator, Injected, Ticket, Traffic, drift_window,
                                    logged_events)
from bench.incidents import Detection, load_texts, run_fixed, run_naive, run_ours, score
from server.understand.intake import parse

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)


def made_up_texts(intents: int = 40) -> dict[str, dict[str, list[str]]]:
    return {split: {f"intent_{i}": [f"{split} question {k} about thing {i}" for k in range(5)]
                    for i in range(intents)} for split in ("train", "test")}


def fake_embed(texts):
    """A unit vector per text, fixed by its hash: no model needed."""
    out = np.empty((len(texts), 384), dtype=np.float32)
    for i, t in enumerate(texts):
        v = np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "big")).normal(size=384)
        out[i] = v / np.linalg.norm(v)
    return out


@pytest.fixture(scope="module")
def small_traffic() -> Traffic:
    return Generator(made_up_texts(), seed=3, warmup_weeks=1, eval_weeks=1, per_week=1,
                     daily_volume=(60.0, 80.0), n_orgs=40).build()


def test_incidents_are_labelled_and_only_in_the_evaluated_weeks(small_traffic: Traffic) -> None:
    tr = small_traffic
    assert sorted(i.shape for i in tr.incidents) == sorted(["burst", "ramp", "new_topic", "quiet_burst", "drop"])
    by_id = {t.ticket_id: t for t in tr.tickets}
    for inc in tr.incidents:
        assert tr.eval_start <= inc.start < inc.end <= tr.end
        for tid in inc.ticket_ids:
            assert by_id[tid].label == inc.id and by_id[tid].intent == inc.intent
        if inc.shape == "burst":
            first = [by_id[t] for t in inc.ticket_ids if by_id[t].created_at <= inc.end]
            assert 10 <= len(first) <= 20
            assert len({t.requester.requester_id for t in first}) == len(first)  # distinct customers
        if inc.shape == "new_topic":
            assert inc.intent not in tr.rates
            assert all(t.intent != inc.intent for t in tr.tickets if t.created_at < tr.eval_start)
        if inc.shape == "drop":
            assert inc.start.weekday() < 5 and 9 <= inc.start.hour < 14
            assert not any(t.channel == inc.channel and inc.start <= t.created_at < inc.end for t in tr.tickets)
    labelled = {tid for inc in tr.incidents for tid in inc.ticket_ids}
    assert all(t.label is None or t.ticket_id in labelled for t in tr.tickets)
    assert all(t.label is None for t in tr.tickets if t.created_at < tr.eval_start)


def test_split_mode_takes_history_from_train_and_evaluation_from_test() -> None:
    tr = Generator(made_up_texts(), seed=3, warmup_weeks=1, eval_weeks=1, per_week=1,
                   daily_volume=(60.0, 80.0), n_orgs=40, texts_mode="split").build()
    for t in tr.tickets:
        split = "train" if t.created_at < tr.eval_start else "test"
        assert split in t.description


def test_pooled_mode_never_shows_an_evaluated_text_in_the_history() -> None:
    def utterance(t: Ticket) -> str:
        return next(line for line in t.description.splitlines() if "question" in line)

    tr = Generator(made_up_texts(), seed=3, warmup_weeks=1, eval_weeks=1, per_week=1,
                   daily_volume=(60.0, 80.0), n_orgs=40, texts_mode="pooled").build()
    history = {utterance(t) for t in tr.tickets if t.created_at < tr.eval_start}
    evaluated = {utterance(t) for t in tr.tickets if t.created_at >= tr.eval_start}
    assert history and evaluated and not history & evaluated
    # both halves draw on both dataset splits
    assert any("train" in u for u in evaluated) and any("test" in u for u in history)


def test_drift_mode_brings_new_texts_at_a_steady_pace_and_moves_nothing_else() -> None:
    texts = {split: {f"intent_{i}": [f"{split} question {k} about thing {i}" for k in range(60)] for i in range(8)}
             for split in ("train", "test")}
    kw = {"seed": 2, "warmup_weeks": 2, "eval_weeks": 2, "per_week": 1, "daily_volume": (150.0, 200.0),
          "n_orgs": 40, "n_topics": 6, "n_quiet": 1}
    pooled = Generator(texts, texts_mode="pooled", **kw).build()
    gen = Generator(texts, texts_mode="drift", **kw)
    drift = gen.build()
    # the same stream (times, intents, customers, channels): only the words differ
    assert [(t.created_at, t.intent, t.requester, t.channel) for t in pooled.tickets] == \
        [(t.created_at, t.intent, t.requester, t.channel) for t in drift.tickets]

    def utterance(t: Ticket) -> str:
        return next(line for line in t.description.splitlines() if "question" in line)

    span = drift.end - drift.start
    for t in drift.tickets:
        pool = gen.drift[t.intent]
        lo, hi = drift_window(len(pool), (t.created_at - drift.start) / span)
        assert utterance(t).rstrip("?.!") in [u.rstrip("?.!") for u in pool[lo:hi]]

    def first_uses_by_week(tr: Traffic, intent: str) -> list[int]:
        seen: set[str] = set()
        weeks = [0, 0, 0, 0]
        for t in tr.tickets:
            if t.intent == intent and utterance(t) not in seen:
                seen.add(utterance(t))
                weeks[int((t.created_at - tr.start) / timedelta(days=7))] += 1
        return weeks

    busiest = max(drift.rates, key=drift.rates.get)
    p, d = first_uses_by_week(pooled, busiest), first_uses_by_week(drift, busiest)
    assert p[2] >= 5 * max(1, p[1])  # pooled: the evaluated half's words all arrive at once
    assert 0 < d[1] and 0 < d[2] <= 2 * d[1] + 2  # drift: about as many new words every week


def test_unknown_text_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="texts_mode"):
        Generator(made_up_texts(), texts_mode="mixed")


def test_same_seed_same_stream() -> None:
    a = Generator(made_up_texts(), seed=5, warmup_weeks=1, eval_weeks=1, per_week=1, daily_volume=(30, 40)).build()
    b = Generator(made_up_texts(), seed=5, warmup_weeks=1, eval_weeks=1, per_week=1, daily_volume=(30, 40)).build()
    assert [(t.ticket_id, t.created_at, t.description) for t in a.tickets] == \
        [(t.ticket_id, t.created_at, t.description) for t in b.tickets]


def test_events_parse_as_live_zendesk_ticket_created(small_traffic: Traffic) -> None:
    events = logged_events(small_traffic)
    assert [e.offset for e in events] == list(range(1, len(events) + 1))
    assert len({e.idempotency_key for e in events}) == len(events)
    for e, t in zip(events[:50], small_traffic.tickets):
        assert e.source == "zendesk" and e.tenant_id == 1 and e.received_at == e.event_time == t.created_at
        u = parse(e.kind, e.payload, field_map=FIELD_MAP)
        assert u.created and u.ticket_id == t.ticket_id and u.channel == t.channel
        assert u.custom_fields == {"plan_tier": t.requester.plan} and u.created_at == t.created_at.replace(microsecond=0)


def _tiny() -> Traffic:
    who = Customer("1", "2", "pro", "Ana", "Silva")
    tickets = [Ticket(str(i), T0 + timedelta(minutes=10 * i), "x", "s", "d", who, "web", 1 if i >= 3 else None)
               for i in range(8)]
    burst = Injected(1, "burst", T0 + timedelta(minutes=25), T0 + timedelta(minutes=80), "x",
                     ticket_ids=[str(i) for i in range(3, 8)])
    drop = Injected(2, "drop", T0 + 10 * HOUR, T0 + 13 * HOUR, channel="chat")
    return Traffic(0, tickets, [burst, drop], T0 - 7 * 24 * HOUR, T0, T0 + 7 * 24 * HOUR, {"x": 5.0}, [])


def test_delay_is_counted_in_incident_tickets_and_minutes() -> None:
    tr = _tiny()
    found = Detection("a", "spike", "topic:1", T0 + timedelta(minutes=55),
                      {"2": T0 + timedelta(minutes=55), "5": T0 + timedelta(minutes=55), "6": T0 + timedelta(minutes=61)})
    s = score(tr, [found])
    burst = s.outcomes[0]
    assert burst.found and burst.by is found
    assert burst.delay_tickets == 3  # tickets 3, 4 and 5 (created at 30, 40, 50 min) precede 55 min
    assert burst.delay_minutes == pytest.approx(30.0)
    assert not s.outcomes[1].found and s.false_alarms == []


def test_an_incident_found_later_by_an_older_detection_counts_from_the_attachment() -> None:
    tr = _tiny()
    old = Detection("a", "spike", "topic:1", T0 + timedelta(minutes=5),
                    {"0": T0 + timedelta(minutes=5), "4": T0 + timedelta(minutes=45)})
    out = score(tr, [old]).outcomes[0]
    assert out.at == T0 + timedelta(minutes=45) and out.delay_tickets == 2


def test_drops_match_their_channel_and_false_alarms_are_counted_per_week() -> None:
    tr = _tiny()
    drop = Detection("d", "drop", "channel:chat", T0 + 11 * HOUR)
    elsewhere = Detection("e", "drop", "all", T0 + 11 * HOUR)
    wrong_channel_late = Detection("f", "drop", "channel:chat", T0 + 15 * HOUR)
    noise = Detection("n", "spike", "topic:9", T0 + 30 * HOUR, {"1": T0 + 30 * HOUR})
    warmup = Detection("w", "spike", "topic:9", T0 - 30 * HOUR)
    s = score(tr, [drop, elsewhere, wrong_channel_late, noise, warmup])
    assert s.outcomes[1].found and s.outcomes[1].delay_minutes == pytest.approx(60.0)
    assert s.outcomes[1].delay_tickets is None
    assert {d.id for d in s.false_alarms} == {"f", "n"}
    assert s.warmup_alarms == 1 and s.eval_weeks == pytest.approx(1.0)


def test_fixed_rule_fires_at_the_nth_ticket_and_merges_within_four_hours() -> None:
    tickets = [(T0 + timedelta(minutes=5 * i), str(i), 7) for i in range(6)]
    tickets.append((T0 + 3 * HOUR, "late", 7))
    tickets += [(T0 + 2 * HOUR + timedelta(minutes=i), f"b{i}", 7) for i in range(5)]
    tickets.sort()
    dets, _ = run_fixed(tickets, n=5)
    assert len(dets) == 1
    assert dets[0].detected_at == T0 + timedelta(minutes=20)
    assert dets[0].attached["4"] == T0 + timedelta(minutes=20) and "b4" in dets[0].attached


def test_naive_alerts_on_a_new_dense_cluster() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 16))
    times, vecs = [], []
    for h in range(48):  # two background themes, two tickets an hour each
        for k in range(2):
            times.append(T0.timestamp() + h * 3600 + 600 * k)
            vecs.append(base[k] + 0.05 * rng.normal(size=16))
    for i in range(8):  # a burst on a third theme in hour 40
        times.append(T0.timestamp() + 40 * 3600 + 60 * i + 30)
        vecs.append(base[2] + 0.05 * rng.normal(size=16))
    order = np.argsort(times)
    x = np.array(vecs, dtype=np.float32)[order]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [str(i) for i in order]
    dets, _ = run_naive(np.array(times)[order], ids, x, T0.timestamp(), T0.timestamp() + 48 * 3600, eps=0.1)
    burst = [d for d in dets if any(int(t) >= 96 for t in d.attached)]
    assert len(burst) == 1 and burst[0].kind == "new_cluster"
    assert burst[0].detected_at == T0 + 41 * HOUR


def test_the_product_pipeline_replays_the_stream(small_traffic: Traffic) -> None:
    events = logged_events(small_traffic)
    detections, topic, seconds = run_ours(events, fake_embed, small_traffic.end)
    assert set(topic) == {t.ticket_id for t in small_traffic.tickets}
    assert seconds > 0 and all(d.id.startswith("ours-") for d in detections)
    s = score(small_traffic, detections)
    assert len(s.outcomes) == 5


@pytest.mark.skipif(not Path(os.environ.get("GROUNDSWELL_DATASETS", datasets.ROOT.parent / "shared" / "datasets")).is_dir(),
                    reason="../shared/datasets is not present")
def test_dataset_texts_load_per_split() -> None:
    texts = load_texts("banking77")
    assert len(texts["train"]) == len(texts["test"]) == 77
    assert not set(texts["test"]["card_arrival"]) & set(texts["train"]["card_arrival"])


def test_recorded_engine_inputs_replay_to_the_same_detections(small_traffic: Traffic) -> None:
    from bench.engine_replay import replay

    calls: list = []
    live, _topic, _s = run_ours(logged_events(small_traffic), fake_embed, small_traffic.end, record=calls)
    assert calls and {c[0] for c in calls} <= {"observe", "merge"}
    assert sum(c[0] == "observe" for c in calls) == len(small_traffic.tickets)
    again, seconds = replay(calls, small_traffic.end)
    assert seconds > 0

    def key(ds):
        return sorted((d.id, d.kind, d.series, d.detected_at, tuple(sorted(d.attached.items()))) for d in ds)

    assert live and key(again) == key(live)
