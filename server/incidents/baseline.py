"""Learnt baselines of the watched series (a part of :class:`~server.incidents.engine.Engine`).

Each series keeps an hourly baseline, a :class:`server.detect.VolumeDetector` fed one closed hour at a
time: level plus hour-of-day and day-of-week profiles, robust (winsorised) updates and a learnt
over-dispersion. A topic expects its share of the tenant's expected volume (its own hourly counts are
mostly too sparse for profiles); a channel or a form also learns its share of all tickets. An hour far
outside its band is not learnt for a while, and while an incident on a series is active its hours are not
learnt (a spike must not teach the baseline that spikes are normal) unless it lasts longer than a day
(then it is the new normal). When the topic model merges two topics, their series are merged here.
"""

from __future__ import annotations

import math
from collections import deque

from server.incidents.state import (ESTABLISHED_HOURS, HOUR, TENANT_WARMUP, _merged_history, _Series, _ts)
from server.incidents.stats import band, lower_tail, upper_tail

#: A closed hour with a tail probability below this is not learnt, unless it is the (patience+1)th in a row.
OUTLIER_P = 0.01
OUTLIER_PATIENCE = 6
#: Hours an incident may hold its series' baseline still; after that the change is the new normal.
PROTECT_HOURS = 24
#: A topic's hourly residual counts towards its over-dispersion up to this many Poisson deviations.
DISP_CLIP = 4.0


