"""Tune the detection engine on the incident-replay benchmark's recorded inputs, in seconds, not minutes.

The full benchmark (``bench/incidents.py``) spends most of its time embedding texts and placing
tickets in topics; the engine's inputs do not depend on the engine. ``record`` runs the benchmark's
stream through the product's stages once per seed and keeps what the engine was given (every ticket as
an ``Observation``, every topic merge) with the seed's traffic; ``replay`` feeds those calls to a fresh
engine with any detection settings and scores it exactly as the benchmark does.

    python bench/engine_replay.py record --dir /tmp/replay --seeds 5
    python bench/engine_replay.py replay --dir /tmp/replay --set alarm_budget_per_week=2 --verbose

A replay of unchanged code gives the benchmark's figures for ours. Engine changes are measured this
way; the benchmark itself is rerun for the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.incident_traffic import Generator, Traffic, logged_events  # noqa: E402
from bench.incidents import (Detection, Scored, engine_detections, load_texts, prepared_text, run_ours,  # noqa: E402
                             score, traffic_arguments)
from server.incidents.backtest import parse_overrides  # noqa: E402
from server.incidents.engine import Engine  # noqa: E402
from server.incidents.settings import DetectionSettings  # noqa: E402


def replay(calls: Sequence[tuple[Any, ...]], end: datetime, settings: DetectionSettings | None = None
           ) -> tuple[list[Detection], float]:
    """Feed recorded engine calls to a fresh engine; its detections (as the benchmark builds them) and
    the engine's seconds."""
    engine = Engine(settings)
    attached: dict[int, dict[str, datetime]] = {}

    def drain() -> None:
        for inc_id, tid, at in engine.take_changes()["attached"]:
            attached.setdefault(inc_id, {}).setdefault(tid, at)

    t0 = time.perf_counter()
    for i, call in enumerate(calls):
        if call[0] == "observe":
            engine.observe(call[1])
        else:
            engine.merge_topic(call[1], call[2])
        if i % 200 == 199:
            drain()
    engine.advance(end)
    drain()
    seconds = time.perf_counter() - t0
    return engine_detections(engine, attached), seconds


def record(directory: Path, seeds: Sequence[int], args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from server.understand.embed import Embedder

    directory.mkdir(parents=True, exist_ok=True)
    texts = load_texts(args.dataset)
    embedder = Embedder(batch_size=64, cache_size=500_000)
    for seed in tqdm(seeds, desc="seeds"):
        traffic = Generator(texts, seed, warmup_weeks=args.warmup_weeks, eval_weeks=args.weeks,
                            per_week=args.per_week, texts_mode=args.texts).build()
        events = logged_events(traffic)
        embedder.embed(list(dict.fromkeys(prepared_text(e) for e in events)))
        calls: list[tuple[Any, ...]] = []
        _detections, topic, _s = run_ours(events, embedder.embed, traffic.end, record=calls)
        with open(directory / f"seed{seed}.pkl", "wb") as f:
            pickle.dump({"traffic": traffic, "calls": calls, "topic": topic}, f, protocol=pickle.HIGHEST_PROTOCOL)


def report(runs: Sequence[tuple[Traffic, Scored, float, dict[str, int]]], verbose: bool) -> None:
    outcomes = [o for _t, s, _sec, _tp in runs for o in s.outcomes]
    found = [o for o in outcomes if o.found]
    fas = [(t.seed, d) for t, s, _sec, _tp in runs for d in s.false_alarms]
    weeks = sum(s.eval_weeks for _t, s, _sec, _tp in runs)
    shapes = Counter(o.incident.shape for o in outcomes)
    hits = Counter(o.incident.shape for o in found)
    delays = [o.delay_tickets for o in found if o.delay_tickets is not None]
    print(f"recall {len(found)}/{len(outcomes)} (" + ", ".join(f"{k} {hits[k]}/{n}" for k, n in shapes.items())
          + f"); false alarms {len(fas) / weeks:.2f} a week ({dict(Counter(d.kind for _s, d in fas))}); median delay "
          f"{statistics.median(delays) if delays else '-'} tickets, "
          f"{statistics.median(o.delay_minutes for o in found) if found else float('nan'):.0f} min; "
          f"engine s per simulated week {sum(sec for *_x, sec, _tp in runs) / sum((t.end - t.start).days / 7 for t, *_r in runs):.2f}")
    if not verbose:
        return
    for traffic, s, _sec, topic in runs:
        for o in s.outcomes:
            if not o.found:
                spread = Counter(topic.get(t) for t in o.incident.ticket_ids).most_common(4)
                print(f"missed: seed {traffic.seed} #{o.incident.id} {o.incident.shape} "
                      f"{o.incident.intent or o.incident.channel}: {o.incident.detail}; topics {spread}")
    for seed, d in fas:
        print(f"false alarm: seed {seed} {d.kind} {d.series} {d.detected_at:%a %d %H:%M}: {d.sentence}")


def _one_thread() -> None:
    """Each replaying process does its matrix products on one thread: the processes are the parallelism."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _replay_seed(directory: Path, seed: int, settings: DetectionSettings | None
                 ) -> tuple[Traffic, Scored, float, dict[str, int]]:
    with open(directory / f"seed{seed}.pkl", "rb") as f:
        data = pickle.load(f)
    detections, seconds = replay(data["calls"], data["traffic"].end, settings)
    return data["traffic"], score(data["traffic"], detections), seconds, data["topic"]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=("record", "replay"))
    ap.add_argument("--dir", type=Path, required=True, help="where the recorded seeds are kept")
    traffic_arguments(ap, seeds=5)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a detection setting for the replay, as `groundswell backtest --set` takes it")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="seeds replayed at once (processes)")
    ap.add_argument("--verbose", action="store_true", help="list every miss and false alarm")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds))
    if args.action == "record":
        record(args.dir, seeds, args)
        return
    settings = DetectionSettings.from_dict(parse_overrides(args.set)) if args.set else None
    jobs = max(1, min(args.jobs, len(seeds)))
    if jobs == 1:
        runs = [_replay_seed(args.dir, seed, settings) for seed in seeds]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, initializer=_one_thread) as pool:
            runs = list(pool.map(_replay_seed, [args.dir] * len(seeds), seeds, [settings] * len(seeds)))
    report(runs, args.verbose)


if __name__ == "__main__":
    main()
