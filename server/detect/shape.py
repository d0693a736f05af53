"""Range and shape novelty: two small detectors that look at where a value lies, not at its surprise.

``VolumeDetector`` asks "how unlikely is this value under the current baseline?". That misses two kinds
of change that matter on real streams (and on NAB, where HTM, CAD OSE and ARTime score them):

- ``RangeNovelty``: the value leaves the range of everything seen so far in the stream (a new high or a
  new low), by more than ``tolerance`` of that range. A baseline that adapts (a short level half-life)
  forgives a slow climb point by point; the range never does. The range is the stream's own, learnt
  online from the points already seen, never a range given in advance.
- ``ShapeNovelty``: the last ``length`` values, each quantised into ``levels`` bands of the range seen so
  far, form a shape; a shape never seen before is evidence of new behaviour (a new rhythm, a flat line
  where there used to be noise) even when no single value is surprising. New shapes are common while a
  stream is young and rare later, so a new shape scores ``-log10`` of the recent rate of new shapes: 3
  when about one point in a thousand has brought a new shape lately, 0 when every point does.

Both score before learning (``score_one`` is pure) and are silent for their first ``warmup`` points. The
shape memory is a set of tuples, bounded by ``levels ** length``.

Examples
--------
>>> det = RangeNovelty(warmup=10)
>>> for i in range(50):
...     det.learn_one({"y": float(i % 10)})
>>> det.score_one({"y": 9.0}), det.score_one({"y": 12.0})
(0.0, 1.0)
>>> shape = ShapeNovelty(warmup=10)
>>> for i in range(300):                             # the rhythm 0 1 2 3 0 1 2 3 ...; the last value is 3
...     shape.learn_one({"y": float(i % 4)})
>>> shape.score_one({"y": 0.0}), shape.score_one({"y": 3.0}) > 3   # 0 is familiar, 3 3 is new
(0.0, True)
"""

from __future__ import annotations

import math

from river import base

__all__ = ["RangeNovelty", "ShapeNovelty"]


class _Range:
    """Smallest and largest value seen so far."""

    def __init__(self):
        self.lo: float | None = None
        self.hi: float | None = None

    def update(self, y: float) -> None:
        self.lo = y if self.lo is None else min(self.lo, y)
        self.hi = y if self.hi is None else max(self.hi, y)

    @property
    def width(self) -> float:
        return 0.0 if self.lo is None else self.hi - self.lo


class RangeNovelty(base.AnomalyDetector):
    """1 when the value is outside the range seen so far by more than ``tolerance`` of it, else 0.

    Parameters
    ----------
    value_key
        Key of the value in each ``x``.
    tolerance
        Margin, as a fraction of the range seen so far, that a value must exceed to score.
    warmup
        Points learnt before any score is non-zero (the range is still being discovered).
    """

    def __init__(self, value_key: str = "y", tolerance: float = 0.02, warmup: int = 150):
        self.value_key = value_key
        self.tolerance = tolerance
        self.warmup = warmup
        self._range = _Range()
        self._n = 0

    def score_one(self, x: dict) -> float:
        """1.0 for a new high or low beyond the margin; 0 otherwise and during warm-up. Pure."""
        width = self._range.width
        if self._n < self.warmup or width <= 0:
            return 0.0
        y = float(x[self.value_key])
        margin = self.tolerance * width
        return 1.0 if y > self._range.hi + margin or y < self._range.lo - margin else 0.0

    def learn_one(self, x: dict) -> None:
        self._range.update(float(x[self.value_key]))
        self._n += 1


class ShapeNovelty(base.AnomalyDetector):
    """A never-seen quantised shape of the last ``length`` values scores -log10(recent rate of new shapes).

    Parameters
    ----------
    value_key
        Key of the value in each ``x``.
    levels
        Bands the range seen so far is cut into.
    length
        Values in a shape (the current one and the ``length - 1`` before it).
    halflife
        Half-life, in points, of the rate of new shapes.
    warmup
        Points learnt before any score is non-zero (and before the rate counts).
    """

    def __init__(self, value_key: str = "y", levels: int = 5, length: int = 4, halflife: float = 1000.0,
                 warmup: int = 150):
        self.value_key = value_key
        self.levels = levels
        self.length = length
        self.halflife = halflife
        self.warmup = warmup
        self._range = _Range()
        self._recent: list[float] = []
        self._seen: set[tuple[int, ...]] = set()
        self._rate = 1.0
        self._n = 0
        self._counted = 0

    def _shape(self, y: float) -> tuple[int, ...] | None:
        """The quantised shape ending with ``y``; None until the range and the history allow one."""
        values = (self._recent + [y])[-self.length:]
        width = self._range.width
        if width <= 0 or len(values) < self.length:
            return None
        top = self.levels - 1
        return tuple(min(top, max(0, int(self.levels * (v - self._range.lo) / width))) for v in values)

    def _new(self, y: float) -> bool:
        shape = self._shape(y)
        return shape is not None and shape not in self._seen

    def score_one(self, x: dict) -> float:
        """-log10 of the recent rate of new shapes if ``x`` makes a new one, else 0; 0 during warm-up. Pure."""
        if self._n < self.warmup or not self._new(float(x[self.value_key])):
            return 0.0
        return -math.log10(max(self._rate, 1e-6))

    def learn_one(self, x: dict) -> None:
        y = float(x[self.value_key])
        if self._n < 1:
            self._range.update(y)
        shape = self._shape(y)
        if self._n >= self.warmup:
            self._counted += 1
            rate = max(1.0 - 0.5 ** (1.0 / self.halflife), 1.0 / self._counted)
            self._rate += rate * (float(shape is not None and shape not in self._seen) - self._rate)
        if shape is not None:
            self._seen.add(shape)
        self._recent = (self._recent + [y])[-(self.length - 1):] if self.length > 1 else []
        self._range.update(y)
        self._n += 1
