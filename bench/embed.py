"""Understanding-stage throughput against raw ``SentenceTransformer.encode`` on the same texts.

What it measures
----------------
Banking77 ``test.csv`` (3,080 real customer queries) is turned into event-subscribed Zendesk
``ticket.created`` payloads. In the same process, alternating rounds:

- **raw**: ``model.encode(texts, batch_size=64, normalize_embeddings=True)`` on the texts;
- **stage**: the product's ``UnderstandStage`` on the payloads, in detector batches of
  ``DETECTOR_BATCH_SIZE`` (the default configuration):
  payload parsing, HTML/quote stripping, PII redaction, embedding through ``Embedder`` (the same
  model, batch 64, with a cold cache each round), topic assignment, keyword upkeep and the output
  rows. Database writes are not included (they belong to the runner and are measured by the
  ingest benchmark).

It prints tickets per second for each round, the best round of each (the least disturbed by
other work on the machine; medians are printed too), and the stage's overhead
``raw / stage − 1`` from the best rounds. Goal: at most 15%.

Run ``python bench/embed.py [--rounds 3] [--write]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import datasets  # noqa: E402
from bench.results import update_section  # noqa: E402
from server import config  # noqa: E402
from server.eventlog.log import LoggedEvent  # noqa: E402
from server.understand.embed import Embedder, load_model  # noqa: E402
from server.understand.stage import UnderstandStage  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def events(texts: list[str]) -> list[LoggedEvent]:
    out = []
    for i, text in enumerate(texts):
        t = T0 + timedelta(seconds=i)
        payload = {"type": "zen:event-type:ticket.created", "id": f"e{i}", "time": t.isoformat(),
                   "detail": {"id": str(1000 + i), "subject": None, "description": text, "status": "NEW",
                              "created_at": t.isoformat(), "requester_id": str(i % 500)}}
        out.append(LoggedEvent(i + 1, 1, "zendesk", "zendesk.ticket.created", f"e{i}", t, t, payload))
    return out


def raw_round(texts: list[str]) -> float:
    model = load_model()
    start = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return len(texts) / (time.perf_counter() - start)


def stage_round(evs: list[LoggedEvent]) -> tuple[float, int]:
    embedder = Embedder(batch_size=64)  # a cold cache: every text is embedded
    stage = UnderstandStage(embedder.embed)
    rows = 0
    start = time.perf_counter()
    size = int(config.load(environ={})["DETECTOR_BATCH_SIZE"])
    for i in range(0, len(evs), size):
        stage.apply_batch(evs[i:i + size])
        rows += sum(1 for _ in stage.outputs())
    return len(evs) / (time.perf_counter() - start), rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    texts, _ = datasets.banking77("test")
    evs = events(texts)
    raw_round(texts)  # warm-up: model load and first-pass allocator costs stay out of the timings
    raw, stage = [], []
    for r in range(args.rounds):
        raw.append(raw_round(texts))
        tps, rows = stage_round(evs)
        stage.append(tps)
        print(f"round {r}: raw {raw[-1]:.1f} texts/s, stage {stage[-1]:.1f} tickets/s ({rows} output rows)", flush=True)
    raw_b, stage_b = max(raw), max(stage)
    overhead = raw_b / stage_b - 1
    lines = ["| path | per second, best round | median | rounds |", "|---|---|---|---|",
             f"| raw `SentenceTransformer.encode`, batch 64 | {raw_b:.1f} | {statistics.median(raw):.1f} | "
             f"{', '.join(f'{x:.1f}' for x in raw)} |",
             f"| `UnderstandStage` (parse, clean, redact, embed, topic, outputs) | {stage_b:.1f} | "
             f"{statistics.median(stage):.1f} | {', '.join(f'{x:.1f}' for x in stage)} |",
             "", f"Stage overhead: {100 * overhead:+.1f}% (goal: at most +15%). "
             f"Data: Banking77 test, {len(texts):,} texts, one 2-core CPU machine, same process, alternating rounds."]
    report = "\n".join(lines)
    print(report)
    if args.write:
        update_section("Understanding throughput (`bench/embed.py`)",
                       f"Command: `.venv/bin/python bench/embed.py --rounds {args.rounds} --write` "
                       f"({datetime.now(timezone.utc):%Y-%m-%d})\n\n{report}")


if __name__ == "__main__":
    main()
