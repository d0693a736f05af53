"""The volume tests: spike, new topic, neighbours, nearby tickets and halo (a part of
:class:`~server.incidents.engine.Engine`; see :mod:`server.incidents.detectors`).

- **spike** (each new ticket of a topic): distinct requesters in the trailing 30 min, 2 h and 6 h
  against the baseline's expectation over the same window (summed hour slot by hour slot, so a busy
  hour expects more), upper tail of a negative binomial.
- **new_topic**: the same, for a topic with less than a day of baseline, against what new topics of
  this tenant usually gather on their first day (learnt online, with a prior of 1.5 tickets).
- **neighbours**: an intent the topic model split over several topics rises in all of them, a little in
  each. Each ticket names the topics it was nearly as close to (``Observation.neighbours``); the
  spike and new-topic tests also run on the topic together with those (requesters of all of them
  against the sum of their expectations), and alert on whichever is less likely. Both count as tests
  in the budget. A rise of the topic alone must also be unusual for the group (p <= ``CONFIRM_P``): when
  a topic grows because its neighbour lost tickets to it, the group is flat and nothing fires.
- **nearby tickets**: the topic model may scatter one problem over several busy topics, none of which
  rises. Each ticket carrying its embedding (``Observation.vector``) is also tested on its neighbourhood
  in meaning: customers whose recent tickets are at least ``NEAR_SIMILARITY`` close to it, whatever their
  topics, against that neighbourhood's share of the past week's tickets (a gamma-Poisson posterior, so a
  neighbourhood seen a few times is not trusted) times the tenant's expected volume. Later tickets that
  close to an active incident's tickets attach to it. A young topic's own rise must make its
  neighbourhood unusual too (p <= ``CONFIRM_P``): a topic split off an old one is no new problem.
- **halo**: a rarely seen problem's few tickets are often not all placed in its topic: the ones the
  topic model could place nowhere start topics of their own (or join one still young or tiny), naming
  the topic as a neighbour. A topic's halo is its own tickets and those strays (tickets of a topic
  younger than ``ESTABLISHED_HOURS`` or with at most ``SMALL_TOPIC`` tickets, each counted in the halo
  of every topic it names); its expected volume is its learnt share of the tenant's, as a topic's. On
  each ticket the halos of its topic and of the neighbours it names (established topics, whose halo
  has counted ``ESTABLISHED_HOURS`` itself) are tested in each window that holds a stray (without one
  the halo is the topic's own test); a rise alerts as a spike of the halo's topic. Tickets placed in
  an established topic do not count towards their neighbours' halos: a big topic's many borderline
  tickets would make a quiet neighbour's halo as busy as the big topic.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from server.incidents.state import (ESTABLISHED_HOURS, NEAR_HISTORY, SMALL_TOPIC, SPIKE_WINDOWS, Alert, Describe,
                                    Observation, _dominant, _Series, _Ticket)
from server.incidents.stats import band, upper_tail

#: At most this many of a ticket's neighbour topics join its topic's group test.
GROUP_NEIGHBOURS = 3
#: A topic's own rise must make its group at least this unusual (see the module docstring).
CONFIRM_P = 0.02
#: The nearby-tickets test (see the module docstring): cosine similarities that make two tickets about
#: the same thing, and the prior extra-Poisson variance (1/r) of a neighbourhood's rate from one hour to
#: the next (the bank it searches: ``NEAR_HISTORY`` and ``NEAR_MAX`` in server.incidents.state).
NEAR_SIMILARITY = (0.6, 0.7)
NEAR_DISPERSION = 0.2


class VolumeTests:
    """Volume tests of one tenant's topics. A part of :class:`~server.incidents.engine.Engine`: it reads
    the engine's series and bank, counts its tests in the engine's budget (``_count_test``, ``alpha``)
    and raises alerts through its lifecycle (``_alert``)."""

    def _count_halos(self, obs: Observation, ticket: _Ticket) -> None:
        """Count the ticket in the halo of its topic and of each neighbour topic it names (see the
        module docstring): the tickets placed in a topic or nearly placed there."""
        halos = self.__dict__.setdefault("halos", {})  # absent from checkpoints written before halos
        topic = self.series[f"topic:{obs.topic_id}"]
        stray = topic.seen <= SMALL_TOPIC or topic.hours < ESTABLISHED_HOURS
        for topic_id in dict.fromkeys((obs.topic_id, *(obs.neighbours[:GROUP_NEIGHBOURS] if stray else ()))):
            key = f"halo:{topic_id}"
            halo = halos.get(key)
            if halo is None:
                halo = halos[key] = _Series(key, "requesters", ticket.ts)
            halo.last_ts = max(halo.last_ts, ticket.ts)
            if ticket.ts >= halo.bucket:
                halo.tickets += 1
                halo.who.add(ticket.who)
            halo.seen += 1
            self._remember(halo, ticket)

    def _window_p(self, series: _Series, now: float, width: float, young: bool,
                  first_in_window: bool) -> tuple[float, int, float, float, list[_Ticket]]:
        tickets = [t for t in series.in_window(now, width) if not t.claimed]
        n = len({t.who for t in tickets})
        if young:  # the first ticket made the topic; the prior is of the others
            mu, phi = self._new_topic_expectation(width)
            k = n - (1 if first_in_window else 0)
            return upper_tail(k, mu, phi), n, mu + (1 if first_in_window else 0), phi, tickets
        mu, phi = self.forecast(series, now - width, now)
        # A topic with only a few tickets ever is not expected to be quieter than a new one: tiny topics
        # of an over-segmented tenant gather look-alike tickets in clumps their history cannot show.
        floor, floor_phi = self._new_topic_expectation(width)
        if series.seen < SMALL_TOPIC and floor > mu:
            mu, phi = floor, max(phi, floor_phi)
        return upper_tail(n, mu, phi), n, mu, phi, tickets

    def _new_topic_expectation(self, width: float) -> tuple[float, float]:
        """What a new topic of this tenant gathers beyond its first ticket over ``width`` seconds: mean
        and over-dispersion (variance / mean).

        New topics differ in rate: the prior's first-day counts are a gamma mixture of Poisson counts,
        whose variance is mean * (1 + Var(rate) * span / E(rate)). The extra-Poisson part grows with the
        span, so a 30-minute window is far less over-dispersed than a day, and is tested as such.
        """
        _w, m, m2 = self.new_topic_prior
        extra = max(m - 1.0, 0.05)
        var = max(m2 - m * m, extra)
        scale = min(1.0, width / 86400.0)
        return extra * scale, 1.0 + (var / extra - 1.0) * scale

    def _group_p(self, members: list[_Series], now: float, width: float
                 ) -> tuple[float, int, float, float, list[_Ticket]]:
        """The window test of several topics together: their requesters against the sum of their
        expectations (variances add)."""
        tickets: list[_Ticket] = []
        mu = var = 0.0
        for s in members:
            _p, _n, m, phi, part = self._window_p(s, now, width, s.hours < ESTABLISHED_HOURS, now - width < s.first_ts)
            tickets.extend(part)
            mu += m
            var += m * phi
        n = len({t.who for t in tickets})
        return upper_tail(n, mu, max(var / max(mu, 1e-9), 1.0)), n, mu, max(var / max(mu, 1e-9), 1.0), tickets

    def _halo_p(self, topic: _Series, neighbours: tuple[int, ...], now: float
                ) -> tuple[float, float, int, float, float, list[_Ticket], _Series] | None:
        """The halo test: the customers of each established topic's halo (its own tickets and those
        nearly placed in it), for the ticket's topic and the neighbours it names, in each window,
        against the halo's learnt share of the tenant's expected volume. The least likely, Bonferroni
        over the halos and windows tested, with the topic it is about."""
        halos = self.__dict__.get("halos", {})
        members = []
        for key in dict.fromkeys((topic.key, *(f"topic:{t}" for t in neighbours[:GROUP_NEIGHBOURS]))):
            owner, halo = self.series.get(key), halos.get("halo:" + key[6:])
            if (owner is not None and halo is not None and owner.hours >= ESTABLISHED_HOURS
                    and halo.hours >= ESTABLISHED_HOURS):
                members.append((owner, halo))
        best = None
        for owner, halo in members:
            for width in SPIKE_WINDOWS:
                tickets = [t for t in halo.in_window(now, width) if not t.claimed]
                n = len({t.who for t in tickets})
                if n < self.settings.min_requesters or len(tickets) == sum(
                        1 for t in owner.in_window(now, width) if not t.claimed):
                    continue  # too few, or no stray ticket: the topic's own test
                self._count_test("spike", halo.key, width, now)
                mu, phi = self.forecast(halo, now - width, now)
                floor, floor_phi = self._new_topic_expectation(width)
                if halo.seen < SMALL_TOPIC and floor > mu:  # as for a topic with few tickets ever
                    mu, phi = floor, max(phi, floor_phi)
                p = upper_tail(n, mu, phi)
                if best is None or p < best[0]:
                    best = (p, width, n, mu, phi, tickets, owner)
        if best is None:
            return None
        return (min(1.0, best[0] * len(SPIKE_WINDOWS) * len(members)), *best[1:])

    def _attach_near(self, ticket: _Ticket, sims: np.ndarray, at: datetime) -> None:
        """A ticket very close in meaning (NEAR_SIMILARITY[-1]) to the recent tickets of an active volume
        incident belongs to it, whichever topic it was placed in: one incident per problem."""
        _vectors, ts, tickets = self.bank.recent()
        idx = np.flatnonzero((sims >= NEAR_SIMILARITY[-1]) & (ts > ticket.ts - SPIKE_WINDOWS[-1]))
        owners = {tickets[i].incident for i in idx} - {None}
        owners = {i for i in owners if self.active.get((self.incidents[i].series, "volume")) == i}
        if owners:
            inc = self.incidents[min(owners)]
            self._attach(inc, ticket, at)
            inc.last_activity_at = at
            self._maybe_grew(inc)
            self._changed.add(inc.id)

    def _near_p(self, topic: _Series, ticket: _Ticket, sims: np.ndarray | None, now: float, kind: str
                ) -> tuple[float, float, int, float, float, list[_Ticket]] | None:
        """The nearby-tickets test: customers whose tickets are close to this one in meaning, in each
        window, against that neighbourhood's rate over the past week (its share of all tickets, times
        the tenant's expected volume in the window). Whatever topics the tickets were placed in."""
        total = self.series.get("all")
        if sims is None or total is None:
            return None
        _vectors, ts, bank = self.bank.recent()
        ref = (ts <= now - SPIKE_WINDOWS[-1]) & (ts > now - NEAR_HISTORY)
        t_ref = int(ref.sum())
        if t_ref < 100:
            return None
        best = None
        tests = len(SPIKE_WINDOWS) * len(NEAR_SIMILARITY)
        volume = {width: self.forecast(total, now - width, now)[0] for width in SPIKE_WINDOWS}
        for level in NEAR_SIMILARITY:
            near = sims >= level
            c_ref = float((near & ref).sum())
            rate = (c_ref + 0.5) / (t_ref + 1.0)
            inv_r = 1.0 / (c_ref + 0.5) + NEAR_DISPERSION  # the rate's own uncertainty, and hour-to-hour swings
            for width in SPIKE_WINDOWS:
                idx = np.flatnonzero(near & (ts > now - width) & (ts <= now))
                tickets = [bank[i] for i in idx if not bank[i].claimed]
                who = {t.who for t in tickets}
                if len(who) < self.settings.min_requesters:
                    continue
                self._count_test(kind, "near:" + topic.key, width, now)
                mu = rate * volume[width]
                k = len(who - {ticket.who})  # this ticket is why the test runs: the others are the evidence
                p = min(1.0, upper_tail(k, mu, 1.0 + mu * inv_r) * tests)
                if best is None or p < best[0]:
                    best = (p, width, len(who), mu + 1.0, 1.0 + mu * inv_r, tickets)
        return best

    def _test_volume(self, topic: _Series, ticket: _Ticket, describe: Describe,
                     neighbours: tuple[int, ...] = (), sims: np.ndarray | None = None) -> None:
        now = ticket.ts
        young = topic.hours < ESTABLISHED_HOURS
        kind = "new_topic" if young else "spike"
        members = [topic] + [self.series[f"topic:{t}"] for t in neighbours[:GROUP_NEIGHBOURS]
                             if f"topic:{t}" in self.series]
        Best = tuple[float, float, int, float, float, list[_Ticket]]
        best: Best | None = None
        group: Best | None = None
        for width in SPIKE_WINDOWS:
            if len(members) > 1:
                gp, gn, gmu, gphi, gtickets = self._group_p(members, now, width)
                if gn >= self.settings.min_requesters:
                    self._count_test(kind, "group:" + topic.key, width, now)
                    if group is None or gp < group[0]:
                        group = (gp, width, gn, gmu, gphi, gtickets)
            first_in = now - width < topic.first_ts
            p, n, mu, phi, tickets = self._window_p(topic, now, width, young, first_in)
            if n < self.settings.min_requesters:
                continue
            self._count_test(kind, topic.key, width, now)
            if best is None or p < best[0]:
                best = (p, width, n, mu, phi, tickets)
        if best is not None and group is not None and group[0] * len(SPIKE_WINDOWS) > CONFIRM_P:
            best = None  # the topic rose, its group did not: tickets moved between neighbours
        if group is not None and (best is None or group[0] < best[0]):
            best = group
        if best is not None:
            best = (min(1.0, best[0] * len(SPIKE_WINDOWS)), *best[1:])
        near = self._near_p(topic, ticket, sims, now, kind)
        if young and best is not None and near is not None and near[0] > CONFIRM_P:
            best = None  # a young topic gathering tickets its neighbourhood in meaning always had: a fragment
        if near is not None and (best is None or near[0] < best[0]):
            best = near
        if best is not None:
            p, width, n, mu, phi, tickets = best
            plan = _dominant(tickets, "plan")
            if p <= self.alpha(kind, topic.key, plan):
                lo, hi = band(mu, phi)
                self._alert(Alert(kind, topic.key, p, "up", width, n, mu, lo, hi, tickets,
                                  self._segments(topic, tickets)), now, describe)
                return
        halo = self._halo_p(topic, neighbours, now)
        if halo is not None:
            p, width, n, mu, phi, tickets, owner = halo
            plan = _dominant(tickets, "plan")
            if p <= self.alpha("spike", owner.key, plan):
                lo, hi = band(mu, phi)
                self._alert(Alert("spike", owner.key, p, "up", width, n, mu, lo, hi, tickets,
                                  self._segments(owner, tickets)), now, describe)
                return
        if not young:
            self._test_concentration(topic, now, describe)
