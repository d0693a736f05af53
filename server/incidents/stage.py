"""The detection stage: tickets placed by the understanding stage, plus people's decisions, drive one
:class:`~server.incidents.engine.Engine` per tenant; its changes become rows for the writers.

It runs right after ``UnderstandStage`` in the same batch and drains that stage's placements. The API
records decisions (status changes, feedback, releases, settings) as ``control`` events in the log, so
the detector learns them in log order: a replay, a backtest or a restart sees them at the same point.

Sentiment is computed here, offline, with VADER's lexicon (``vaderSentiment``) on the redacted text.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Container, Iterable, Mapping, Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from server.eventlog.log import LoggedEvent
from server.incidents.engine import Engine, Observation
from server.incidents.settings import DetectionSettings
from server.pipeline.stage import Stage
from server.understand.stage import Placement, UnderstandStage

#: A ticket created longer than this before it reached the log is history (backfill): it teaches the
#: baselines but opens no incident.
LIVE_LAG = timedelta(hours=6)
#: Silences are checked on the wall clock only for tenants whose latest ticket reached the log within
#: this long of its creation: a tenant catching up on hours-old tickets (a backfill, a replayed history)
#: would otherwise have its event time jump to now and see a silence in the hours still on their way.
FRESH_LAG = timedelta(minutes=15)

_PLAN_FIELDS = ("plan", "plan_tier", "tier")
_REGION_FIELDS = ("region", "country", "geo")
_FORM_FIELDS = ("form", "ticket_form", "ticket_form_id")

_vader: SentimentIntensityAnalyzer | None = None


def sentiment(text: str) -> float:
    """VADER compound score in [-1, 1] (negative: unhappy). The lexicon loads once per process."""
    global _vader
    if _vader is None:
        _vader = SentimentIntensityAnalyzer()
    return float(_vader.polarity_scores(text[:2000])["compound"])


def segments_of(placement: Placement) -> dict[str, str]:
    """The segments a ticket belongs to (plan tier, region, form from mapped custom fields)."""
    u = placement.update
    out: dict[str, str] = {}
    for name, value in (("channel", u.channel), ("brand", u.brand_id), ("locale", u.locale),
                        ("organization", u.organization_id)):
        if value:
            out[name] = str(value)[:100]
    fields = u.custom_fields or {}
    for name, candidates in (("plan", _PLAN_FIELDS), ("region", _REGION_FIELDS), ("form", _FORM_FIELDS)):
        for c in candidates:
            if fields.get(c) not in (None, ""):
                out[name] = str(fields[c])[:100]
                break
    return out


class DetectStage(Stage):
    """Per-tenant detection engines fed by the understanding stage's placements and control events.

    Parameters
    ----------
    understand
        The stage that runs just before this one in the same batches.
    settings
        Per tenant: the settings a tenant's engine starts with when it is created (a backtest's); without,
        the defaults. Changes arrive as ``control.settings`` events, which the detector reads in log order
        (server/pipeline/registry.py passes none, so a replay from the start judges each ticket by the
        settings in force when it came).
    overrides
        Settings applied on top of everything else (a backtest's what-if).
    fixed
        The whole settings, used throughout instead of the stored ones and of every settings change in
        the log (a backtest comparing two settings over the same period).
    all_live
        Treat every ticket as live (a backtest: what would have fired).
    pages
        ``pages(tenant_id, update, offset, at)``: the (page path, widget session) pairs where the ticket's
        requester met friction before it (server/widget); they become the incident's evidence "pages".
    """

    name = "detect"
    sources = frozenset({"zendesk", "control"})

    def __init__(self, understand: UnderstandStage, settings: Callable[[int], Mapping[str, Any] | None] | None = None,
                 *, overrides: Mapping[str, Any] | None = None, fixed: Mapping[str, Any] | None = None,
                 all_live: bool = False,
                 pages: Callable[[int, Any, int, datetime], tuple[tuple[str, str], ...]] | None = None) -> None:
        self.understand = understand
        self.settings_for = settings or (lambda _t: None)
        self.overrides = dict(overrides or {})
        self.fixed = DetectionSettings.from_dict(fixed) if fixed is not None else None
        self.all_live = all_live
        self.pages = pages
        self.engines: dict[int, Engine] = {}
        self._delay: dict[int, timedelta] = {}  # tenant -> how late its latest ticket reached the log

    def _settings(self, stored: Mapping[str, Any] | None) -> DetectionSettings:
        if self.fixed is not None:
            return self.fixed
        merged = dict(stored or {})
        for k, v in self.overrides.items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                merged[k] = {**merged[k], **v}
            else:
                merged[k] = v
        return DetectionSettings.from_dict(merged)

    def engine(self, tenant_id: int) -> Engine:
        if tenant_id not in self.engines:
            self.engines[tenant_id] = Engine(self._settings(self.settings_for(tenant_id)))
        return self.engines[tenant_id]

    def reserve_incident_id(self, tenant_id: int) -> int:
        """An incident id for another detector of this tenant (widget friction), from the same counter."""
        engine = self.engine(tenant_id)
        engine.next_id += 1
        return engine.next_id - 1

    def _describe(self, tenant_id: int) -> Callable[[int], Mapping[str, Any]]:
        model = self.understand.models.get(tenant_id)

        def describe(topic_id: int) -> Mapping[str, Any]:
            if model is None:
                return {}
            topic = model.topics.get(model.resolve(topic_id))
            if topic is None:
                return {}
            return topic.snapshot(model.df)

        return describe

    def apply(self, event: LoggedEvent) -> None:
        self.apply_batch([event])

    def apply_batch(self, events: Sequence[LoggedEvent]) -> None:
        placed: dict[int, list[Placement]] = {}  # offset -> placements of that event
        for p in self.understand.take_placements():
            placed.setdefault(p.event.offset, []).append(p)
        self._follow_merges()
        for event in events:
            if event.source == "control":
                self._control(event)
                continue
            for p in placed.pop(event.offset, ()):
                self._observe(p)
        for ps in placed.values():  # placements of events this stage was not handed (none in practice)
            for p in ps:
                self._observe(p)

    def _observe(self, p: Placement) -> None:
        tenant_id = p.event.tenant_id
        engine = self.engine(tenant_id)
        model = self.understand.models.get(tenant_id)
        topic_id = model.resolve(p.topic_id) if model is not None else p.topic_id
        u = p.update
        live = self.all_live or (p.event.received_at - p.at) <= LIVE_LAG
        self._delay[tenant_id] = p.event.received_at - p.at
        near = map(model.resolve, p.neighbours) if model is not None else p.neighbours
        obs = Observation(ticket_id=u.ticket_id, topic_id=topic_id, at=p.at,
                          requester=u.requester_id or u.requester_email_sha256, account=u.organization_id,
                          segments=segments_of(p), sentiment=sentiment(p.text), text=p.text, live=live,
                          neighbours=tuple(n for n in dict.fromkeys(near) if n != topic_id),
                          pages=self.pages(tenant_id, u, p.event.offset, p.at) if self.pages else (),
                          vector=p.vector,
                          names={"organization": u.organization_name} if u.organization_name else {})
        engine.observe(obs, self._describe(tenant_id))

    def _follow_merges(self) -> None:
        for tenant_id, engine in self.engines.items():
            model = self.understand.models.get(tenant_id)
            if model is None:
                continue
            for key in [k for k in engine.series if k.startswith("topic:")]:
                tid = int(key.split(":", 1)[1])
                into = model.resolve(tid)
                if into != tid:
                    engine.merge_topic(tid, into)

    def _control(self, event: LoggedEvent) -> None:
        engine = self.engine(event.tenant_id)
        data = event.payload or {}
        kind = event.kind
        try:
            if kind == "control.status":
                engine.set_status(int(data["incident_id"]), str(data["status"]), str(data.get("by", "")),
                                  event.event_time)
            elif kind == "control.merge":
                engine.merge_incidents(int(data["incident_id"]), int(data["into"]), str(data.get("by", "")),
                                       event.event_time)
            elif kind == "control.unmerge":
                status = str(data.get("status") or "open")
                engine.unmerge_incidents(int(data["incident_id"]), int(data["into"]),
                                         status if status in ("open", "acknowledged") else "open",
                                         str(data.get("by", "")), event.event_time)
            elif kind == "control.feedback":
                engine.feedback(int(data["incident_id"]), str(data["verdict"]),
                                str(data["by"]) if data.get("by") is not None else None,
                                was=str(data["was"]) if data.get("was") in ("noise", "useful") else None)
            elif kind == "control.release":
                deployed = data.get("deployed_at")
                at = datetime.fromisoformat(deployed) if isinstance(deployed, str) else event.event_time
                engine.release(str(data["version"]), at, data.get("description"))
            elif kind == "control.settings":
                engine.configure(self._settings(data.get("detection")))
        except (KeyError, TypeError, ValueError):
            return  # the API validated it; a malformed control event changes nothing

    def retain(self, tenant_ids: Container[int]) -> None:
        self.engines = {t: e for t, e in self.engines.items() if t in tenant_ids}
        self._delay = {t: d for t, d in self._delay.items() if t in tenant_ids}

    def idle(self, now: datetime) -> None:
        """The log is drained at wall time ``now``: let live tenants' event time move on (silences)."""
        for tenant_id, engine in self.engines.items():
            if self._delay.get(tenant_id, LIVE_LAG) > FRESH_LAG:
                continue  # catching up: its own tickets move its event time
            if engine.live and engine.watermark is not None:
                lag = now.timestamp() - engine.watermark
                if 0 < lag < LIVE_LAG.total_seconds():  # only tenants whose traffic is live
                    engine.advance(now - timedelta(minutes=5))

    def outputs(self) -> Iterable[tuple[str, Any, dict[str, Any]]]:
        for tenant_id, engine in sorted(self.engines.items()):
            changes = engine.take_changes()
            for series, start, tickets, requesters, expected, lower, upper in changes["points"]:
                yield "volume_point", (tenant_id, series, start), {
                    "tickets": tickets, "requesters": requesters, "expected": round(expected, 4),
                    "lower": float(lower), "upper": float(upper)}
            for snap in changes["incidents"]:
                yield "incident", (tenant_id, snap["id"]), snap
            for incident_id, ticket_id in changes["detached"]:  # an undone merge: before any attachment
                yield "incident_ticket_detached", (tenant_id, incident_id, ticket_id), {}
            for incident_id, ticket_id, at in changes["attached"]:
                yield "incident_ticket", (tenant_id, incident_id, ticket_id), {"attached_at": at}
            for incident_id, event, generation, snap in changes["notifications"]:
                yield "notification", (tenant_id, incident_id, generation), {"event": event, "payload": snap}

    def state(self) -> dict[str, Any]:
        return {"engines": self.engines, "delay": self._delay}

    def load_state(self, state: dict[str, Any]) -> None:
        self.engines = state["engines"]
        self._delay = state.get("delay", {})
