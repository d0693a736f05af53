"""A tenant's connection to its Zendesk account: stored credentials and the one zenpy client built from them.

Two kinds of install:

- **private** (one customer's own app): the email of a Zendesk admin and an API token; zenpy sends
  HTTP basic ``{email}/token:{token}``;
- **marketplace**: an OAuth access token granted to the marketplace's global OAuth client; zenpy
  sends ``Authorization: Bearer``. Zendesk requires ``X-Zendesk-Marketplace-Name``,
  ``-Organization-Id`` and ``-App-Id`` on every request such an app makes from its server, so
  `client_for` puts them on the requests session the zenpy client uses. They are sent on private
  installs too whenever they are configured.

Tokens are stored encrypted with a key derived from the server's SECRET_KEY (Fernet, as the
tenants' webhook secrets are) and are never returned by any endpoint or written to a log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from server.crypto import labelled_fernet
from server.tenants.service import SLUG_RE, SubdomainTaken, check_subdomain_free
from server.zendesk.client import ZendeskError, build_client, make_session
from server.zendesk.models import ZendeskConnection

AUTH_KINDS = ("api_token", "oauth")
_EMAIL = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,118}$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]{1,100}$")


class ConnectionInvalid(ValueError):
    """The connection details are unusable (bad subdomain, email, missing marketplace identity)."""


@dataclass(frozen=True)
class Marketplace:
    """The ``X-Zendesk-Marketplace-*`` identity of the app (the same for every install of it)."""

    name: str | None = None
    organization_id: str | None = None
    app_id: str | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "Marketplace":
        return cls(name=str(cfg.get("ZENDESK_MARKETPLACE_NAME") or "") or None,
                   organization_id=str(cfg.get("ZENDESK_MARKETPLACE_ORGANIZATION_ID") or "") or None,
                   app_id=str(cfg.get("ZENDESK_MARKETPLACE_APP_ID") or "") or None)

    def complete(self) -> bool:
        return bool(self.name and self.organization_id and self.app_id)

    def headers(self) -> dict[str, str]:
        """The headers to send; only those that have a value.

        Examples
        --------
        >>> Marketplace("Groundswell", "123", "456").headers()["X-Zendesk-Marketplace-App-Id"]
        '456'
        >>> Marketplace().headers()
        {}
        """
        out = {}
        for header, value in (("X-Zendesk-Marketplace-Name", self.name),
                              ("X-Zendesk-Marketplace-Organization-Id", self.organization_id),
                              ("X-Zendesk-Marketplace-App-Id", self.app_id)):
            if value:
                out[header] = value
        return out


def _fernet(secret_key: str) -> Fernet:
    return labelled_fernet(secret_key, "groundswell/zendesk-credential/v1")


def encrypt(secret_key: str, value: str) -> str:
    return _fernet(secret_key).encrypt(value.encode()).decode()


def decrypt(secret_key: str, value: str) -> str:
    try:
        return _fernet(secret_key).decrypt(value.encode()).decode()
    except InvalidToken as e:
        raise ZendeskError("cannot decrypt the stored Zendesk credential: SECRET_KEY differs from the one it "
                           "was stored with; connect the tenant again") from e


def get_connection(session: Session, tenant_id: int) -> ZendeskConnection | None:
    return session.get(ZendeskConnection, tenant_id)


def connect(session: Session, tenant_id: int, *, subdomain: str, secret_key: str, now: datetime,
            email: str | None = None, token: str | None = None, oauth_token: str | None = None,
            marketplace: Marketplace | None = None) -> ZendeskConnection:
    """Store (or replace) the tenant's connection; the caller commits.

    Exactly one of ``token`` (with ``email``) or ``oauth_token``. An OAuth connection needs the
    complete marketplace identity, because Zendesk refuses marketplace calls without it. A subdomain another
    tenant has (created for it or connected to it) is refused: one tenant per Zendesk account.
    """
    subdomain = (subdomain or "").strip().lower()
    if not SLUG_RE.fullmatch(subdomain):
        raise ConnectionInvalid(f"{subdomain!r} is not a Zendesk subdomain (the 'acme' of acme.zendesk.com)")
    try:  # one tenant per Zendesk account
        check_subdomain_free(session, subdomain, other_than=tenant_id)
    except SubdomainTaken as e:
        raise ConnectionInvalid(str(e)) from None
    if bool(token) == bool(oauth_token):
        raise ConnectionInvalid("give either an API token (with the admin's email) or an OAuth token")
    if token and not (email and _EMAIL.fullmatch(email.strip())):
        raise ConnectionInvalid("an API token needs the email address of the Zendesk admin it belongs to")
    marketplace = marketplace or Marketplace()
    for value in (marketplace.name, marketplace.organization_id, marketplace.app_id):
        if value is not None and not _HEADER_VALUE.fullmatch(value):
            raise ConnectionInvalid("marketplace name and ids are printable ASCII, at most 100 characters")
    if oauth_token and not marketplace.complete():
        raise ConnectionInvalid("an OAuth (marketplace) connection needs the marketplace name, organization id "
                               "and app id (ZENDESK_MARKETPLACE_* settings)")
    credential = (token or oauth_token or "").strip()
    if not credential or len(credential) > 1000:
        raise ConnectionInvalid("the token is empty or too long")
    conn = session.get(ZendeskConnection, tenant_id)
    if conn is None:
        conn = ZendeskConnection(tenant_id=tenant_id, trigger_ids=[], events_offset=0)
        session.add(conn)
    conn.subdomain = subdomain
    conn.auth = "oauth" if oauth_token else "api_token"
    conn.email = email.strip() if token and email else None
    conn.credential_enc = encrypt(secret_key, credential)
    conn.marketplace_name = marketplace.name
    conn.marketplace_organization_id = marketplace.organization_id
    conn.marketplace_app_id = marketplace.app_id
    conn.updated_at = now
    session.flush()
    return conn


def public_view(conn: ZendeskConnection | None) -> dict[str, Any]:
    """What an admin may see of a connection: never the token."""
    if conn is None:
        return {"connected": False}
    return {"connected": True, "subdomain": conn.subdomain, "auth": conn.auth, "email": conn.email,
            "marketplace": {"name": conn.marketplace_name, "organization_id": conn.marketplace_organization_id,
                            "app_id": conn.marketplace_app_id},
            "webhook_id": conn.webhook_id, "trigger_ids": list(conn.trigger_ids or []),
            "installed_at": conn.installed_at}


def client_for(conn: ZendeskConnection, *, secret_key: str, marketplace: Marketplace | None = None,
               timeout: float = 10.0) -> Any:
    """The zenpy client for a stored connection (cache off, 429s raised, marketplace headers on).

    ``marketplace`` fills in what the connection does not store (the server's configured identity).
    """
    stored = Marketplace(conn.marketplace_name, conn.marketplace_organization_id, conn.marketplace_app_id)
    fallback = marketplace or Marketplace()
    identity = Marketplace(stored.name or fallback.name, stored.organization_id or fallback.organization_id,
                           stored.app_id or fallback.app_id)
    session = make_session()
    session.headers.update(identity.headers())
    credential = decrypt(secret_key, conn.credential_enc)
    if conn.auth == "oauth":
        return build_client(conn.subdomain, oauth_token=credential, session=session, timeout=timeout)
    return build_client(conn.subdomain, email=conn.email, token=credential, session=session, timeout=timeout)


def tenant_client(session: Session, tenant_id: int, cfg: Mapping[str, Any], *, secret_key: str) -> Any:
    """The zenpy client of a tenant, or `ZendeskError` when the tenant has no connection."""
    conn = get_connection(session, tenant_id)
    if conn is None:
        raise NotConnected("this tenant has no Zendesk connection: an admin runs `groundswell zendesk install` "
                           "or the app's connect step first")
    return client_for(conn, secret_key=secret_key, marketplace=Marketplace.from_config(cfg),
                      timeout=float(cfg.get("ZENDESK_TIMEOUT_SECONDS") or 10))


class NotConnected(ZendeskError):
    """The tenant has no stored Zendesk connection."""
