"""Label stability benchmark: how often a topic's label changes, and whether it still names the topic.

What it measures
----------------
Banking77 queries (``test.csv``: 3,080 texts; ``train.csv``: 10,003; 77 intents) replayed as
tickets, in a shuffled order, through the product's ``TopicModel`` with its default parameters.
Each text is embedded with the product's ``Embedder`` and its terms are taken as the understanding
stage takes them (cleaned, redacted, ``keywords.terms``). After every ticket, each topic that
changed is read, as the read side reads it, under two rules on the same model state in the same run:

- **before**: the live ranking, ``keywords.label(terms, df, 3)`` joined by " · ": the label as it
  was before topics kept one (every reordering of the top terms shows);
- **after**: the label the product shows, ``Topic.snapshot(df)["label"]`` (``StickyLabel``).

A read after every ticket is the most a person could see; the detector writes topics once per
batch, so fewer of these changes reach the database, for both rules alike.

Stability, for topics that reached 10 tickets (big enough to carry an incident): label changes
per topic over the whole replay, changes once the topic had 10 tickets, the share of topics whose
label never changed after that, the most changes of one topic, and how many of all changes were
only a reordering of the same terms.

Quality: a label *names its intent* when one of its words matches a word of the name of the
topic's majority intent (``card_payment_fee_charged``: card, payment, fee, charged; stop words
left out as ``keywords.terms`` leaves them out; two words match when equal, or when one starts
with the other and the shorter has at least 4 letters: card/cards, decline/declined). Measured on
the final labels of topics with at least 10 tickets, and on every read during the replay of a
topic that had at least 10 tickets then (against its majority intent at that moment), which
charges a sticky label for lagging behind its topic.

Cost: the time the label rule takes per ticket (``TopicModel._relabel``), next to the time
embedding takes per text in the same run.

The rule's parameters (``label_margin``, ``label_growth``, ``label_hold``) were set before this
benchmark was written and not tuned on it.

Run ``python bench/labels.py [--splits test train] [--shuffles 3] [--write]``; ``--write``
records the tables in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import datasets  # noqa: E402
from bench.results import update_section  # noqa: E402
from server.understand.embed import Embedder  # noqa: E402
from server.understand.keywords import STOP, label, terms  # noqa: E402
from server.understand.redact import redact  # noqa: E402
from server.understand.text import clean  # noqa: E402
from server.understand.topics import TopicModel  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: Topics at least this large are the ones counted: big enough to carry an incident.
MATURE = 10
RULES = ("before", "after")


def words_match(a: str, b: str) -> bool:
    """Equal words, or one the start of the other with at least 4 letters (card/cards)."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short)


def names_intent(label_text: str, intent: str) -> bool:
    """Whether a word of the label matches a word of the intent's name."""
    wanted = [w for w in intent.lower().split("_") if w not in STOP]
    have = [w for part in label_text.split(" · ") for w in part.split(" ")]
    return any(words_match(h, w) for h in have for w in wanted)


def first_names_intent(label_text: str, intent: str) -> bool:
    return names_intent(label_text.split(" · ")[0], intent)


def replay(x: np.ndarray, term_lists: list[list[str]], y: list[str], order: np.ndarray) -> dict[str, dict]:
    """One replay; for each rule, its stability and quality figures."""
    model = TopicModel()
    rule_seconds = [0.0]
    relabel = model._relabel

    def timed_relabel(topic):
        start = time.perf_counter()
        changed = relabel(topic)
        rule_seconds[0] += time.perf_counter() - start
        return changed

    model._relabel = timed_relabel  # type: ignore[method-assign]
    members: dict[int, Counter[str]] = {}
    largest: Counter[int] = Counter()
    last: dict[str, dict[int, str]] = {r: {} for r in RULES}
    changes: dict[str, Counter[int]] = {r: Counter() for r in RULES}
    mature_changes: dict[str, Counter[int]] = {r: Counter() for r in RULES}
    reorders = {r: 0 for r in RULES}
    reads = {r: [0, 0, 0] for r in RULES}  # reads of mature topics, naming the intent, by the first term
    for step, i in enumerate(order):
        a = model.learn_one(x[i], ticket_id=str(i), text="", terms=term_lists[i], at=T0 + timedelta(seconds=step))
        changed = model.changed()
        for tid in changed:  # merges first: the absorbed topic's members move to the survivor
            if model.topics[tid].merged_into is not None and tid in members:
                members.setdefault(model.resolve(tid), Counter()).update(members.pop(tid))
        members.setdefault(a.topic_id, Counter())[y[i]] += 1
        for tid in changed:
            topic = model.topics[tid]
            if topic.merged_into is not None:
                continue
            largest[tid] = max(largest[tid], topic.size)
            shown = {"before": " · ".join(label(topic.terms, model.df, 3)) or f"topic {tid}",
                     "after": topic.snapshot(model.df)["label"]}
            intent = members[tid].most_common(1)[0][0]
            for rule, text in shown.items():
                old = last[rule].get(tid)
                if old is not None and old != text:
                    changes[rule][tid] += 1
                    mature_changes[rule][tid] += topic.size >= MATURE
                    reorders[rule] += set(old.split(" · ")) == set(text.split(" · "))
                last[rule][tid] = text
                if topic.size >= MATURE:
                    reads[rule][0] += 1
                    reads[rule][1] += names_intent(text, intent)
                    reads[rule][2] += first_names_intent(text, intent)
    counted = [t for t, n in largest.items() if n >= MATURE]
    final = [t for t in counted if model.topics[t].merged_into is None]
    # Every live topic's label at the end, under each rule: a label another live topic also shows can only be
    # told apart by its id; a contraction ("we'd", "what's") is a fragment, not a term.
    live = [t for t, topic in model.topics.items() if topic.merged_into is None]
    at_end = {"before": {t: " · ".join(label(model.topics[t].terms, model.df, 3)) or f"topic {t}" for t in live},
              "after": {t: model.topics[t].snapshot(model.df)["label"] for t in live}}
    out: dict[str, dict] = {}
    for rule in RULES:
        per_topic = [changes[rule][t] for t in counted]
        mature = [mature_changes[rule][t] for t in counted]
        total = sum(changes[rule].values())
        out[rule] = {
            "topics": len(counted),
            "changes": float(np.mean(per_topic)),
            "mature": float(np.mean(mature)),
            "never": 100 * float(np.mean([m == 0 for m in mature])),
            "most": float(max(per_topic)),
            "reorder": 100 * reorders[rule] / max(1, total),
            "total": float(total),
            "final_any": 100 * float(np.mean([names_intent(last[rule][t], members[t].most_common(1)[0][0])
                                              for t in final])),
            "final_first": 100 * float(np.mean([first_names_intent(last[rule][t], members[t].most_common(1)[0][0])
                                                for t in final])),
            "reads_any": 100 * reads[rule][1] / max(1, reads[rule][0]),
            "reads_first": 100 * reads[rule][2] / max(1, reads[rule][0]),
            "rule_ms": 1000 * rule_seconds[0] / len(order),
            "shared": 100 * float(np.mean([Counter(at_end[rule].values())[at_end[rule][t]] > 1 for t in final])),
            "fragment": 100 * float(np.mean([any("'" in w for w in at_end[rule][t].replace(" · ", " ").split())
                                             for t in final])),
        }
    return out


