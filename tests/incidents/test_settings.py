from __future__ import annotations

import copy
import pickle

import pytest

from server.incidents.settings import DetectionSettings
from server.tenants import Tenant
from tests.incidents.factories import auth, control_events

DEFAULTS = {
    "enabled": True, "alarm_budget_per_week": 1.0,
    "sensitivity": {"spike": 1.0, "new_topic": 1.0, "drop": 1.0, "sentiment": 1.0, "concentration": 1.0},
    "plan_sensitivity": {}, "resolve_after_minutes": 120, "min_requesters": 3, "drop_min_expected": 8.0,
}


def test_from_dict_fills_defaults():
    assert DetectionSettings.from_dict(None).to_dict() == DEFAULTS
    assert DetectionSettings.from_dict({}) == DetectionSettings()
    s = DetectionSettings.from_dict({"sensitivity": {"drop": 0, "spike": 2}, "plan_sensitivity": {"enterprise": 3}})
    assert s.sensitivity["drop"] == 0.0 and s.sensitivity["spike"] == 2.0 and s.sensitivity["sentiment"] == 1.0
    assert not s.kind_enabled("drop") and s.kind_enabled("spike")
    assert s.plan_multiplier("enterprise") == 3.0 and s.plan_multiplier("free") == s.plan_multiplier(None) == 1.0
    assert not DetectionSettings(enabled=False).kind_enabled("spike")


def test_settings_are_frozen_hashable_and_pickle():
    s = DetectionSettings.from_dict({"min_requesters": 4, "plan_sensitivity": {"pro": 0.5}})
    assert pickle.loads(pickle.dumps(s)) == s == copy.deepcopy(s)
    assert hash(s) == hash(DetectionSettings.from_dict(s.to_dict()))
    with pytest.raises(Exception):
        s.min_requesters = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.sensitivity["drop"] = 0  # type: ignore[index]
    s.to_dict()["sensitivity"]["drop"] = 0  # a copy
    assert s.sensitivity["drop"] == 1.0


def test_get_returns_defaults(client, db, tenant):
    _, creds = tenant
    assert client.get("/api/v1/settings/detection", headers=auth(creds)).get_json() == DEFAULTS


def test_patch_merges_and_appends_the_effective_settings(client, db, tenant):
    t, creds = tenant
    h = auth(creds)
    first = client.patch("/api/v1/settings/detection", json={"sensitivity": {"drop": 0}, "min_requesters": 5,
                                                              "plan_sensitivity": {"enterprise": 2}}, headers=h)
    assert first.status_code == 200
    body = client.patch("/api/v1/settings/detection", json={"sensitivity": {"spike": 2.5},
                                                             "alarm_budget_per_week": 0.5}, headers=h).get_json()
    expected = dict(DEFAULTS, min_requesters=5, alarm_budget_per_week=0.5, plan_sensitivity={"enterprise": 2.0},
                    sensitivity=dict(DEFAULTS["sensitivity"], drop=0.0, spike=2.5))
    assert body == expected
    assert client.get("/api/v1/settings/detection", headers=h).get_json() == expected
    replaced = client.patch("/api/v1/settings/detection", json={"plan_sensitivity": {"free": 0}}, headers=h).get_json()
    assert replaced["plan_sensitivity"] == {"free": 0.0}
    events = control_events(db, t.id)
    assert [e.kind for e in events] == ["control.settings"] * 3
    assert events[1].payload == {"detection": expected}
    with db.session() as s:
        stored = s.get(Tenant, t.id).settings["detection"]
    assert DetectionSettings.from_dict(stored).to_dict() == dict(expected, plan_sensitivity={"free": 0.0})


def test_empty_patch_keeps_everything(client, db, tenant):
    t, creds = tenant
    body = client.patch("/api/v1/settings/detection", json={}, headers=auth(creds)).get_json()
    assert body == DEFAULTS and control_events(db, t.id)[0].payload == {"detection": DEFAULTS}


