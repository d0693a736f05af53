"""The sentiment test and a volume incident's tone (a part of :class:`~server.incidents.engine.Engine`).

Each new ticket: the mean VADER compound score of a segment's (topic, plan tier, organisation) tickets in
the last 6 h against the segment's learnt mean and spread (Student t), when the fall is at least
``SENTIMENT_EFFECT``. Segments learn their tone from tickets no sentiment incident holds.
"""

from __future__ import annotations

import math
from collections import deque

from scipy import special

from server.incidents.state import SENTIMENT_WINDOW, Alert, Describe, IncidentState, Observation, _dominant, _push, _Ticket

SENTIMENT_DIMS = ("plan", "organization")
#: Sentiment: tickets a segment needs before it is tested, tickets in a tested window, window length.
SENTIMENT_WARMUP = 40
SENTIMENT_MIN = 8
#: Least fall of the mean compound score (on -1..1) worth an incident.
SENTIMENT_EFFECT = 0.3
#: A silence this long (and longer than what came after it) before a change of tone's latest tickets
#: separates them from cross tickets before it (``Engine._tone_onset``).
TONE_SILENCE = 3600.0
#: A volume incident's sentence tells its tickets' tone when at least this many are this many standard
#: errors below the mean sentiment of a topic that has learnt at least this many tickets.
TONE_MIN_TICKETS = 3
TONE_Z = 3.0
TONE_MIN_LEARNT = 30
#: Sentiment pools of plans and organisations: past this many, those with nothing recent are dropped.
MAX_POOLS = 5000


