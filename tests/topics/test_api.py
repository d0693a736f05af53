from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.topics.models import Ticket, Topic

T0 = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def seed(db, tenant_id: int) -> None:
    with db.session() as s:
        common = dict(keywords=["invoice pdf", "blank"], summary="About invoice pdf.", first_seen_at=T0,
                      last_seen_at=T0 + timedelta(hours=2), updated_at=T0)
        s.add(Topic(tenant_id=tenant_id, id=1, label="invoice pdf · blank", size=3,
                    representatives=[{"ticket_id": "10", "similarity": 0.9, "text": "<img src=x onerror=alert(1)>"}],
                    **common))
        s.add(Topic(tenant_id=tenant_id, id=2, label="blank invoice", size=1, representatives=[], merged_into=1,
                    **common))
        s.add(Topic(tenant_id=tenant_id, id=3, label="password reset", size=2, representatives=[], **common))
        for i, (tid, hours) in enumerate([(1, 0), (1, 1), (1, 1), (3, 2)]):
            s.add(Ticket(tenant_id=tenant_id, zendesk_id=str(10 + i), subject=f"s{i}", topic_id=tid,
                         created_at=T0 + timedelta(hours=hours, minutes=5), status="open"))
        s.commit()


def auth(creds) -> dict:
    return {"Authorization": f"Bearer {creds.api_token}"}


def test_list_topics_hides_merged_ones(client, db, tenant):
    t, creds = tenant
    seed(db, t.id)
    body = client.get("/api/v1/topics?sort=size", headers=auth(creds)).get_json()
    assert [x["id"] for x in body["topics"]] == [1, 3] and body["total"] == 2
    merged = client.get("/api/v1/topics?include_merged=true", headers=auth(creds)).get_json()
    assert merged["total"] == 3
    with_volume = client.get("/api/v1/topics?sort=size&volume_hours=6", headers=auth(creds)).get_json()
    assert [sum(p["count"] for p in t["volume"]) for t in with_volume["topics"]] == [3, 1]
    assert "volume" not in body["topics"][0]


def test_topic_detail_has_volume_and_resolves_merged_ids(client, db, tenant):
    t, creds = tenant
    seed(db, t.id)
    body = client.get("/api/v1/topics/2?hours=6", headers=auth(creds)).get_json()
    assert body["id"] == 1 and body["redirected_from"] == 2
    assert len(body["volume"]) == 6 and sum(p["count"] for p in body["volume"]) == 3
    assert body["representatives"][0]["text"] == "<img src=x onerror=alert(1)>"  # JSON text; clients render as text


def test_rename_overrides_the_label(client, db, tenant):
    t, creds = tenant
    seed(db, t.id)
    resp = client.patch("/api/v1/topics/2", json={"name": "Blank invoice PDFs"}, headers=auth(creds))
    assert resp.status_code == 200 and resp.get_json()["display_name"] == "Blank invoice PDFs"
    assert resp.get_json()["label"] == "invoice pdf · blank"
    cleared = client.patch("/api/v1/topics/1", json={"name": None}, headers=auth(creds)).get_json()
    assert cleared["display_name"] == "invoice pdf · blank"
    bad = client.patch("/api/v1/topics/1", json={"name": ""}, headers=auth(creds))
    assert bad.status_code == 400 and "name" in bad.get_json()["error"]["fields"]


def test_ticket_context(client, db, tenant):
    t, creds = tenant
    seed(db, t.id)
    body = client.get("/api/v1/tickets/11/context", headers=auth(creds)).get_json()
    assert body["ticket"]["zendesk_id"] == "11" and body["topic"]["id"] == 1
    assert client.get("/api/v1/tickets/999/context", headers=auth(creds)).status_code == 404
    assert client.get("/api/v1/tickets/abc/context", headers=auth(creds)).status_code == 404
    assert client.get(f"/api/v1/topics/{2**40}", headers=auth(creds)).status_code == 404


def test_topics_are_tenant_scoped(client, db, make_tenant):
    a, a_creds = make_tenant("Alpha")
    b, b_creds = make_tenant("Beta")
    seed(db, a.id)
    assert client.get("/api/v1/topics", headers=auth(b_creds)).get_json()["total"] == 0
    assert client.get("/api/v1/topics/1", headers=auth(b_creds)).status_code == 404
    assert client.patch("/api/v1/topics/1", json={"name": "x"}, headers=auth(b_creds)).status_code == 404
    assert client.get("/api/v1/tickets/10/context", headers=auth(b_creds)).status_code == 404
    assert client.get("/api/v1/topics").status_code == 401
