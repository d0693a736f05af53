"""The NAB scorer against the reference values of shared/research/nab.md (section 2).

The corpus-level table of nab.md 2.9 (synthetic detectors on the 116 real windows) needs the dataset,
which tests must not read: ``bench/nab.py`` checks it on every run and stops if it is not reproduced.
Here: the constants, per-row values, normalisations and sweep rules that the reference values rest on,
on windows built here.
"""

from __future__ import annotations

import math

import pytest

from server.detect.nab import PROFILES, M, NabFile, normalise, optimise, probation_rows, scaled_sigmoid, window_rows

STD, LOW_FP, LOW_FN = PROFILES["standard"], PROFILES["reward_low_FP_rate"], PROFILES["reward_low_FN_rate"]


def test_the_nab_scorer_reproduces_the_reference_values():
    # 2.3: M, the first / middle / last row of a window, the post-window penalty
    assert M == pytest.approx(0.98661429815, abs=1e-11)
    v, _ = NabFile(n=3000, windows=[(1000, 1396)]).values(STD)          # W = 397, the realTweets median
    assert v[1000] == pytest.approx(1.0)
    assert v[1198] == pytest.approx(0.860, abs=1e-3)                    # centre row
    assert v[1396] == pytest.approx(0.0064, abs=5e-5)                   # last row
    assert v[1396 + 396] == pytest.approx(-0.9866 * 0.11, abs=1e-4)     # x = 1: divides by W - 1
    assert v[2999] == pytest.approx(-0.11)                              # x > 3
    # 2.8: normalisation; the raw scores of 2.9 give the published scores
    assert round(normalise(46.634, 116, STD), 2) == 70.10               # numenta
    assert round(normalise(57.661, 116, STD), 2) == 74.85               # ARTime
    assert round(normalise(-116, 116, STD), 2) == 0.0
    assert round(normalise(116, 116, STD), 2) == 100.0
    assert normalise(-232, 116, LOW_FN) == 0.0 and normalise(116, 116, LOW_FN) == 100.0
    # 2.9: first rows give 100, never firing gives 0, in every profile
    files = [NabFile(n=4032, windows=[(1000, 1402), (3000, 3402)]), NabFile(n=2000, windows=[])]
    for profile in PROFILES.values():
        first = [(f, [1.0 if any(i == w[0] for w in f.windows) else 0.0 for i in range(f.n)]) for f in files]
        assert normalise(optimise(first, profile)[1], 2, profile) == pytest.approx(100.0)
        never = [(f, [0.0] * f.n) for f in files]
        assert optimise(never, profile) == (math.inf, -profile.fn * 2)


def test_probation_and_window_edges():
    assert probation_rows(1000) == 150 and probation_rows(5000) == 750 and probation_rows(365) == 54
    assert window_rows(["t0", "t1", "t1", "t2"], [["t1", "t2"]]) == [(1, 3)]


def test_detections_inside_probation_are_ignored():
    f = NabFile(n=1000, windows=[(500, 599)])
    a = [0.0] * 1000
    a[10] = 1.0                                                          # inside the first 150 rows
    a[500] = 1.0
    assert f.score(a, 1.0, STD) == pytest.approx(1.0)


def test_only_the_earliest_detection_in_a_window_counts_and_every_false_positive_costs():
    f = NabFile(n=1000, windows=[(500, 599)])
    a = [0.0] * 1000
    for i in (550, 560, 570):
        a[i] = 1.0
    a[300] = a[301] = 1.0
    expected = scaled_sigmoid(-(599 - 550 + 1) / 100) / M - 2 * 0.11
    assert f.score(a, 1.0, STD) == pytest.approx(expected)
    assert f.score(a, 1.0, LOW_FP) == pytest.approx(expected - 2 * 0.11)


def test_the_sweep_finds_the_best_threshold_and_breaks_ties_upwards():
    f = NabFile(n=1000, windows=[(500, 599)])
    a = [0.0] * 1000
    a[500] = 0.9
    a[700] = 0.5                                                         # costs, so 0.9 wins
    assert optimise([(f, a)], STD) == (0.9, pytest.approx(1.0))
    b = [0.0] * 1000
    b[500] = 0.9
    b[520] = 0.8                                                         # same S at 0.9 and 0.8: largest
    assert optimise([(f, b)], STD)[0] == 0.9
    assert sum(f.score(a, 0.9, p) for p in [STD]) == pytest.approx(optimise([(f, a)], STD)[1])
