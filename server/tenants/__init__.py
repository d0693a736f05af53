"""Tenants: one tenant is one installation (one Zendesk account).

A tenant owns three credentials, shown once when created or rotated:

- the **webhook signing secret** Zendesk signs deliveries with (stored encrypted: it must be
  recovered to verify HMACs),
- the **widget site key**, public by design and paired with an origin allowlist,
- the **API token** for the sidebar and the admin API (stored as a SHA-256 hash only).
"""

from server.tenants.models import Tenant
from server.tenants.service import (
    Credentials,
    SubdomainTaken,
    authenticate_token,
    create_tenant,
    delete_tenant,
    find_by_site_key,
    find_by_slug,
    rotate,
    webhook_secret,
)

__all__ = [
    "Credentials",
    "SubdomainTaken",
    "Tenant",
    "authenticate_token",
    "create_tenant",
    "delete_tenant",
    "find_by_site_key",
    "find_by_slug",
    "rotate",
    "webhook_secret",
]
