"""Backtest: replay a tenant's stored events through fresh detection stages and report what would
have fired, under the stored settings or under what-if overrides, without writing anything.

Everything in the log is replayed from its start (baselines need the history before the reported
period), every ticket counts as live (so backfilled history can fire too), and incidents detected
from ``since`` on are reported. People's decisions in the log (feedback, status changes, settings)
are replayed where they happened, and ``overrides`` apply on top of every settings change.

The widget's events go through a fresh widget stage beside the ticket detectors, so in-app friction
incidents are reported too, and ticket incidents name the pages their customers met friction on, as
live. ``friction.*`` overrides (``friction.weekly_false_alarms=2``) apply on top of the tenant's widget
configuration and of every widget settings change in the log.

Each ticket text's vector is read from what the live detector stored when it embedded that text
(``text_vectors``); only texts it never embedded (history logged before vectors were kept, say) are
embedded again, which is most of a replay's cost.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from sqlalchemy import select

from server.db import Database
from server.eventlog.log import EventLog, LoggedEvent, as_utc
from server.incidents.settings import FIELDS, SENSITIVITY_KINDS, DetectionSettings
from server.incidents.stage import DetectStage
from server.topics.models import TextVector
from server.understand.embed import DIMENSIONS, text_key
from server.understand.stage import UnderstandStage
from server.widget.settings import FrictionSettings
from server.widget.stage import WidgetStage

#: The widget's friction settings a backtest can change (``friction.<name>=value``).
FRICTION_FIELDS = tuple(f.name for f in dataclasses.fields(FrictionSettings))

def parse_overrides(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``key=value`` settings (``sensitivity.spike=2``, ``plan_sensitivity.enterprise=3``), checked.

    >>> parse_overrides(["sensitivity.drop=0", "alarm_budget_per_week=0.5", "enabled=false"])
    {'sensitivity': {'drop': 0.0}, 'alarm_budget_per_week': 0.5, 'enabled': False}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--set {pair!r}: expected key=value")
        top, _, sub = key.partition(".")
        if top == "friction":
            if sub not in FRICTION_FIELDS:
                raise ValueError(f"--set {pair!r}: name a friction setting: friction.<{'|'.join(FRICTION_FIELDS)}>")
            value = _number(pair, raw)
            if sub != "weekly_false_alarms":
                if value != int(value):
                    raise ValueError(f"--set {pair!r}: a whole number")
                value = int(value)
            out.setdefault("friction", {})[sub] = value
            continue
        if top not in FIELDS:
            raise ValueError(f"--set {pair!r}: unknown setting {top!r}; known: {', '.join(FIELDS)}, "
                             f"friction.<{'|'.join(FRICTION_FIELDS)}>")
        if top in ("sensitivity", "plan_sensitivity"):
            if not sub or (top == "sensitivity" and sub not in SENSITIVITY_KINDS):
                raise ValueError(f"--set {pair!r}: name a kind: {top}.<{'|'.join(SENSITIVITY_KINDS)}>"
                                 if top == "sensitivity" else f"--set {pair!r}: name a plan: plan_sensitivity.<tier>")
            out.setdefault(top, {})[sub.strip()] = _number(pair, raw)  # as the API trims a tier's name
        elif top == "enabled":
            if raw.strip().lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"--set {pair!r}: enabled is true or false")
            out[top] = raw.strip().lower() in ("true", "1")
        else:
            out[top] = _number(pair, raw)
    DetectionSettings.from_dict({k: v for k, v in out.items() if k != "friction"})  # types check
    return out


def split_overrides(overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``parse_overrides``' answer as (detection overrides, friction overrides)."""
    detection = {k: v for k, v in (overrides or {}).items() if k != "friction"}
    return detection, dict((overrides or {}).get("friction") or {})


