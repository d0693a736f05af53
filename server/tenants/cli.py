"""``groundswell tenant ...``: create tenants, list them, rotate their credentials, edit their allowed origins."""

from __future__ import annotations

import json
from typing import Any

import click

from server import config as config_mod
from server.cli_base import check_schema, get_tenant, load_config, open_database


@click.group("tenant")
def tenant_group() -> None:
    """Create and manage tenants (one per Zendesk installation)."""


def _print_credentials(creds: Any, as_json: bool, extra: dict[str, Any]) -> None:
    data = {k: v for k, v in {**extra, "webhook_secret": creds.webhook_secret, "site_key": creds.site_key,
                              "api_token": creds.api_token}.items() if v is not None}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:>16}: {value}")
    click.echo("\nThese secrets are shown once. Store them now; only the site key can be read back.", err=True)


@tenant_group.command("create")
@click.argument("name")
@click.option("--zendesk-subdomain", "subdomain", required=True, help="The account's subdomain (acme for acme.zendesk.com).")
@click.option("--slug", help="URL name of the tenant (default: made from NAME).")
@click.option("--origin", "origins", multiple=True, help="Origin allowed to send widget events (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as JSON.")
def tenant_create(name: str, subdomain: str, slug: str | None, origins: tuple[str, ...], as_json: bool) -> None:
    """Create a tenant and print its credentials once.

    One tenant per Zendesk account: a subdomain that another tenant already has is refused (its webhooks,
    sidebar and backfill would be split between the two)."""
    from server.tenants import create_tenant
    from server.tenants.service import TenantError

    cfg = load_config()
    database = open_database(cfg)
    check_schema(database)
    with database.session() as session:
        try:
            t, creds = create_tenant(session, name, secret_key=config_mod.secret_key(cfg),
                                     zendesk_subdomain=subdomain, slug=slug, origins=list(origins))
        except TenantError as e:
            raise click.ClickException(str(e)) from None
        session.commit()
        base = str(cfg.get("PUBLIC_URL") or "").rstrip("/")  # without it, the path to put after the server's address
        _print_credentials(creds, as_json, {"tenant": t.slug, "webhook_url": f"{base}/webhooks/zendesk/{t.slug}"})


@tenant_group.command("list")
def tenant_list() -> None:
    """List tenants (no secrets)."""
    from sqlalchemy import select

    from server.tenants import Tenant

    database = open_database(load_config())
    with database.session() as session:
        rows = session.scalars(select(Tenant).order_by(Tenant.id)).all()
        if not rows:
            click.echo("no tenants yet: groundswell tenant create NAME --zendesk-subdomain SUB")
            return
        table = [("slug", "name", "zendesk", "site key", "origins")]
        table += [(t.slug, t.name, t.zendesk_subdomain or "-", t.site_key, ",".join(t.allowed_origins or []) or "-")
                  for t in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]  # the last one is not padded
        for row in table:
            click.echo("  ".join([cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]))


@tenant_group.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask: delete without typing the slug again.")
def tenant_delete(slug: str, yes: bool) -> None:
    """Delete a tenant and everything Groundswell holds for it: events, tickets, topics, incidents, widget
    sessions, settings and credentials. There is no undo.

    It says what will go and asks for the slug again first (unless --yes). A running detector forgets the
    tenant's learnt state before its next batch; its webhook, widget key and API token stop working at once.
    It is one transaction: on SQLite, other tenants' ingest waits while it runs (delete when traffic is low)."""
    from server.tenants import delete_tenant
    from server.tenants.service import tenant_rows

    database = open_database(load_config())
    check_schema(database)
    with database.session() as session:
        t = get_tenant(session, slug)
        rows = tenant_rows(session, t)
        click.echo(f"Tenant {t.slug} ({t.name}, Zendesk {t.zendesk_subdomain or '-'}) holds:")
        for table, n in sorted(rows.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"  {n:>12,}  {table}")
        if not rows:
            click.echo("  nothing but its settings and credentials")
        if not yes:
            typed = click.prompt(f"Type {t.slug} to delete it and all of the above (no undo)", default="",
                                 show_default=False)
            if typed.strip() != t.slug:
                raise click.ClickException("not deleted: the slug typed did not match")
        delete_tenant(session, t)
        session.commit()
    if rows:
        click.echo(f"Deleted tenant {slug} and {sum(rows.values()):,} rows.")
    else:
        click.echo(f"Deleted tenant {slug} (its settings and credentials; it held no other data).")


@tenant_group.command("rotate")
@click.argument("slug")
@click.option("--webhook-secret", is_flag=True, help="Make a new webhook signing secret.")
@click.option("--set-webhook-secret", help="Use this signing secret (the one Zendesk shows for the webhook).")
@click.option("--site-key", is_flag=True, help="Make a new widget site key.")
@click.option("--api-token", is_flag=True, help="Make a new API token (the old one stops working).")
@click.option("--json", "as_json", is_flag=True, help="Print the new credentials as JSON.")
def tenant_rotate(slug: str, webhook_secret: bool, set_webhook_secret: str | None, site_key: bool,
                  api_token: bool, as_json: bool) -> None:
    """Replace credentials of tenant SLUG and print the new ones once."""
    from server.tenants import rotate

    if not (webhook_secret or set_webhook_secret or site_key or api_token):
        raise click.UsageError("say what to rotate: --webhook-secret, --set-webhook-secret, --site-key, --api-token")
    cfg = load_config()
    with open_database(cfg).session() as session:
        t = get_tenant(session, slug)
        creds = rotate(t, secret_key=config_mod.secret_key(cfg), webhook_secret=webhook_secret,
                       site_key=site_key, api_token=api_token, webhook_secret_value=set_webhook_secret)
        session.commit()
        _print_credentials(creds, as_json, {"tenant": t.slug})


@tenant_group.command("origins")
@click.argument("slug")
@click.option("--add", "add", multiple=True, help="Origin to allow (repeatable).")
@click.option("--remove", "remove", multiple=True, help="Origin to disallow (repeatable).")
def tenant_origins(slug: str, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Show or change the origins allowed to send widget events for tenant SLUG."""
    from server.tenants.service import TenantError, normalize_origin, origin_forms

    with open_database(load_config()).session() as session:
        t = get_tenant(session, slug)
        try:
            current = set(t.allowed_origins or [])
            current |= {normalize_origin(o) for o in add}
            absent = [o for o in remove if not current & set(origin_forms(o))]
            current -= {form for o in remove for form in origin_forms(o)}
        except TenantError as e:
            raise click.ClickException(str(e)) from None
        for o in absent:
            click.echo(f"{o} was not allowed; nothing to remove", err=True)
        t.allowed_origins = sorted(current)
        session.commit()
        click.echo("\n".join(t.allowed_origins) or "(no origins allowed)")