class SentimentTest:
    """Sentiment pools and tests of topics, plans and organisations. A part of
    :class:`~server.incidents.engine.Engine`."""

    def _pool(self, ticket: _Ticket) -> None:
        """Keep the ticket in its plan's and organisation's sentiment pools (last SENTIMENT_WINDOW)."""
        pools = self.__dict__.setdefault("pools", {})  # absent from checkpoints written before pools
        for dim in SENTIMENT_DIMS:
            value = ticket.segments.get(dim)
            if value:
                _push(pools.setdefault(f"{dim}:{value}", deque()), ticket, SENTIMENT_WINDOW)
        if len(pools) > MAX_POOLS:  # forget segments with nothing recent
            for key in [k for k, q in pools.items() if not q or q[-1].ts <= ticket.ts - SENTIMENT_WINDOW]:
                del pools[key]

    def _sentiment_keys(self, obs: Observation) -> list[str]:
        keys = [f"topic:{obs.topic_id}"]
        for dim in SENTIMENT_DIMS:
            if obs.segments.get(dim):
                keys.append(f"{dim}:{obs.segments[dim]}")
        return keys

    def _learn_sentiment(self, obs: Observation) -> None:
        for key in self._sentiment_keys(obs):
            if self.active.get((key, "sentiment")) is not None:
                continue
            st = self.sentiment.setdefault(key, [0.0, 0.0, 0.0])
            n, mean, m2 = st
            x = obs.sentiment
            if n >= 10:
                sd = math.sqrt(max(m2, 1e-4))
                x = min(max(x, mean - 3 * sd), mean + 3 * sd)
            n += 1
            rate = max(1.0 / n, 1.0 / 300.0)
            delta = x - mean
            mean += rate * delta
            m2 = (1 - rate) * (m2 + rate * delta * delta)
            self.sentiment[key] = [n, mean, m2]
        if len(self.sentiment) > 20000:  # bound: forget the least-seen segments
            for key in sorted(self.sentiment, key=lambda k: self.sentiment[k][0])[:2000]:
                del self.sentiment[key]

    def _test_sentiment(self, obs: Observation, ticket: _Ticket, describe: Describe) -> None:
        now = ticket.ts
        for key in self._sentiment_keys(obs):
            st = self.sentiment.get(key)
            if st is None or st[0] < SENTIMENT_WARMUP:
                continue
            pool = self._segment_pool(key, now)
            if len(pool) < SENTIMENT_MIN or len({t.who for t in pool}) < self.settings.min_requesters:
                continue
            _, mean, m2 = st
            k = len(pool)
            sd = math.sqrt(max(m2, 1e-4))
            m = sum(t.sentiment for t in pool) / k
            if m > mean - SENTIMENT_EFFECT:
                continue  # significant or not, too small a change of tone to act on
            z = (m - mean) / (sd / math.sqrt(k))
            self._count_test("sentiment", key, SENTIMENT_WINDOW, now)
            p = float(special.stdtr(k - 1, z)) * len(SENTIMENT_DIMS + ("topic",))
            plan = key.split(":", 1)[1] if key.startswith("plan:") else _dominant(pool, "plan")
            if p <= self.alpha("sentiment", key, plan):
                # Evidence in the tone's own units: the window's mean against the usual mean and the 99%
                # band of a mean of k tickets (the ticket count is the evidence's window_tickets).
                # Its tickets are those below the usual tone, the angriest first (they are its
                # representatives), as later tickets attach only when below it.
                half = 2.576 * sd / math.sqrt(k)
                since = self._tone_onset(pool, mean, sd)
                worse = sorted((t for t in pool if t.sentiment < mean and t.ts >= since), key=lambda t: t.sentiment)
                self._alert(Alert("sentiment", key, min(p, 1.0), "down", SENTIMENT_WINDOW, round(m, 3), mean,
                                  round(mean - half, 3), round(mean + half, 3), worse, [], window_tickets=k),
                            now, describe)

    @staticmethod
    def _tone_onset(pool: list[_Ticket], mean: float, sd: float) -> float:
        """When the change of tone began: the start of the run of the window's latest tickets (at least
        three) whose mean is least likely under the usual tone, its spread learnt from the segment's
        whole history (so a normal tail; the latest such start on a tie). A ticket hours earlier that
        happened to be cross is not the change's first. Nor are cross tickets before a silence of at
        least ``TONE_SILENCE`` and longer than everything after it (at least three tickets; an ordinary
        pause inside a burst is neither): in a segment that rarely writes, a few
        unrelated cross tickets in the morning and an outage's burst in the afternoon are one run by
        tone alone, but the burst began after the silence."""
        chrono = sorted(pool, key=lambda t: t.ts)
        best, best_p, total = 0, 2.0, 0.0
        for j in range(len(chrono) - 1, -1, -1):
            total += chrono[j].sentiment
            n = len(chrono) - j
            if n < 3:
                continue
            p = float(special.ndtr((total / n - mean) / (sd / math.sqrt(n))))
            if p < best_p:
                best, best_p = j, p
        last = chrono[-1].ts
        for g in range(len(chrono) - 3, best, -1):  # the latest such silence
            gap = chrono[g].ts - chrono[g - 1].ts
            if gap >= TONE_SILENCE and gap > last - chrono[g].ts:
                return chrono[g].ts
        return chrono[best].ts

    def _segment_pool(self, key: str, now: float) -> list[_Ticket]:
        """A sentiment segment's tickets in the trailing window: a topic's, or a plan's or
        organisation's across every topic."""
        if key.startswith("topic:"):
            series = self.series.get(key)
            return series.in_window(now, SENTIMENT_WINDOW) if series else []
        pool = self.__dict__.get("pools", {}).get(key, ())
        return [t for t in pool if now - SENTIMENT_WINDOW < t.ts <= now]

    def _sentiment_calm(self, inc: IncidentState, now: float) -> bool:
        st = self.sentiment.get(inc.series)
        if st is None:
            return True
        pool = self._segment_pool(inc.series, now)
        if len(pool) < SENTIMENT_MIN:
            return True
        m = sum(t.sentiment for t in pool) / len(pool)
        return m >= st[1] - math.sqrt(max(st[2], 1e-4)) / math.sqrt(len(pool))

    def tone(self, inc: IncidentState) -> dict[str, float] | None:
        """A volume incident's tickets' mean sentiment when it is clearly below its topic's usual: at least
        ``TONE_MIN_TICKETS`` tickets, a topic that has learnt ``TONE_MIN_LEARNT``, and a mean at least
        ``TONE_Z`` standard errors below the topic's (the agent's "and they are angrier than usual")."""
        n, total = inc.__dict__.get("tone", (0, 0.0))
        st = self.sentiment.get(f"topic:{inc.topic_id}") if inc.topic_id is not None else None
        if n < TONE_MIN_TICKETS or st is None or st[0] < TONE_MIN_LEARNT:
            return None
        mean, usual, sd = total / n, st[1], math.sqrt(max(st[2], 1e-4))
        if (mean - usual) / (sd / math.sqrt(n)) > -TONE_Z:
            return None
        return {"mean": round(mean, 2), "usual": round(usual, 2), "tickets": n}