def _with_friction(config: Mapping[str, Any] | None, friction: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(config or {})
    if friction:
        out["friction"] = {**(out.get("friction") if isinstance(out.get("friction"), dict) else {}), **friction}
    return out


def _number(pair: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"--set {pair!r}: not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"--set {pair!r}: not a number")
    if value < 0:
        raise ValueError(f"--set {pair!r}: must not be negative")
    return value


@dataclass
class BacktestReport:
    since: datetime
    events: int
    tickets: int
    incidents: list[dict[str, Any]] = field(default_factory=list)
    #: When the replayed data begins: the earliest ticket (its creation) or in-app event in the log, before
    #: ``since`` or not; None when the log holds neither.
    data_from: datetime | None = None

    @property
    def data_since(self) -> datetime | None:
        """Start of the part of the period that has data: ``since``, or the first ticket or in-app event
        when the data starts later (a tenant connected two weeks ago, asked about 30 days); None when
        there is no data at all."""
        return None if self.data_from is None else max(self.since, self.data_from)

    def weeks_until(self, until: datetime) -> float:
        """Weeks from the start of the data (``since`` when there is none) to ``until``, at least a day:
        what incidents a week are counted over, so that weeks before the first ticket do not dilute them."""
        start = self.data_since or self.since
        return max((until - start).total_seconds() / 604800.0, 1 / 7)

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(i["kind"] for i in self.incidents))


def events_of(db: Database, log: EventLog, tenant_id: int, batch: int = 1000) -> Iterator[list]:
    offset = 0
    while True:
        with db.session() as session:
            events = log.read(session, offset, batch, tenant_id=tenant_id)
        if not events:
            return
        yield events
        offset = events[-1].offset


class StoredVectors:
    """An embedder for one tenant's texts that reads the vectors the detector stored for them first and
    embeds only the rest (``stored`` and ``embedded`` count each)."""

    #: Keys looked up per query.
    CHUNK = 500

    def __init__(self, db: Database, tenant_id: int, embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.db, self.tenant_id, self.embed = db, tenant_id, embed
        self.stored = self.embedded = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = sorted(set(keys))
        with self.db.session() as session:
            for start in range(0, len(unique), self.CHUNK):
                for key, blob in session.execute(select(TextVector.text_sha256, TextVector.vector).where(
                        TextVector.tenant_id == self.tenant_id, TextVector.text_sha256.in_(unique[start:start + self.CHUNK]))):
                    vector = np.frombuffer(blob, dtype="<f4")
                    if vector.shape == (DIMENSIONS,):  # anything else is not a vector this model made
                        found[key] = vector
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        missing = [i for i, key in enumerate(keys) if key not in found]
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
        if missing:
            out[missing] = self.embed([texts[i] for i in missing])
        self.stored += len(texts) - len(missing)
        self.embedded += len(missing)
        return out


def backtest(db: Database, log: EventLog, tenant_id: int, since: datetime, *, embed: Callable[..., Any],
             settings: Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None,
             widget: Mapping[str, Any] | None = None, verify: Callable[[int, str, Any], bool] | None = None,
             progress: Callable[[int], None] = lambda _n: None) -> BacktestReport:
    """Replay ``tenant_id``'s log; report incidents detected at or after ``since``.

    ``settings``: the tenant's stored detection settings; ``widget``: its stored widget configuration;
    ``verify``: its widget identity check (signed-in users); ``overrides``: ``parse_overrides``' answer.
    """
    (report,) = backtest_variants(db, log, tenant_id, since, embed=embed, settings=settings, variants=[overrides],
                                  widget=widget, verify=verify, progress=progress)
    return report


class _Variant:
    """The detection side of one backtest variant: its own widget and detect stages and settings."""

    def __init__(self, understand: UnderstandStage, settings: Mapping[str, Any] | None,
                 overrides: Mapping[str, Any] | None, widget: Mapping[str, Any] | None,
                 verify: Callable[[int, str, Any], bool] | None, fixed: bool) -> None:
        detection, self.friction = split_overrides(overrides)
        self.widget = WidgetStage(lambda _t: _with_friction(widget, self.friction), verify=verify)
        self.detect = DetectStage(understand, lambda _t: settings, overrides=None if fixed else detection,
                                  fixed=detection if fixed else None, all_live=True, pages=self.widget.pages_before)
        self.widget.new_incident_id = self.detect.reserve_incident_id

    def apply(self, batch: list[LoggedEvent]) -> tuple[float, float]:
        """Seconds spent on the batch's in-app events, then on the rest (tickets and people's changes)."""
        start = time.perf_counter()
        self.widget.apply_batch([_friction_override(e, self.friction) for e in batch
                                 if e.source in self.widget.sources])
        list(self.widget.outputs())
        middle = time.perf_counter()
        self.detect.apply_batch([e for e in batch if e.source in self.detect.sources])
        list(self.detect.outputs())
        return middle - start, time.perf_counter() - middle

    def incidents(self, tenant_id: int, since: datetime) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        engine = self.detect.engines.get(tenant_id)
        if engine is not None:
            out = [engine.snapshot(inc) for inc in engine.incidents.values() if inc.detected_at >= since]
        tw = self.widget.tenants.get(tenant_id)
        if tw is not None:
            out += [snap for inc in tw.incidents.incidents.values() if (snap := inc.snapshot())["detected_at"] >= since]
        out.sort(key=lambda i: (i["detected_at"], i["id"]))
        return out


def backtest_variants(db: Database, log: EventLog, tenant_id: int, since: datetime, *, embed: Callable[..., Any],
                      settings: Mapping[str, Any] | None, variants: list[Mapping[str, Any] | None],
                      widget: Mapping[str, Any] | None = None,
                      verify: Callable[[int, str, Any], bool] | None = None,
                      progress: Callable[[int], None] = lambda _n: None, fixed: bool = False,
                      stored_vectors: bool = True,
                      spent: Callable[[dict[str, tuple[int, float]]], None] | None = None) -> list[BacktestReport]:
    """One replay of the log, one report per set of overrides in ``variants`` (None: as stored).

    With ``fixed``, each variant's detection settings are whole settings used throughout the replay, in
    place of the stored ones and of every settings change in the log (friction overrides still apply
    on top of the widget configuration).

    The tickets are understood (embedded, placed in topics) once and shared by every variant, so
    comparing two settings costs one embedding pass, the expensive part, and a detection pass each.
    With ``stored_vectors`` (the default) that pass reads the vectors the detector stored
    (:class:`StoredVectors`) and embeds only texts it has none for.

    ``spent``, if given, is told after each batch how many of its events were of each `cost_group` and the
    seconds they took: a ticket costs far more than an in-app event (it is embedded, placed in a topic and
    tested), so the time a replay has left is told from these, not from events alone.
    """
    understand = UnderstandStage(StoredVectors(db, tenant_id, embed) if stored_vectors else embed)
    runs = [_Variant(understand, settings, overrides, widget, verify, fixed) for overrides in variants]
    events = tickets = 0
    data_from: datetime | None = None  # the first ticket's creation or in-app event's time
    for batch in events_of(db, log, tenant_id):
        start = time.perf_counter()
        zendesk = [e for e in batch if e.source == "zendesk"]
        if zendesk:
            understand.apply_batch(zendesk)
        placed = understand.take_placements()
        tickets += len(placed)
        times = [as_utc(p.at) for p in placed] + [e.event_time for e in batch if e.source == "widget"]
        if times:
            data_from = min(times) if data_from is None else min(data_from, *times)
        widget_seconds = 0.0
        for run in runs:  # each variant's detect stage drains the same placements
            understand.placements = list(placed)
            widget_seconds += run.apply(batch)[0]
        list(understand.outputs())
        events += len(batch)
        if spent is not None:
            counts = Counter(cost_group(e.source) for e in batch)
            spent({"widget": (counts["widget"], widget_seconds),
                   "tickets": (counts["tickets"], time.perf_counter() - start - widget_seconds)})
        progress(len(batch))
    return [BacktestReport(since=since, events=events, tickets=tickets, incidents=run.incidents(tenant_id, since),
                           data_from=data_from) for run in runs]


def cost_group(source: str) -> str:
    """``widget`` for the in-app events, cheap to replay; ``tickets`` for the rest, tickets and the people's
    changes beside them.

    >>> cost_group("widget"), cost_group("zendesk"), cost_group("control")
    ('widget', 'tickets', 'tickets')
    """
    return "widget" if source == "widget" else "tickets"


def _friction_override(event: LoggedEvent, friction: Mapping[str, Any]) -> LoggedEvent:
    """A widget settings change from the log with the what-if friction settings on top."""
    widget = (event.payload or {}).get("widget")
    if not friction or event.kind != "control.widget_settings" or not isinstance(widget, dict):
        return event
    payload = {**event.payload, "widget": _with_friction(widget, friction)}
    return dataclasses.replace(event, payload=payload)
