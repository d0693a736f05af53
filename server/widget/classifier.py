"""The online classifier: P(a ticket from this session's user within 24 hours), from friction features.

A river pipeline, ``StandardScaler`` then ``LogisticRegression`` (SGD), learnt one outcome at a time
in event time. Labels are delayed: a session is labelled positive when a ticket from its identified
user arrives within the horizon after the session started, negative when the horizon (plus a grace for
late ticket deliveries) passes without one. Anonymous sessions are scored but never learnt from.
"""

from __future__ import annotations

from typing import Mapping

from river import compose, linear_model, optim, preprocessing


class TicketClassifier:
    """Online logistic regression over session features, with outcome counts for readiness.

    Parameters
    ----------
    learning_rate
        SGD step of the weights.
    l2
        Ridge penalty.

    Examples
    --------
    >>> clf = TicketClassifier()
    >>> clf.predict({"failed_request": 2.0}) is None  # nothing learnt yet
    True
    >>> for _ in range(300):
    ...     clf.learn({"failed_request": 2.0, "pages": 1.0}, True)
    ...     clf.learn({"failed_request": 0.0, "pages": 1.0}, False)
    >>> stuck, calm = {"failed_request": 2.0, "pages": 1.0}, {"failed_request": 0.0, "pages": 1.0}
    >>> clf.predict(stuck) > 0.8 > 0.2 > clf.predict(calm)
    True
    >>> clf.outcomes, clf.positives, clf.ready(min_outcomes=500, min_positives=100)
    (600, 300, True)
    """

    def __init__(self, learning_rate: float = 0.05, l2: float = 0.001) -> None:
        self.learning_rate = learning_rate
        self.l2 = l2
        self.model = compose.Pipeline(
            preprocessing.StandardScaler(),
            linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate), l2=l2),
        )
        self.outcomes = 0
        self.positives = 0

    def learn(self, x: Mapping[str, float], ticket: bool) -> None:
        """Learn one labelled session."""
        self.model.learn_one(dict(x), bool(ticket))
        self.outcomes += 1
        self.positives += int(bool(ticket))

    def predict(self, x: Mapping[str, float]) -> float | None:
        """P(ticket within the horizon), or None before the first outcome. Changes nothing."""
        if self.outcomes == 0:
            return None
        proba = self.model.predict_proba_one(dict(x))
        return float(proba.get(True, 0.0))

    def ready(self, min_outcomes: int, min_positives: int) -> bool:
        """Whether enough outcomes (and enough positive ones) were seen to trust the probability."""
        return self.outcomes >= min_outcomes and self.positives >= min_positives \
            and self.outcomes - self.positives >= min_positives
