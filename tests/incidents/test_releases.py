from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.incidents.factories import auth, control_events


def test_release_is_created_then_updated(client, db, tenant):
    t, creds = tenant
    h = auth(creds)
    body = {"version": "v2.14.0", "deployed_at": "2026-03-02T10:15:00+01:00", "description": "New invoice renderer",
            "url": "https://github.com/acme/app/releases/v2.14.0"}
    created = client.post("/api/v1/releases", json=body, headers=h)
    assert created.status_code == 201
    assert created.get_json()["deployed_at"] == "2026-03-02T09:15:00+00:00"
    again = client.post("/api/v1/releases", json={"version": "v2.14.0", "description": "Renderer, take two"},
                        headers=h)
    assert again.status_code == 200
    release = again.get_json()
    assert release["description"] == "Renderer, take two" and release["url"] == body["url"]
    assert release["deployed_at"] == "2026-03-02T09:15:00+00:00"  # left out: kept
    listed = client.get("/api/v1/releases", headers=h).get_json()
    assert listed["total"] == 1 and listed["releases"][0]["description"] == "Renderer, take two"
    events = control_events(db, t.id)
    assert [(e.kind, e.payload) for e in events] == [
        ("control.release", {"version": "v2.14.0", "deployed_at": "2026-03-02T09:15:00+00:00",
                             "description": "New invoice renderer"}),
        ("control.release", {"version": "v2.14.0", "deployed_at": "2026-03-02T09:15:00+00:00",
                             "description": "Renderer, take two"}),
    ]


def test_deployed_at_defaults_to_now(client, db, tenant):
    _, creds = tenant
    body = client.post("/api/v1/releases", json={"version": "1"}, headers=auth(creds)).get_json()
    deployed = datetime.fromisoformat(body["deployed_at"])
    assert abs(deployed - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert body["description"] is None and body["url"] is None


def test_releases_list_newest_first_with_pages(client, db, tenant):
    _, creds = tenant
    h = auth(creds)
    for i, day in enumerate([3, 1, 2]):
        client.post("/api/v1/releases", json={"version": f"v{i}", "deployed_at": f"2026-03-0{day}T00:00:00Z"},
                    headers=h)
    body = client.get("/api/v1/releases", headers=h).get_json()
    assert [r["version"] for r in body["releases"]] == ["v0", "v2", "v1"] and body["total"] == 3
    page = client.get("/api/v1/releases?limit=1&offset=1", headers=h).get_json()
    assert [r["version"] for r in page["releases"]] == ["v2"]
    assert client.get("/api/v1/releases?limit=0", headers=h).status_code == 400


def test_releases_are_tenant_scoped(client, db, make_tenant):
    a, a_creds = make_tenant("Alpha")
    b, b_creds = make_tenant("Beta")
    client.post("/api/v1/releases", json={"version": "v1"}, headers=auth(a_creds))
    assert client.get("/api/v1/releases", headers=auth(b_creds)).get_json() == {"releases": [], "total": 0}
    # The same version in another tenant is another release.
    assert client.post("/api/v1/releases", json={"version": "v1"}, headers=auth(b_creds)).status_code == 201
    assert len(control_events(db, a.id)) == len(control_events(db, b.id)) == 1


@pytest.mark.parametrize("body, field", [
    ({}, "version"), ({"version": ""}, "version"), ({"version": "v" * 101}, "version"),
    ({"version": "v1", "deployed_at": "2026-03-02T10:00:00"}, "deployed_at"),
    ({"version": "v1", "deployed_at": "soon"}, "deployed_at"),
    ({"version": "v1", "deployed_at": (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()}, "deployed_at"),
    ({"version": "v1", "description": "d" * 2001}, "description"),
    ({"version": "v1", "url": "ftp://example.com/x"}, "url"), ({"version": "v1", "url": "javascript:alert(1)"}, "url"),
    ({"version": "v1", "url": "https://example.com/" + "a" * 500}, "url"),
    ({"version": "v1", "tag": "x"}, "tag"),
])
def test_release_rejects_bad_bodies_naming_the_field(client, db, tenant, body, field):
    t, creds = tenant
    resp = client.post("/api/v1/releases", json=body, headers=auth(creds))
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]
    assert control_events(db, t.id) == []


def test_a_deploy_a_few_hours_ahead_is_accepted(client, db, tenant):
    _, creds = tenant
    soon = (datetime.now(timezone.utc) + timedelta(hours=20)).isoformat()
    assert client.post("/api/v1/releases", json={"version": "v9", "deployed_at": soon},
                       headers=auth(creds)).status_code == 201


@pytest.mark.parametrize("body", [{"version": "\x00"}, {"version": "v1", "description": "bad \x00 byte"},
                                  {"version": "v1", "description": "lone \ud800 surrogate"}])
def test_text_a_database_cannot_store_is_a_400_naming_the_field(client, tenant, body):
    t, creds = tenant
    res = client.post("/api/v1/releases", json=body, headers=auth(creds))
    assert res.status_code == 400
    assert set(res.get_json()["error"]["fields"]) <= {"version", "description"}
    assert client.get("/api/v1/releases", headers=auth(creds)).get_json()["releases"] == []