@pytest.mark.parametrize("body, field", [
    ({"threshold": 3}, "threshold"), ({"enabled": "perhaps"}, "enabled"),
    ({"alarm_budget_per_week": 0}, "alarm_budget_per_week"), ({"alarm_budget_per_week": 101}, "alarm_budget_per_week"),
    ({"sensitivity": {"spike": -1}}, "sensitivity"), ({"sensitivity": {"spike": 101}}, "sensitivity"),
    ({"sensitivity": {"meteor": 1}}, "sensitivity"), ({"sensitivity": 3}, "sensitivity"),
    ({"plan_sensitivity": {"p" * 61: 1}}, "plan_sensitivity"), ({"plan_sensitivity": {"pro": 200}}, "plan_sensitivity"),
    ({"plan_sensitivity": {f"p{i}": 1 for i in range(51)}}, "plan_sensitivity"),
    ({"resolve_after_minutes": 14}, "resolve_after_minutes"),
    ({"resolve_after_minutes": 10081}, "resolve_after_minutes"),
    ({"resolve_after_minutes": 30.5}, "resolve_after_minutes"),
    ({"min_requesters": 1}, "min_requesters"), ({"min_requesters": 101}, "min_requesters"),
    ({"drop_min_expected": 0.5}, "drop_min_expected"), ({"drop_min_expected": 1001}, "drop_min_expected"),
])
def test_patch_rejects_bad_values_naming_the_field(client, db, tenant, body, field):
    t, creds = tenant
    resp = client.patch("/api/v1/settings/detection", json=body, headers=auth(creds))
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]
    assert control_events(db, t.id) == []


def test_unknown_sensitivity_key_is_named(client, db, tenant):
    _, creds = tenant
    resp = client.patch("/api/v1/settings/detection", json={"sensitivity": {"meteor": 1}}, headers=auth(creds))
    assert "meteor" in resp.get_json()["error"]["fields"]["sensitivity"]


def test_settings_are_tenant_scoped(client, db, make_tenant):
    a, a_creds = make_tenant("Alpha")
    _, b_creds = make_tenant("Beta")
    client.patch("/api/v1/settings/detection", json={"enabled": False}, headers=auth(a_creds))
    assert client.get("/api/v1/settings/detection", headers=auth(b_creds)).get_json() == DEFAULTS
    assert client.get("/api/v1/settings/detection", headers=auth(a_creds)).get_json()["enabled"] is False
    assert client.get("/api/v1/settings/detection").status_code == 401


def test_each_kind_has_one_name_on_every_page_that_names_kinds():
    """The pages' scripts name the kinds from page.js's one map, which must say what KIND_NAMES says."""
    import json
    import re
    from pathlib import Path

    from server.incidents.models import KINDS
    from server.incidents.settings import KIND_NAMES

    assert set(KIND_NAMES) == set(KINDS) and len(set(KIND_NAMES.values())) == len(KINDS)
    static = Path(__file__).resolve().parents[2] / "server" / "static"
    found = re.search(r"var KIND_NAMES = Object\.freeze\((\{.*?\})\);", (static / "page.js").read_text(), re.S)
    assert found
    assert json.loads(re.sub(r"(\w+):", r'"\1":', found.group(1))) == dict(KIND_NAMES)
    # the scripts that name kinds take them from page.js (GS.kindName) rather than keeping a copy
    for script in ("incidents.js", "tuning.js", "dashboard.js", "alerts.js"):
        text = (static / script).read_text()
        assert "GS.kindName" in text, script
        assert not [name for name in KIND_NAMES.values() if '"%s"' % name in text], script
    # the incidents page's kind filter
    page = (static.parent / "templates" / "incidents.html").read_text()
    options = dict(re.findall(r'<option value="(\w+)">([^<]+)</option>', page))
    assert {k: v for k, v in options.items() if k in KINDS} == dict(KIND_NAMES)


def test_plan_tier_names_are_trimmed_as_the_form_trims_them(client, tenant):  # type: ignore[no-untyped-def]
    _, creds = tenant
    headers = {"Authorization": f"Bearer {creds.api_token}"}
    r = client.patch("/api/v1/settings/detection", json={"plan_sensitivity": {"  enterprise ": 2}}, headers=headers)
    assert r.status_code == 200 and r.get_json()["plan_sensitivity"] == {"enterprise": 2.0}
    both = client.patch("/api/v1/settings/detection", json={"plan_sensitivity": {"pro": 2, " pro": 3}}, headers=headers)
    assert both.status_code == 400 and "plan_sensitivity" in both.get_json()["error"]["fields"]
    assert client.patch("/api/v1/settings/detection", json={"plan_sensitivity": {"   ": 2}},
                        headers=headers).status_code == 400
