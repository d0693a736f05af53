"""Identity verification: a tenant's backend signs its user ids so a page cannot claim to be someone else.

The tenant's server computes ``user_hash = hex(HMAC-SHA256(identity_secret, user_id))`` and hands it to
the page, which passes it to ``identify``; the widget sends it as ``data.user_hash`` on its events and
as ``user_hash`` to the decision API. The secret is stored encrypted (Fernet, key derived from the
server's SECRET_KEY, as the webhook secret is) and shown once when generated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

from server.crypto import labelled_fernet

IDENTITY_SECRET_PREFIX = "gs_id_"


def _fernet(secret_key: str) -> Fernet:
    return labelled_fernet(secret_key, "groundswell/identity-secret/v1")


def new_secret() -> str:
    return IDENTITY_SECRET_PREFIX + secrets.token_urlsafe(32)


def encrypt(secret: str, *, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt(token: str, *, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken as e:
        raise RuntimeError("cannot decrypt the identity secret: SECRET_KEY differs from the one it was stored with") \
            from e


def user_hash(secret: str, user_id: str) -> str:
    """The value a tenant's backend computes for a user.

    Examples
    --------
    >>> user_hash("gs_id_k", "user-1")[:16]
    '0872c34b2c31b8ee'
    """
    return hmac.new(secret.encode("utf-8"), user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(secret: str | None, user_id: str, claimed: object) -> bool:
    """Whether ``claimed`` is the user's hash under ``secret`` (compared in constant time).

    Examples
    --------
    >>> s = "gs_id_k"
    >>> verify(s, "user-1", user_hash(s, "user-1")), verify(s, "user-2", user_hash(s, "user-1"))
    (True, False)
    >>> verify(s, "user-1", None), verify(None, "user-1", "00")
    (False, False)
    """
    if not secret or not isinstance(claimed, str) or len(claimed) != 64:
        return False
    return hmac.compare_digest(user_hash(secret, user_id), claimed.lower())
