"""Range and shape novelty, and how the multiscale NAB detector reports episodes, on constructed series."""

from __future__ import annotations

import pickle

import numpy as np

from server.detect import RangeNovelty, Refractory, ShapeNovelty, Strongest, make


def feed(det, values):
    scores = []
    for v in values:
        x = {"y": float(v)}
        scores.append(det.score_one(x))
        det.learn_one(x)
    return scores


def noise(n, seed=0):
    """Bounded noise (5..11): after a few dozen points it never leaves its range."""
    return np.random.default_rng(seed).integers(5, 12, n).astype(float)


def test_range_novelty_finds_a_spike_and_a_level_shift_once():
    det = RangeNovelty(warmup=50)
    feed(det, noise(500))
    assert feed(det, [40.0])[0] == 1.0
    shift = feed(det, [60.0] * 100)                     # a new level: the first point leaves the range
    assert shift[0] == 1.0 and sum(shift) == 1.0        # ... the rest are inside the range it widened


def test_range_novelty_ignores_small_excursions_and_is_silent_while_learning():
    det = RangeNovelty(tolerance=0.1, warmup=50)
    assert sum(feed(det, list(range(49)))) == 0.0       # a climb during warm-up is learning, not news
    feed(det, noise(200))
    assert det.score_one({"y": 49.5}) == 0.0            # within 10% of the range (0..48)
    assert det.score_one({"y": 60.0}) == 1.0


def test_shape_novelty_finds_a_broken_rhythm_and_forgets_nothing_it_has_seen():
    det = ShapeNovelty(warmup=50)
    feed(det, [0, 5, 10, 5] * 200)
    assert det.score_one({"y": 0.0}) == 0.0             # the rhythm goes on
    assert det.score_one({"y": 10.0}) > 2               # 5 10 5 10: never seen, and new shapes are rare
    assert det.score_one({"y": 10.0}) == det.score_one({"y": 10.0})   # scoring is pure
    late = feed(det, [0, 5, 10, 5] * 10)
    assert max(late) == 0.0


def test_strongest_takes_the_largest_weighted_score_and_all_parts_learn():
    a, b = RangeNovelty(warmup=5), RangeNovelty(warmup=5, tolerance=1.0)
    det = Strongest([a, b], weights=[2.0, 3.0])
    feed(det, [0.0, 1.0] * 10)
    assert a._n == b._n == 20
    assert det.score_one({"y": 1.5}) == 2.0             # only the tight one fires
    assert det.score_one({"y": 5.0}) == 3.0             # both fire; the heavier weight wins


def test_refractory_reports_the_first_point_of_an_episode_only():
    det = Refractory(RangeNovelty(warmup=5), threshold=1.0, quiet=5)
    feed(det, [0.0, 1.0] * 10)
    scores = feed(det, [float(v) for v in range(10, 20)])   # every point is a new high
    assert scores == [1.0, 0, 0, 0, 0, 0, 1.0, 0, 0, 0]
    assert det.anomaly_detector._n == 30                # learnt through the quiet spell


def test_multiscale_finds_a_spike_and_reports_a_level_shift_once():
    det = make("volume_multiscale", warmup=100, short_halflife=6.0, shape_weight=0.4)
    quiet = feed(det, noise(1500))
    assert max(quiet[300:]) < 1.3
    assert feed(det, [60.0])[0] > 1.3
    det = make("volume_multiscale", warmup=100, short_halflife=6.0, shape_weight=0.4)
    feed(det, noise(1500))
    shift = feed(det, noise(300, seed=2) + 25)
    assert shift[0] > 1.3
    assert sum(s >= 1.3 for s in shift) <= 3           # an episode, not 300 alerts


def test_multiscale_pickles_and_clones():
    det = make("volume_multiscale", warmup=20)
    feed(det, noise(100))
    again = pickle.loads(pickle.dumps(det))
    assert again.score_one({"y": 30.0}) == det.score_one({"y": 30.0})
    fresh = det.clone()
    assert fresh.score_one({"y": 30.0}) == 0.0          # a clone starts from scratch
