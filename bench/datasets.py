"""Loaders for the benchmark datasets, read in place from GROUNDSWELL_DATASETS (default
``../shared/datasets`` beside the checkout). Nothing is copied into the repository."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    path = Path(os.environ.get("GROUNDSWELL_DATASETS", ROOT.parent / "shared" / "datasets"))
    if not path.is_dir():
        raise SystemExit(f"datasets not found at {path}; set GROUNDSWELL_DATASETS")
    return path


def banking77(split: str = "test") -> tuple[list[str], list[str]]:
    with open(datasets_dir() / "banking77" / f"{split}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def clinc150(split: str = "test") -> tuple[list[str], list[str]]:
    data = json.loads((datasets_dir() / "clinc150" / "data_full.json").read_text())
    return [t for t, _ in data[split]], [label for _, label in data[split]]


def ibm_twitter(split: str = "test") -> list[dict]:
    """Conversations: customer turns before the agent's URL, the company, and the resolving doc_id."""
    data = json.loads((datasets_dir() / "ibm_twitter_cdp" / f"{split}.json").read_text())
    out = []
    for conv in data:
        text = " ".join(t.get("message", "") for t in conv["dialogContent"] if "client" in t)
        out.append({"text": text, "doc_id": str(conv["agentURL"]["doc_id"]),
                    "company": conv["dialogHeader"]["company"]})
    return out
