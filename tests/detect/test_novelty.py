from __future__ import annotations

import numpy as np

from server.detect import Novelty, VolumeDetector


def test_the_first_point_of_a_burst_scores_highest():
    rng = np.random.default_rng(0)
    det = Novelty(VolumeDetector(), warmup=50)
    for v in rng.poisson(8, 500):
        det.learn_one({"y": int(v)})
    scores = []
    for _ in range(3):
        x = {"y": 60}
        scores.append(det.score_one(x))
        det.learn_one(x)
    assert scores[0] > 1 and scores[0] > scores[1] > 0


def test_silent_during_warmup():
    det = Novelty(VolumeDetector(), warmup=10)
    for _ in range(9):
        det.learn_one({"y": 1})
    assert det.score_one({"y": 100}) == 0.0
