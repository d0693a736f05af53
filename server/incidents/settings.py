"""A tenant's detection settings: the one place their defaults and ranges live.

The settings are stored as plain JSON in ``tenants.settings["detection"]``. The API validates a
change against the ranges below (server/incidents/schemas.py imports them) and the detector reads
the effective values through :meth:`DetectionSettings.from_dict`, which fills in every default.
Nothing here imports Flask or the database.

Examples
--------
>>> s = DetectionSettings.from_dict({"sensitivity": {"drop": 0}, "min_requesters": 5})
>>> s.alarm_budget_per_week, s.min_requesters, s.sensitivity["drop"], s.sensitivity["spike"]
(1.0, 5, 0.0, 1.0)
>>> s.kind_enabled("drop"), s.kind_enabled("spike")
(False, True)
>>> import pickle
>>> DetectionSettings.from_dict(s.to_dict()) == s == pickle.loads(pickle.dumps(s))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

#: The anomaly kinds a sensitivity can be set for (the same names as ``Incident.kind``).
SENSITIVITY_KINDS = ("spike", "new_topic", "drop", "sentiment", "concentration")
#: What people read for each incident kind, one name everywhere: the incidents page's badges and kind filter,
#: its detection settings and backtests, the report, the dashboard, webhook rows and the CSV export's
#: ``kind_name`` (the pages' scripts carry the same words; tests/incidents/test_settings.py checks them).
KIND_NAMES: Mapping[str, str] = MappingProxyType({
    "spike": "Spike", "new_topic": "New topic", "drop": "Drop", "sentiment": "Sentiment",
    "concentration": "Concentration", "friction": "In-app friction"})

#: Inclusive ranges of the numeric settings: (low, high).
RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({
    "alarm_budget_per_week": (0.01, 100.0),
    "sensitivity": (0.0, 100.0),
    "plan_sensitivity": (0.0, 100.0),
    "resolve_after_minutes": (15, 10080),
    "min_requesters": (2, 100),
    "drop_min_expected": (1.0, 1000.0),
})
#: Longest plan-tier name and most entries in ``plan_sensitivity``.
MAX_PLAN_NAME = 60
MAX_PLANS = 50

DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "enabled": True,
    "alarm_budget_per_week": 1.0,
    "sensitivity": MappingProxyType({kind: 1.0 for kind in SENSITIVITY_KINDS}),
    "plan_sensitivity": MappingProxyType({}),
    "resolve_after_minutes": 120,
    "min_requesters": 3,
    "drop_min_expected": 8.0,
})
FIELDS = tuple(DEFAULTS)


def _frozen(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class DetectionSettings:
    """Effective detection settings of one tenant.

    Parameters
    ----------
    enabled
        False stops opening incidents for the tenant (open ones still resolve).
    alarm_budget_per_week
        Expected false alarms per week across all topics and kinds; the detector splits it into
        per-test thresholds.
    sensitivity
        Per kind multiplier of that kind's share of the budget: 0 turns the kind off, 2 allows twice
        the false alarms (more sensitive). Every kind in ``SENSITIVITY_KINDS`` is present.
    plan_sensitivity
        Per plan-tier multiplier, applied on top of the kind's (tiers not listed count as 1).
    resolve_after_minutes
        An incident resolves after this long with its series back inside the band.
    min_requesters
        The fewest distinct customers that can open a volume incident.
    drop_min_expected
        A drop is only tested where at least this many tickets were expected in the window.
    """

    enabled: bool = True
    alarm_budget_per_week: float = 1.0
    sensitivity: Mapping[str, float] = field(default_factory=lambda: _frozen(DEFAULTS["sensitivity"]))
    plan_sensitivity: Mapping[str, float] = field(default_factory=lambda: _frozen({}))
    resolve_after_minutes: int = 120
    min_requesters: int = 3
    drop_min_expected: float = 8.0

    def __post_init__(self) -> None:
        sens = {kind: float(v) for kind, v in DEFAULTS["sensitivity"].items()}
        sens.update({k: float(v) for k, v in self.sensitivity.items()})
        object.__setattr__(self, "sensitivity", _frozen(sens))
        object.__setattr__(self, "plan_sensitivity",
                           _frozen({str(k): float(v) for k, v in self.plan_sensitivity.items()}))

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # Read-only mappings do not pickle; the detector checkpoints by pickling its state.
        return (type(self).from_dict, (self.to_dict(),))

    def __hash__(self) -> int:
        return hash((self.enabled, self.alarm_budget_per_week, tuple(sorted(self.sensitivity.items())),
                     tuple(sorted(self.plan_sensitivity.items())), self.resolve_after_minutes,
                     self.min_requesters, self.drop_min_expected))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "DetectionSettings":
        """Effective settings from stored JSON (already validated); missing keys take defaults.

        Unknown keys are ignored here (the API refuses them before they are stored).
        """
        d = d or {}
        sensitivity = dict(DEFAULTS["sensitivity"])
        sensitivity.update(d.get("sensitivity") or {})
        return cls(
            enabled=bool(d.get("enabled", DEFAULTS["enabled"])),
            alarm_budget_per_week=float(d.get("alarm_budget_per_week", DEFAULTS["alarm_budget_per_week"])),
            sensitivity=sensitivity,
            plan_sensitivity=dict(d.get("plan_sensitivity") or {}),
            resolve_after_minutes=int(d.get("resolve_after_minutes", DEFAULTS["resolve_after_minutes"])),
            min_requesters=int(d.get("min_requesters", DEFAULTS["min_requesters"])),
            drop_min_expected=float(d.get("drop_min_expected", DEFAULTS["drop_min_expected"])),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (every field, plain dicts)."""
        return {
            "enabled": self.enabled,
            "alarm_budget_per_week": self.alarm_budget_per_week,
            "sensitivity": dict(self.sensitivity),
            "plan_sensitivity": dict(self.plan_sensitivity),
            "resolve_after_minutes": self.resolve_after_minutes,
            "min_requesters": self.min_requesters,
            "drop_min_expected": self.drop_min_expected,
        }

    def kind_enabled(self, kind: str) -> bool:
        """Whether incidents of ``kind`` can open at all (detection on, sensitivity above 0)."""
        return self.enabled and self.sensitivity.get(kind, 1.0) > 0

    def plan_multiplier(self, plan: str | None) -> float:
        """The plan tier's sensitivity multiplier (1 for tiers not listed, or no tier)."""
        if plan is None:
            return 1.0
        return self.plan_sensitivity.get(plan, 1.0)


def apply_changes(stored: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Stored settings with a PATCH body's (validated) ``changes``: ``sensitivity`` merged kind by kind,
    every other field (``plan_sensitivity`` included) replaced.

    >>> apply_changes({"sensitivity": {"drop": 0}, "plan_sensitivity": {"pro": 2}},
    ...               {"sensitivity": {"spike": 2}, "plan_sensitivity": {"free": 0.5}})
    {'sensitivity': {'drop': 0, 'spike': 2}, 'plan_sensitivity': {'free': 0.5}}
    """
    out = dict(stored or {})
    for key, value in changes.items():
        out[key] = {**(out.get("sensitivity") or {}), **value} if key == "sensitivity" else value
    return out

