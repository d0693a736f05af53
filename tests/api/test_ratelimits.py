"""The read API's rate limit (server/api/views.py `_token_key`): per API token, per tenant for sidebar
JWTs, and per caller address for credentials that fail."""

from __future__ import annotations

import time

import jwt

from server.tenants import Tenant
from server.zendesk.sidebar_auth import rotate_sidebar_secret
from tests.conftest import TEST_SECRET_KEY

ATTACKER = {"REMOTE_ADDR": "6.6.6.6"}
AGENT = {"REMOTE_ADDR": "1.2.3.4"}


def _get(client, token: str, environ: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    return int(client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"},
                          environ_base=environ).status_code)


def _sidebar_secret(db, tenant_id: int) -> str:  # type: ignore[no-untyped-def]
    with db.session() as s:
        value = rotate_sidebar_secret(s.get(Tenant, tenant_id), secret_key=TEST_SECRET_KEY)
        s.commit()
    return value


def _jwt(secret: str, slug: str, n: int) -> str:
    now = int(time.time())
    return jwt.encode({"iss": slug, "aud": "groundswell", "exp": now + 300, "iat": now, "jti": str(n)}, secret,
                      algorithm="HS256")


def test_guesses_with_ever_new_tokens_share_the_callers_address(app, client, db, tenant):
    _, creds = tenant
    app.config["RATE_LIMIT_API"] = "5/minute"
    guesses = [_get(client, f"gs_sk_guess{i}", ATTACKER) for i in range(6)]
    assert guesses == [401] * 5 + [429]
    assert _get(client, "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhY21lIn0.c2ln", ATTACKER) == 429  # a forged JWT too
    assert _get(client, creds.api_token, AGENT) == 200  # the tenant's own token is not held back
    assert _get(client, creds.api_token, ATTACKER) == 200  # nor is its token from the guessing address


def test_sidebar_jwts_minted_per_request_share_their_tenants_bucket(app, client, db, tenant, make_tenant):
    t, creds = tenant
    secret = _sidebar_secret(db, t.id)
    app.config["RATE_LIMIT_API"] = "3/minute"
    codes = [_get(client, _jwt(secret, t.slug, i), {"REMOTE_ADDR": f"1.2.3.{i}"}) for i in range(4)]
    assert codes == [200, 200, 200, 429]
    other, _ = make_tenant("Other")
    assert _get(client, _jwt(_sidebar_secret(db, other.id), other.slug, 9), AGENT) == 200
    assert _get(client, creds.api_token, AGENT) == 200  # the API token keeps its own bucket


def test_api_tokens_still_count_per_token(app, client, db, tenant):
    _, creds = tenant
    app.config["RATE_LIMIT_API"] = "2/minute"
    codes = [_get(client, creds.api_token, {"REMOTE_ADDR": f"1.2.3.{i}"}) for i in range(3)]
    assert codes == [200, 200, 429]
