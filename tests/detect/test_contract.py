"""Every registered detector through the shared checks (STYLE.md item 10)."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

import numpy as np
import pytest

from server.detect import DETECTORS, AlertFilter, make

T0 = datetime(2026, 3, 2)


def stream(n: int = 600, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    hours = np.arange(n) / 4.0
    lam = 5 + 4 * np.sin(2 * np.pi * hours / 24)
    y = rng.poisson(lam)
    y[n // 2] += 30
    return [{"t": T0 + timedelta(minutes=15 * i), "y": int(v)} for i, v in enumerate(y)]


def state(det) -> bytes:
    """Pickled state, normalised through one round trip (pickle's memo differs between live objects)."""
    return pickle.dumps(pickle.loads(pickle.dumps(det)))


def run(det, xs) -> list[float]:
    out = []
    for x in xs:
        out.append(det.score_one(x))
        det.learn_one(x)
    return out


@pytest.fixture(params=sorted(DETECTORS) + ["alert_filter"])
def detector(request):
    if request.param == "alert_filter":
        return AlertFilter(make("volume"), threshold=4.0)
    return make(request.param, seed=1) if "seed" in _params(request.param) else make(request.param)


def _params(kind: str) -> set[str]:
    import inspect

    return set(inspect.signature(DETECTORS[kind]).parameters)


def test_clone_rebuilds_from_parameters(detector):
    xs = stream()
    run(detector, xs[:100])
    fresh = detector.clone()
    assert fresh._get_params() == detector._get_params()
    assert run(fresh, xs) == run(detector.clone(), xs)


def test_pickle_round_trip_gives_identical_scores(detector):
    xs = stream()
    run(detector, xs[:300])
    copy = pickle.loads(pickle.dumps(detector))
    assert run(copy, xs[300:]) == run(detector, xs[300:])


def test_score_one_changes_nothing(detector):
    xs = stream()
    run(detector, xs[:300])
    before = state(detector)
    for x in xs[300:320]:
        detector.score_one(x)
    assert state(detector) == before


def test_same_seed_same_output(detector):
    xs = stream(seed=3)
    assert run(detector.clone(), xs) == run(detector.clone(), xs)


def test_replay_reaches_the_same_state(detector):
    """A checkpoint plus a replay of the rest equals one uninterrupted pass."""
    xs = stream()
    whole = detector.clone()
    run(whole, xs)
    part = detector.clone()
    run(part, xs[:250])
    restored = pickle.loads(pickle.dumps(part))
    run(restored, xs[250:])
    assert state(restored) == state(whole)
    probe = {"t": T0 + timedelta(minutes=15 * len(xs)), "y": 9}
    assert restored.score_one(probe) == whole.score_one(probe)


def test_scores_are_finite_and_non_negative(detector):
    scores = run(detector, stream())
    assert all(np.isfinite(s) and s >= 0 for s in scores)


def test_unknown_kind_is_refused():
    with pytest.raises(KeyError):
        make("no-such-detector")