def fmt(values: list[float], digits: int = 1) -> str:
    mean, std = float(np.mean(values)), float(np.std(values))
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std > 0 else f"{mean:.{digits}f}"


def run_split(split: str, embedder: Embedder, shuffles: int) -> list[str]:
    texts, y = datasets.banking77(split)
    start = time.perf_counter()
    x = embedder.embed(texts)
    embed_ms = 1000 * (time.perf_counter() - start) / len(texts)
    term_lists = [terms(redact(clean(t)).text) for t in texts]
    runs = []
    for seed in range(shuffles):
        runs.append(replay(x, term_lists, y, np.random.default_rng(seed).permutation(len(texts))))
        print(f"  {split} shuffle {seed}: changes per topic before {runs[-1]['before']['changes']:.1f}, "
              f"after {runs[-1]['after']['changes']:.1f}", flush=True)

    def col(rule: str, key: str, digits: int = 1) -> str:
        return fmt([r[rule][key] for r in runs], digits)

    lines = [f"**Banking77 {split}** ({len(texts):,} texts, 77 intents; {shuffles} shuffles; "
             f"topics that reached {MATURE} tickets: {col('after', 'topics', 0)})", "",
             "| rule | label changes per topic | changes after 10 tickets | topics never relabelled after 10 "
             "| most changes, one topic | changes that only reorder | final labels naming the intent "
             "(any word / first term) | reads naming the intent (any word / first term) "
             "| final labels another live topic also shows | final labels with a contraction |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    names = {"before": "before: live ranking", "after": "after: sticky label (product)"}
    for rule in RULES:
        lines.append(f"| {names[rule]} | {col(rule, 'changes')} | {col(rule, 'mature')} | {col(rule, 'never')}% "
                     f"| {col(rule, 'most', 0)} | {col(rule, 'reorder')}% | {col(rule, 'final_any')}% / "
                     f"{col(rule, 'final_first')}% | {col(rule, 'reads_any')}% / {col(rule, 'reads_first')}% "
                     f"| {col(rule, 'shared')}% | {col(rule, 'fragment')}% |")
    ratio = [r["before"]["changes"] / max(1e-9, r["after"]["changes"]) for r in runs]

    def diff(key: str) -> str:
        return fmt([r["after"][key] - r["before"][key] for r in runs])

    lines += ["", f"Changes per topic, before ÷ after (same replays): {fmt(ratio)}×. Quality, after − before "
                  f"(same replays, points): final labels {diff('final_any')} / {diff('final_first')}, reads "
                  f"{diff('reads_any')} / {diff('reads_first')}. Label rule: "
                  f"{col('after', 'rule_ms', 3)} ms per ticket; embedding in the same run: {embed_ms:.1f} ms per text.",
              ""]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", nargs="+", default=["test", "train"], choices=["test", "train"])
    ap.add_argument("--shuffles", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="record the tables in bench/RESULTS.md")
    args = ap.parse_args()
    embedder = Embedder(batch_size=64)
    lines: list[str] = []
    for split in args.splits:
        lines += run_split(split, embedder, args.shuffles)
    params = {k: getattr(TopicModel(), k) for k in ("label_margin", "label_growth", "label_hold")}
    lines += ["A kept label lags the live ranking by design: it describes the topic as it was when the label was "
              "chosen, in the order its terms had then, so it names the intent a little less often than the ranking "
              "of the moment, most of all by its first term (a reordering that would bring the intent's word first is "
              "not shown).", "",
              f"Label parameters: {params} (set before this benchmark, not tuned on it)."]
    report = "\n".join(lines)
    print(report)
    if args.write:
        update_section("Topic labels (`bench/labels.py`)",
                       f"Command: `.venv/bin/python bench/labels.py --splits {' '.join(args.splits)} "
                       f"--shuffles {args.shuffles} --write` ({datetime.now(timezone.utc):%Y-%m-%d}, "
                       f"2-core CPU machine)\n\n{report}")


if __name__ == "__main__":
    main()
