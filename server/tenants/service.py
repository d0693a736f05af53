"""Tenant creation, credential rotation and credential lookup.

Functions take the session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.crypto import labelled_fernet
from server.tenants.models import Tenant

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
SITE_KEY_PREFIX = "gs_pk_"
API_TOKEN_PREFIX = "gs_sk_"


class TenantError(ValueError):
    """A tenant could not be created or changed as asked (bad name, duplicate, bad origin)."""


class SubdomainTaken(TenantError):
    """Another tenant already has this Zendesk account: one tenant per account, or its webhooks, sidebar and
    backfill would be split between the two."""

    def __init__(self, slug: str, subdomain: str) -> None:
        super().__init__(f"tenant {slug!r} already has the Zendesk subdomain {subdomain!r}: one tenant per Zendesk "
                         "account (`groundswell tenant list` shows them)")
        self.slug, self.subdomain = slug, subdomain


@dataclass(frozen=True)
class Credentials:
    """Secrets in clear, returned once at creation or rotation and never stored like this."""

    webhook_secret: str | None = None
    site_key: str | None = None
    api_token: str | None = None


def slugify(name: str) -> str:
    """A URL-safe tenant slug from a display name.

    Examples
    --------
    >>> slugify("Acme Billing, Inc.")
    'acme-billing-inc'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")
    if not SLUG_RE.fullmatch(slug):
        raise TenantError(f"cannot make a tenant slug from {name!r}; use letters and digits")
    return slug


#: Ports a browser leaves out of an Origin header.
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> str:
    """Validate an allowed origin (scheme://host[:port], no path) and return it normalised.

    Examples
    --------
    >>> normalize_origin("HTTPS://App.Example.com")
    'https://app.example.com'
    >>> normalize_origin("http://localhost:8000")
    'http://localhost:8000'
    >>> normalize_origin("https://app.example.com:443")  # a browser's Origin leaves the default port out
    'https://app.example.com'
    >>> normalize_origin("http://[::1]:8080")
    'http://[::1]:8080'
    >>> normalize_origin("https://app.example.com:99999")
    Traceback (most recent call last):
    ...
    server.tenants.service.TenantError: 'https://app.example.com:99999' is not an origin like https://app.example.com
    """
    refusal = f"{origin!r} is not an origin like https://app.example.com"
    try:
        parts = urlsplit(origin.strip())
        port_number = parts.port  # read here: a port that is not a number from 0 to 65535 raises ValueError
    except ValueError:  # also an unclosed IPv6 bracket (http://[x)
        raise TenantError(refusal) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"} \
            or parts.query or parts.fragment or parts.username:
        raise TenantError(refusal)
    return _origin(parts.scheme.lower(), parts.hostname.lower(), port_number)


