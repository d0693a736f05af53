"""Sidebar requests: the API token from the secure setting, or a JWT signed by the Zendesk proxy."""

from __future__ import annotations

import time

import jwt
import pytest

from server.topics.models import Ticket
from server.zendesk.sidebar_auth import rotate_sidebar_secret
from tests.conftest import TEST_SECRET_KEY
from tests.incidents.factories import T0, add_incident


def _secret(db, tenant) -> str:  # type: ignore[no-untyped-def]
    from server.tenants import Tenant

    with db.session() as s:
        t = s.get(Tenant, tenant.id)
        value = rotate_sidebar_secret(t, secret_key=TEST_SECRET_KEY)
        s.commit()
    return value


def _token(secret: str, **claims) -> str:  # type: ignore[no-untyped-def]
    body = {"iss": "acme", "aud": "groundswell", "exp": int(time.time()) + 300, "iat": int(time.time())}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")


def _get(client, token: str, path: str = "/api/v1/tickets/42/context"):  # type: ignore[no-untyped-def]
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def seeded(db, tenant):  # type: ignore[no-untyped-def]
    t, creds = tenant
    with db.session() as s:
        s.add(Ticket(tenant_id=t.id, zendesk_id="42", subject="Blank PDF", topic_id=None, created_at=T0))
        s.commit()
    add_incident(db, t.id, 1, tickets=["42"])
    return t, creds, _secret(db, t)


def test_a_valid_jwt_reads_the_context(client, seeded):
    _, _, secret = seeded
    resp = _get(client, _token(secret))
    assert resp.status_code == 200 and resp.get_json()["banner"]["incident_id"] == 1


def test_the_api_token_still_works(client, seeded):
    _, creds, _ = seeded
    assert _get(client, creds.api_token).status_code == 200


@pytest.mark.parametrize("claims, message", [
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"aud": "someone-else"}, "audience"),
    ({"aud": None}, "invalid"),
    ({"exp": None}, "invalid"),
    ({"iss": "nobody"}, "issuer"),
    ({"exp": int(time.time()) + 7 * 86400}, "too long"),
])
def test_bad_claims_are_401(client, seeded, claims, message):
    _, _, secret = seeded
    resp = _get(client, _token(secret, **claims))
    assert resp.status_code == 401 and message in resp.get_json()["error"]["message"]


def test_wrong_secret_unsigned_and_garbage_are_401(client, seeded):
    _, _, secret = seeded
    assert _get(client, _token("not-the-secret")).status_code == 401
    unsigned = jwt.encode({"iss": "acme", "aud": "groundswell", "exp": int(time.time()) + 60}, key=None,
                          algorithm="none")
    assert _get(client, unsigned).status_code == 401
    assert _get(client, "eyJhbGciOiJIUzI1NiJ9.eyJ.bad").status_code == 401
    assert _get(client, _token(secret)[:-3] + "abc").status_code == 401


def test_no_secret_set_means_jwts_are_refused(client, db, tenant):
    resp = _get(client, _token("anything"))
    assert resp.status_code == 401 and "no sidebar secret" in resp.get_json()["error"]["message"]


def test_a_jwt_only_reaches_its_own_tenant(client, db, make_tenant):
    a, _ = make_tenant("Alpha")
    b, _ = make_tenant("Beta")
    with db.session() as s:
        s.add(Ticket(tenant_id=b.id, zendesk_id="42", subject="Beta's", created_at=T0))
        s.commit()
    add_incident(db, b.id, 1, tickets=["42"])
    secret_a = _secret(db, a)
    token = _token(secret_a, iss="alpha")
    assert _get(client, token).status_code == 404  # Beta's ticket is not Alpha's
    assert _get(client, token, "/api/v1/incidents/1").status_code == 404
    assert _get(client, _token(secret_a, iss="beta")).status_code == 401  # Alpha's secret cannot speak for Beta


def test_every_sidebar_endpoint_accepts_the_jwt(client, seeded):
    _, _, secret = seeded
    h = {"Authorization": f"Bearer {_token(secret)}"}
    assert client.get("/api/v1/incidents/1", headers=h).status_code == 200
    assert client.post("/api/v1/incidents/1/feedback", json={"verdict": "useful", "by": "Ann"},
                       headers=h).status_code == 200
    assert client.patch("/api/v1/incidents/1/status", json={"status": "acknowledged", "by": "Ann"},
                        headers=h).status_code == 200
    assert client.patch("/api/v1/topics/1", json={"name": "x"}, headers=h).status_code == 404  # no topic 1: authed
    assert client.post("/api/v1/incidents/1/problem-ticket", json={"ticket_id": "42", "by": "Ann"},
                       headers=h).status_code == 502  # authenticated; the tenant has no Zendesk connection