class Baselines:
    """Closing hours, forecasts and what they learn; topic merges."""

    def _close_hour(self, series: _Series) -> None:
        start = series.bucket
        y = series.count()
        mu, phi = self.forecast(series, start, start + HOUR)
        lo, hi = band(mu, phi)
        series.history.append((start, series.tickets, len(series.who), mu, lo, hi))
        halo = series.key.startswith("halo:")
        if not halo and (series.key.startswith("topic:") or series.tickets or series.baseline.n_learnt):
            self._points.append((series.key, start, series.tickets, len(series.who), mu, lo, hi))
        # An hour far outside its band is not learnt (up to OUTLIER_PATIENCE in a row: then it is the
        # new normal), so that a drop or a spike does not drag the baseline along before it is detected.
        outlier = min(upper_tail(y, mu, phi), lower_tail(y, mu, phi)) < OUTLIER_P and series.baseline.n_learnt >= ESTABLISHED_HOURS
        series.outliers = series.outliers + 1 if outlier else 0
        # The spread, though, is learnt from every hour no incident holds, outliers included: those are
        # the tails it describes (learnt from the typical hours only, it came out about half the truth,
        # and a busy topic's ordinary 3-4x hour looked like an incident).
        if not self._protected(series, start):
            level = series.outliers == 0 or series.outliers > OUTLIER_PATIENCE
            if level:
                series.baseline.learn_one({"t": start, "y": math.log1p(y)})
            if series.measure == "requesters":  # a topic, or a topic's halo
                self._learn_share(series, start, y, mu, y if level else min(max(y, lo), max(hi, 1)))
            elif series.key != "all":
                self._learn_mix(series, start, y, level)
        series.hours += 1
        series.bucket, series.tickets, series.who = start + HOUR, 0, set()
        if (series.key.startswith("topic:") and not series.first_day_counted
                and start + HOUR - series.first_ts >= 86400.0):
            series.first_day_counted = True
            if self.first_ts is None or series.first_ts - self.first_ts < TENANT_WARMUP:
                series.first_day_who = set()
                return  # topics found while the tenant warms up are old topics, not new ones
            n = float(len(series.first_day_who))
            w, m, m2 = self.new_topic_prior
            w = min(w + 1.0, 500.0)
            m += (n - m) / w
            m2 += (n * n - m2) / w
            self.new_topic_prior = [w, m, m2]
            series.first_day_who = set()

    def forecast(self, series: _Series, t0: float, t1: float) -> tuple[float, float]:
        """Expected count of ``series`` over (t0, t1] and its over-dispersion.

        A topic expects its share of the tenant's expected volume: the tenant's total is dense enough
        for hour-of-day and day-of-week profiles, a topic's own hourly counts mostly are not (a slot seen
        once a day with one ticket a week is noise); a rise at a busy hour is thus expected to be busier.
        """
        if series.measure != "requesters":  # not a topic (nor a topic's halo)
            return series.forecast(t0, t1)
        total = self.series.get("all")
        if total is None:
            return 1e-3, 1.0
        share = series.share()
        mu = var = 0.0
        inv_r = series.inv_r()
        for part in total.hourly(t0, t1):
            m = share * part
            mu += m
            var += m + inv_r * m * m
        mu = max(mu, 1e-3)
        return mu, max(var / mu, 1.0)

    def _learn_share(self, series: _Series, start: float, y: int, mu: float, y_level: float | None = None) -> None:
        """A topic's closed hour teaches its over-dispersion (from ``y``) and its share of the tenant's
        volume (from ``y_level``, by default ``y``; an outlier hour gives its band's edge)."""
        total = self.series.get("all")
        if total is None or not total.history or total.history[-1][0] != start:
            return
        y_all = total.history[-1][1]
        decay = 0.5 ** (1.0 / 168.0)
        if series.share_den > 0:  # over-dispersion of the counts around what the share predicted
            r = min(max(y - mu, -DISP_CLIP * math.sqrt(mu) - 3.0), DISP_CLIP * math.sqrt(mu) + 3.0)
            series.disp_num = series.disp_num * decay + r * r - mu
            series.disp_den = series.disp_den * decay + mu * mu
        series.share_num = series.share_num * decay + (y if y_level is None else y_level)
        series.share_den = series.share_den * decay + y_all

    def _learn_mix(self, series: _Series, start: float, n: int, level: bool = True) -> None:
        """A channel's or form's closed hour teaches its share of all tickets and that share's spread."""
        total = self.series.get("all")
        if total is None or not total.history or total.history[-1][0] != start:
            return
        n_all = total.history[-1][1]
        decay = 0.5 ** (1.0 / 168.0)
        if series.mix_den > 0 and n_all >= 2:
            s = series.mix()
            v = n_all * s * (1.0 - s)
            series.mix_disp_num = series.mix_disp_num * decay + (n - s * n_all) ** 2 - v
            series.mix_disp_den = series.mix_disp_den * decay + v * (n_all - 1)
        if not level:
            return
        series.mix_num = series.mix_num * decay + n
        series.mix_den = series.mix_den * decay + n_all

    def _protected(self, series: _Series, start: float) -> bool:
        key = "topic:" + series.key[5:] if series.key.startswith("halo:") else series.key  # its topic's incident
        for family in ("volume", "drop"):
            inc_id = self.active.get((key, family))
            if inc_id is not None:
                inc = self.incidents[inc_id]
                return start - _ts(inc.first_seen_at) < PROTECT_HOURS * HOUR
        return False

    def merge_topic(self, absorbed: int, into: int) -> None:
        """Topic ``absorbed`` was merged into ``into``: its recent tickets and incidents follow."""
        self._merge_series(self.series, f"topic:{absorbed}", f"topic:{into}")
        halos = self.__dict__.get("halos")
        if halos is not None:
            self._merge_series(halos, f"halo:{absorbed}", f"halo:{into}")
        for family in ("volume", "sentiment"):
            old = self.active.pop((f"topic:{absorbed}", family), None)
            if old is None:
                continue
            inc = self.incidents[old]
            target = self.active.get((f"topic:{into}", family))
            if inc.series != f"topic:{absorbed}":  # the topic only led to an incident merged with another
                if target is None:
                    self.active[(f"topic:{into}", family)] = old
                continue
            if target is None or target == old:  # (the same incident, which the other topic already led to)
                inc.series, inc.topic_id = f"topic:{into}", into
                self.active[(inc.series, family)] = old
            else:  # two incidents turned out to be one problem: the older keeps the tickets
                keep = self.incidents[min(old, target)]
                gone = self.incidents[max(old, target)]
                keep.series, keep.topic_id = f"topic:{into}", into
                self._take_tickets(keep, gone, gone.detected_at)
                gone.status, gone.status_by, gone.status_changed_at = "resolved", "detector", gone.detected_at
                gone.resolved_at = gone.last_activity_at or gone.detected_at
                gone.evidence = {**gone.evidence, "merged_into_incident": keep.id}
                self._redirect(gone.id, keep.id)  # incl. series people merged into it earlier
                self.active[(keep.series, family)] = keep.id
                self._changed |= {keep.id, gone.id}
            self._changed.add(old)
        for inc_id in self.__dict__.get("merge_records", ()):  # an undone merge gives back the topic's new key
            inc = self.incidents.get(inc_id)
            for taken in (inc.__dict__.get("merged_from", {}) if inc is not None else {}).values():
                taken["keys"] = [(f"topic:{into}" if k == f"topic:{absorbed}" else k, f) for k, f in taken["keys"]]

    def _merge_series(self, store: dict[str, _Series], absorbed: str, into: str) -> None:
        """Series ``absorbed`` of ``store`` joins ``into`` (a topic's, or its halo's, after a topic merge)."""
        a, b = store.pop(absorbed, None), store.get(into)
        if a is None:
            return
        if b is None:
            a.key = into
            store[into] = a
            return
        seen: set[str] = set()  # a ticket can be in both halos (one topic's, and its neighbour's)
        merged = [t for t in sorted(list(a.recent) + list(b.recent), key=lambda t: t.ts)
                  if not (t.ticket_id in seen or seen.add(t.ticket_id))]
        b.recent = deque(merged)
        b.who |= a.who
        b.tickets += a.tickets
        # The survivor now receives both topics' tickets: its share is that of their union,
        # relearnt from their hourly history. (A sum of the two learnt shares would count a
        # young topic's first hours, always busy since a ticket made it, at full weight: a
        # topic that absorbed many young ones expected twice its traffic.)
        union = self._union_share(a, b)
        if union is not None:
            b.share_num, b.share_den = union
        b.disp_num, b.disp_den = a.disp_num + b.disp_num, a.disp_den + b.disp_den
        b.seen += a.seen
        b.hours = max(a.hours, b.hours)
        b.first_ts = min(a.first_ts, b.first_ts)
        if a.baseline.n_learnt > b.baseline.n_learnt:
            b.baseline = a.baseline
        b.history = _merged_history(a.history, b.history)

    def _union_share(self, a: _Series, b: _Series) -> tuple[float, float] | None:
        """Share learning's weighted sums for the union of two topics, from their hourly history."""
        total = self.series.get("all")
        if total is None or not total.history:
            return None
        who: dict[float, int] = {}
        for history in (a.history, b.history):
            for start, _tickets, n, *_ in history:
                who[start] = who.get(start, 0) + n
        if not who:
            return None
        first, last = min(who), total.history[-1][0]
        decay = 0.5 ** (1.0 / 168.0)
        num = den = 0.0
        for start, tickets, *_ in total.history:
            if start >= first:
                w = decay ** ((last - start) / HOUR)
                num += w * who.get(start, 0)
                den += w * tickets
        return (num, den) if den > 0 else None
