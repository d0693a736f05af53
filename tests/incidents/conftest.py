"""The detection engine's warmed-up states, built once per run: three weeks of background traffic take a
while. Each holds pickled bytes that are never changed; a test unpickles its own copy."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from server.incidents.engine import Engine, Observation
from tests.incidents.engine_data import DAYS, RATES, _with_vectors, background, run


@pytest.fixture(scope="session")
def history() -> list[Observation]:
    return background(float(DAYS))


@pytest.fixture(scope="session")
def warmed(history) -> bytes:
    """An engine after three weeks of background traffic (pickled: each test gets its own copy)."""
    return pickle.dumps(run(Engine(), history))


@pytest.fixture(scope="session")
def warmed_with_vectors(history) -> tuple[bytes, dict[int, np.ndarray]]:
    rng = np.random.default_rng(99)
    centres = {t: (lambda v: v / np.linalg.norm(v))(rng.normal(size=384)) for t in [*RATES, 50]}
    return pickle.dumps(run(Engine(), _with_vectors(history, 1, centres))), centres
