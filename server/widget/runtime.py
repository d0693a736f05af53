"""What the widget stage reads from the database: each tenant's widget configuration (a backtest's, when the
tenant is first seen; the live detector takes it from the log's control events) and identity secrets (to
verify ``user_hash``), cached for ``ttl`` seconds."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from server.db import Database
from server.widget import identity
from server.widget.models import WidgetSettings


class WidgetTenantData:
    """Per-tenant widget configuration and identity secrets, refreshed at most every ``ttl`` seconds.

    Parameters
    ----------
    db
        The database with ``widget_settings``.
    secret_key
        The server's SECRET_KEY (identity secrets are stored encrypted with it); None: nothing verifies.
    ttl
        Seconds between reloads.
    """

    def __init__(self, db: Database, secret_key: str | None, ttl: float = 30.0) -> None:
        self.db = db
        self.secret_key = secret_key
        self.ttl = ttl
        self._loaded = -1e9
        self._configs: dict[int, dict[str, Any]] = {}
        self._secrets: dict[int, str] = {}

    def _refresh(self) -> None:
        if time.monotonic() - self._loaded <= self.ttl:
            return
        configs: dict[int, dict[str, Any]] = {}
        secrets: dict[int, str] = {}
        with self.db.session() as s:
            for row in s.scalars(select(WidgetSettings)):
                configs[row.tenant_id] = dict(row.config or {})
                if row.identity_secret_enc and self.secret_key:
                    try:
                        secrets[row.tenant_id] = identity.decrypt(row.identity_secret_enc, secret_key=self.secret_key)
                    except RuntimeError:
                        continue
        self._configs, self._secrets, self._loaded = configs, secrets, time.monotonic()

    def config(self, tenant_id: int) -> dict[str, Any] | None:
        self._refresh()
        return self._configs.get(tenant_id)

    def verify(self, tenant_id: int, user_id: str, claimed: Any) -> bool:
        self._refresh()
        return identity.verify(self._secrets.get(tenant_id), user_id, claimed)