def _origin(scheme: str, host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets, as browsers send it
    return f"{scheme}://{host}{f':{port}' if port and port != DEFAULT_PORTS[scheme] else ''}"


def origin_forms(origin: str) -> tuple[str, ...]:
    """The normalised origin, then the forms in which builds before 2026-12-05 stored it where they differ
    (an IPv6 address without brackets, a default port typed out), so origins allowed then still match and can be
    removed. Raises `TenantError` as `normalize_origin` does.

    >>> origin_forms("https://App.Example.com")
    ('https://app.example.com', 'https://app.example.com:443')
    >>> origin_forms("http://[::1]:8080")
    ('http://[::1]:8080', 'http://::1:8080')
    >>> origin_forms("http://localhost:8000")
    ('http://localhost:8000',)
    """
    normalized = normalize_origin(origin)
    parts = urlsplit(origin.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = DEFAULT_PORTS[scheme]
    port = parts.port or default
    bare = f"{scheme}://{host}"  # an IPv6 address without its brackets, as those builds wrote it
    forms = [normalized, bare + (f":{port}" if port != default else "")]
    if port == default:
        forms.append(f"{bare}:{port}")  # the default port typed out, which a browser's Origin never has
    return tuple(dict.fromkeys(forms))


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _fernet(secret_key: str) -> Fernet:
    return labelled_fernet(secret_key, "groundswell/webhook-secret/v1")


def _new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def subdomain_hint(value: str) -> str:
    """What to give instead of ``value``, which is no Zendesk subdomain: the subdomain of a Zendesk address
    given whole, else what a subdomain is.

    >>> subdomain_hint("https://bad.zendesk.com/agent/")
    "give just the subdomain, 'bad'"
    >>> subdomain_hint("Acme Inc")
    'give the part before .zendesk.com, in lower case (acme for acme.zendesk.com)'
    """
    text = value.strip()
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname or ""
    except ValueError:  # not an address at all ("http://[x")
        host = ""
    sub = host.removesuffix(".zendesk.com")
    if sub != host and SLUG_RE.fullmatch(sub):
        return f"give just the subdomain, {sub!r}"
    return "give the part before .zendesk.com, in lower case (acme for acme.zendesk.com)"


def subdomain_holder(session: Session, subdomain: str, *, other_than: int | None = None) -> str | None:
    """Slug of the tenant that has the Zendesk account ``subdomain`` (created for it, or connected to it by
    ``groundswell zendesk install``), leaving out tenant ``other_than``; None when no tenant has it."""
    from server.zendesk.models import ZendeskConnection  # the connections' table names the tenants' one

    named = select(Tenant.slug).where(Tenant.zendesk_subdomain == subdomain)
    connected = (select(Tenant.slug).join(ZendeskConnection, ZendeskConnection.tenant_id == Tenant.id)
                 .where(ZendeskConnection.subdomain == subdomain))
    for q in (named, connected):
        if other_than is not None:
            q = q.where(Tenant.id != other_than)
        held = session.scalar(q.order_by(Tenant.id).limit(1))
        if held is not None:
            return held
    return None


def check_subdomain_free(session: Session, subdomain: str, *, other_than: int | None = None) -> None:
    """Raise `SubdomainTaken` when a tenant other than ``other_than`` has the Zendesk account ``subdomain``."""
    held = subdomain_holder(session, subdomain, other_than=other_than)
    if held is not None:
        raise SubdomainTaken(held, subdomain)


def create_tenant(session: Session, name: str, *, secret_key: str, zendesk_subdomain: str | None = None,
                  slug: str | None = None, origins: list[str] | tuple[str, ...] = (),
                  now: datetime | None = None) -> tuple[Tenant, Credentials]:
    """Create a tenant and return it with its credentials in clear (shown once).

    One tenant per Zendesk account: a ``zendesk_subdomain`` another tenant has raises `SubdomainTaken`."""
    slug = slug or slugify(name)
    if not SLUG_RE.fullmatch(slug):
        raise TenantError(f"invalid tenant slug {slug!r}")
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise TenantError(f"a tenant with slug {slug!r} already exists: choose another with --slug "
                          "(`groundswell tenant list` shows the slugs taken)")
    if zendesk_subdomain is not None and not SLUG_RE.fullmatch(zendesk_subdomain):
        raise TenantError(f"invalid Zendesk subdomain {zendesk_subdomain!r}: {subdomain_hint(zendesk_subdomain)}")
    if zendesk_subdomain is not None:
        check_subdomain_free(session, zendesk_subdomain)
    creds = Credentials(
        webhook_secret=_new_webhook_secret(),
        site_key=SITE_KEY_PREFIX + secrets.token_urlsafe(18),
        api_token=API_TOKEN_PREFIX + secrets.token_urlsafe(32),
    )
    tenant = Tenant(
        slug=slug,
        name=name[:200],
        zendesk_subdomain=zendesk_subdomain,
        webhook_secret_enc=_fernet(secret_key).encrypt(creds.webhook_secret.encode()).decode(),  # type: ignore[union-attr]
        site_key=creds.site_key,
        api_token_sha256=token_sha256(creds.api_token),  # type: ignore[arg-type]
        allowed_origins=sorted({normalize_origin(o) for o in origins}),
        settings={},
        created_at=now or datetime.now(timezone.utc),
    )
    session.add(tenant)
    session.flush()
    return tenant, creds


def rotate(tenant: Tenant, *, secret_key: str, webhook_secret: bool = False, site_key: bool = False,
           api_token: bool = False, webhook_secret_value: str | None = None) -> Credentials:
    """Replace the chosen credentials; returns the new ones in clear.

    ``webhook_secret_value`` sets a known secret (the one Zendesk generated for an existing webhook).
    """
    new_secret = new_site = new_token = None
    if webhook_secret or webhook_secret_value:
        new_secret = webhook_secret_value or _new_webhook_secret()
        tenant.webhook_secret_enc = _fernet(secret_key).encrypt(new_secret.encode()).decode()
    if site_key:
        new_site = SITE_KEY_PREFIX + secrets.token_urlsafe(18)
        tenant.site_key = new_site
    if api_token:
        new_token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        tenant.api_token_sha256 = token_sha256(new_token)
    return Credentials(webhook_secret=new_secret, site_key=new_site, api_token=new_token)


def webhook_secret(tenant: Tenant, *, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(tenant.webhook_secret_enc.encode()).decode()
    except InvalidToken as e:
        raise RuntimeError(
            "cannot decrypt the tenant's webhook secret: SECRET_KEY differs from the one it was stored with"
        ) from e


def tenant_rows(session: Session, tenant: Tenant) -> dict[str, int]:
    """Rows the tenant owns, by table (tables where it has none left out): what deleting it takes away."""
    import server.models  # noqa: F401  (every table, so that none is missed)

    out: dict[str, int] = {}
    for table in Tenant.metadata.sorted_tables:
        column = table.columns.get("tenant_id")
        if column is None:
            continue
        n = session.scalar(select(func.count()).select_from(table).where(column == tenant.id)) or 0
        if n:
            out[table.name] = int(n)
    return out


def delete_tenant(session: Session, tenant: Tenant) -> None:
    """Delete the tenant and everything it owns (every table's rows cascade with it, in this transaction).

    A running detector forgets the tenant's learnt state before its next batch (``Stage.retain``); the
    tenant's credentials stop working at once. Nothing of it can be recovered."""
    session.delete(tenant)
    session.flush()


def find_by_slug(session: Session, slug: str) -> Tenant | None:
    if not SLUG_RE.fullmatch(slug or ""):
        return None
    return session.scalar(select(Tenant).where(Tenant.slug == slug))


def find_by_site_key(session: Session, site_key: str) -> Tenant | None:
    if not site_key.startswith(SITE_KEY_PREFIX) or len(site_key) > 64:
        return None
    return session.scalar(select(Tenant).where(Tenant.site_key == site_key))


def authenticate_token(session: Session, token: str) -> Tenant | None:
    """The tenant whose API token this is, or None. The token is compared by its hash."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 128:
        return None
    digest = token_sha256(token)
    tenant = session.scalar(select(Tenant).where(Tenant.api_token_sha256 == digest))
    if tenant is None or not hmac.compare_digest(tenant.api_token_sha256, digest):
        return None
    return tenant
