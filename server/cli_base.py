"""What every ``groundswell`` command needs: the configuration, the database (its schema checked) and a tenant
named by its slug, with the one-line errors the commands share."""

from __future__ import annotations

from typing import Any

import click

from server import config as config_mod


def load_config() -> dict[str, Any]:
    return config_mod.load()


def open_database(cfg: dict[str, Any]):  # type: ignore[no-untyped-def]
    from server.db import from_config

    return from_config(cfg)


def check_schema(db) -> None:  # type: ignore[no-untyped-def]
    """Refuse to run against a database whose schema is not this version's."""
    from server import migrate

    current, head = migrate.current(db), migrate.head(db)
    if current != head:
        raise click.ClickException(
            f"the database schema is at {current or 'nothing'} but this version needs {head}: "
            "run `groundswell db upgrade` first")


def get_tenant(session: Any, slug: str) -> Any:
    from server.tenants import find_by_slug

    t = find_by_slug(session, slug)
    if t is None:
        raise click.ClickException(f"no tenant {slug!r}: `groundswell tenant list` shows the tenants")
    return t
