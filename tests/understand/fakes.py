"""A small, fast stand-in for the embedding model: hashed bags of words, L2-normalised.

Texts that share words get similar vectors, which is all the stage's tests need; the real model
is exercised by tests/understand/test_embed.py and the benchmarks.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

DIM = 384


class HashingEmbedder:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]{3,}", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[i, h % DIM] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else 0.0
            if not norm:
                out[i, 0] = 1.0
        return out
