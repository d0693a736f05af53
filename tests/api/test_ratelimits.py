"""The read API's rate limit (server/api/views.py `_token_key`): per API token, per tenant for sidebar
JWTs (under their own limit, RATE_LIMIT_SIDEBAR), and per caller address for credentials that fail."""

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


def test_sidebar_jwts_count_per_tenant_under_the_sidebar_limit_not_an_api_tokens(app, client, db, tenant,
                                                                                  make_tenant):
    """Every agent's sidebars and nav bars refresh each minute with a JWT minted per request that names only
    the tenant: they share one bucket sized for a team (RATE_LIMIT_SIDEBAR), not one API token's limit."""
    t, creds = tenant
    secret = _sidebar_secret(db, t.id)
    app.config["RATE_LIMIT_API"] = "2/minute"
    app.config["RATE_LIMIT_SIDEBAR"] = "5/minute"
    codes = [_get(client, _jwt(secret, t.slug, i), {"REMOTE_ADDR": f"1.2.3.{i}"}) for i in range(6)]
    assert codes == [200] * 5 + [429]  # agents on many addresses, past the API token's 2, to the tenant's 5
    other, _ = make_tenant("Other")
    assert _get(client, _jwt(_sidebar_secret(db, other.id), other.slug, 9), AGENT) == 200
    assert [_get(client, creds.api_token, AGENT) for _ in range(3)] == [200, 200, 429]  # the token's own 2


def test_failed_sidebar_jwts_count_against_the_callers_address_under_the_api_limit(app, client, db, tenant):
    t, _ = tenant
    secret = _sidebar_secret(db, t.id)
    app.config["RATE_LIMIT_API"] = "2/minute"
    app.config["RATE_LIMIT_SIDEBAR"] = "100/minute"
    forged = [_get(client, _jwt("not-the-secret", t.slug, i), ATTACKER) for i in range(3)]
    assert forged == [401, 401, 429]
    assert _get(client, _jwt(secret, t.slug, 7), ATTACKER) == 200  # the tenant's agents are not held back


def test_api_tokens_still_count_per_token(app, client, db, tenant):
    _, creds = tenant
    app.config["RATE_LIMIT_API"] = "2/minute"
    codes = [_get(client, creds.api_token, {"REMOTE_ADDR": f"1.2.3.{i}"}) for i in range(3)]
    assert codes == [200, 200, 429]
