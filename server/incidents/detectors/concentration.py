"""The concentration test (a part of :class:`~server.incidents.engine.Engine`).

One value of a segment (plan, region, organisation, channel, locale, brand) carries a topic's rise while
the rest of the topic stays inside its band. Each topic learns its segments' usual shares (decayed over
about 500 tickets, not while a volume incident holds it); a window's segment value must be out of its
own band and its part of the window unusual (binomial, given the window's customers).
"""

from __future__ import annotations

from typing import Any

from scipy import special

from server.incidents.state import Alert, Describe, _dominant, _most_common, _Series, _Ticket
from server.incidents.stats import band, upper_tail

#: Segment dimensions of concentration and sentiment (names in ``Observation.segments``).
CONCENTRATION_DIMS = ("plan", "region", "organization", "channel", "locale", "brand")


class ConcentrationTest:
    """Segment shares of topics and the concentration test; also names the segments that carry any
    volume alert's window (``_segments``). A part of :class:`~server.incidents.engine.Engine`."""

    def _segments(self, topic: _Series, tickets: list[_Ticket]) -> list[dict[str, Any]]:
        """Segment values that carry most of the window, with their usual share."""
        out = []
        for dim in CONCENTRATION_DIMS:
            top = _most_common(tickets, dim)
            if top is None:
                continue
            value, count = top
            share = count / len(tickets)
            usual = self._share(topic, dim, value)
            if share >= 0.5 and share > 1.5 * usual:
                out.append(self._named({"name": dim, "value": value, "count": count, "share": round(share, 3),
                                        "baseline_share": round(usual, 3)}))
        return out

    def _named(self, segment: dict[str, Any]) -> dict[str, Any]:
        """The segment with its value's display name as ``label``, when one is known."""
        name = self.__dict__.get("names", {}).get(f"{segment['name']}:{segment['value']}")
        return {**segment, "label": name} if name else segment

    def _share(self, topic: _Series, dim: str, value: str) -> float:
        counts = topic.segment_counts.get(dim, {})
        k = max(len(counts), 1)
        return (counts.get(value, 0.0) + 0.5) / (topic.segment_total + 0.5 * (k + 1))

    def _learn_segments(self, topic: _Series, ticket: _Ticket) -> None:
        if self.active.get((topic.key, "volume")) is not None:
            return
        decay = 1.0 - 1.0 / 500.0
        topic.segment_total = topic.segment_total * decay + 1.0
        for dim in CONCENTRATION_DIMS:
            v = ticket.segments.get(dim)
            if not v:
                continue
            counts = topic.segment_counts.setdefault(dim, {})
            for key in list(counts):
                counts[key] *= decay
                if counts[key] < 0.01:
                    del counts[key]
            counts[v] = counts.get(v, 0.0) + 1.0
            if len(counts) > 50:
                del counts[min(counts, key=counts.__getitem__)]

    def _test_concentration(self, topic: _Series, now: float, describe: Describe) -> None:
        width = 7200.0
        tickets = [t for t in topic.in_window(now, width) if not t.claimed]
        if len(tickets) < self.settings.min_requesters:
            return
        mu, phi = self.forecast(topic, now - width, now)
        latest = tickets[-1]
        for dim in CONCENTRATION_DIMS:
            value = latest.segments.get(dim)
            if not value:
                continue
            inside = [t for t in tickets if t.segments.get(dim) == value]
            n = len({t.who for t in inside})
            if n < self.settings.min_requesters:
                continue
            share = self._share(topic, dim, value)
            rest = len({t.who for t in tickets if t.segments.get(dim) != value})
            if rest > band(mu * (1.0 - share), phi)[1]:
                continue  # the rest rose too: a plain spike's business, not a concentration
            self._count_test("concentration", topic.key, width, now)
            # Both: the segment's volume is out of its band, and its part of the window is unusual
            # (binomial, given the window's customers): a handful of tickets cannot prove a concentration.
            composition = float(special.bdtrc(n - 1, n + rest, share))
            p = min(1.0, max(upper_tail(n, mu * share, phi), composition) * len(CONCENTRATION_DIMS))
            plan = value if dim == "plan" else _dominant(inside, "plan")
            if p <= self.alpha("concentration", topic.key, plan):
                lo, hi = band(mu * share, phi)
                segs = [self._named({"name": dim, "value": value, "count": len(inside),
                                     "share": round(len(inside) / len(tickets), 3), "baseline_share": round(share, 3)})]
                self._alert(Alert("concentration", topic.key, p, "up", width, n, mu * share, lo, hi, inside, segs),
                            now, describe)
                return
