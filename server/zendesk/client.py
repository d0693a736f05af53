"""A zenpy client for one tenant's Zendesk account, and the errors Zendesk calls end in.

Always built with ``disable_cache=True``: with zenpy's cache on, any call with an ``id=`` can be
answered from the cache (``tickets.incidents(1)`` returns the cached Ticket 1), and a long-running
process serves stale tickets.

**Rate limits.** On a 429 zenpy 2.0.57 sleeps out ``Retry-After`` itself, one ``time.sleep(1)``
at a time, inside the call. The session built here raises `ZendeskRateLimited` from a response
hook instead, before zenpy sees the 429, so the caller decides how to wait (and tests can fake
the wait). A zenpy client built elsewhere keeps zenpy's blocking behaviour.

**Local fakes.** zenpy reads two environment variables on every request
(``zenpy/lib/api.py``: ``BaseApi._build_url`` takes the scheme from ``ZENPY_FORCE_SCHEME`` and
``BaseApi.base_url`` the host from ``ZENPY_FORCE_NETLOC``), so ``ZENPY_FORCE_SCHEME=http`` and
``ZENPY_FORCE_NETLOC=127.0.0.1:PORT`` send every call to a local fake Zendesk. They apply to the
whole process; tests set them with ``monkeypatch.setenv``. Nothing here reads them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

#: Wait used when a 429 carries no usable Retry-After.
DEFAULT_RETRY_AFTER = 60.0
#: Longest Retry-After obeyed as given; longer values are capped.
MAX_RETRY_AFTER = 15 * 60.0


class ZendeskError(RuntimeError):
    """A Zendesk call failed; the message says why and what to do."""


class ZendeskAuthError(ZendeskError):
    """Zendesk rejected the credentials (401) or their permissions (403)."""


class ZendeskRateLimited(ZendeskError):
    """Zendesk answered 429; wait ``retry_after`` seconds before the next request."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Zendesk rate limit reached; retry after {retry_after:g} s")
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), bounded.

    Examples
    --------
    >>> retry_after_seconds("7"), retry_after_seconds(None), retry_after_seconds("soon")
    (7.0, 60.0, 60.0)
    >>> from datetime import datetime, timezone
    >>> retry_after_seconds("Thu, 01 Jan 2026 00:00:30 GMT", now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    30.0
    """
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return DEFAULT_RETRY_AFTER
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def _raise_on_429(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    if response.status_code == 429:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        response.close()
        raise ZendeskRateLimited(wait)
    return response


def make_session() -> requests.Session:
    """A requests session with zenpy's retrying adapter and the 429 hook."""
    from zenpy import Zenpy

    session = requests.Session()
    # zenpy mounts its retrying adapter only on sessions it creates itself; keep that behaviour.
    session.mount("https://", HTTPAdapter(**Zenpy.http_adapter_kwargs()))
    session.hooks["response"].append(_raise_on_429)
    return session


def build_client(subdomain: str | None, *, email: str | None = None, token: str | None = None,
                 oauth_token: str | None = None, session: requests.Session | None = None,
                 timeout: float = 60) -> Any:
    """A ``zenpy.Zenpy`` client for ``subdomain``.zendesk.com, with the cache disabled.

    Authenticate with ``email`` + API ``token``, or with ``oauth_token``. A ``session`` may carry
    extra headers (the ``X-Zendesk-Marketplace-*`` ones); it gets the 429 hook added.

    Examples
    --------
    >>> zd = build_client("acme", email="admin@acme.test", token="t0k3n")
    >>> zd.tickets.subdomain, zd.tickets.session.auth
    ('acme', ('admin@acme.test/token', 't0k3n'))
    >>> build_client(None, oauth_token="x")
    Traceback (most recent call last):
    ...
    server.zendesk.client.ZendeskError: the tenant has no Zendesk subdomain
    """
    from zenpy import Zenpy

    if not subdomain:
        raise ZendeskError("the tenant has no Zendesk subdomain")
    if oauth_token and token:
        raise ZendeskError("give either an API token (with the email) or an OAuth token, not both")
    if token and not email:
        raise ZendeskError("an API token needs the email address of the Zendesk user it belongs to")
    if not token and not oauth_token:
        raise ZendeskError("no Zendesk credentials: give an email and API token, or an OAuth token")
    if session is None:
        session = make_session()
    elif _raise_on_429 not in session.hooks["response"]:
        session.hooks["response"].append(_raise_on_429)
    if oauth_token:
        return Zenpy(subdomain=subdomain, oauth_token=oauth_token, session=session, timeout=timeout,
                     disable_cache=True)
    return Zenpy(subdomain=subdomain, email=email, token=token, session=session, timeout=timeout,
                 disable_cache=True)
