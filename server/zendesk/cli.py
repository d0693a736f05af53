"""``groundswell zendesk ...``: connect a tenant to Zendesk, show the connection, rotate the sidebar secret."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

from server import config as config_mod
from server.cli_base import check_schema, get_tenant, load_config, open_database


def _setup() -> tuple[dict[str, Any], Any]:
    cfg = load_config()
    database = open_database(cfg)
    check_schema(database)
    return cfg, database


@click.group("zendesk")
def zendesk_group() -> None:
    """Connect tenants to their Zendesk accounts."""


@zendesk_group.command("install")
@click.option("--tenant", "slug", required=True, help="Slug of the tenant.")
@click.option("--subdomain", required=True, help="The Zendesk account: the acme of acme.zendesk.com.")
@click.option("--email", envvar="ZENDESK_EMAIL", help="Email of the Zendesk admin the API token belongs to "
              "[env ZENDESK_EMAIL].")
@click.option("--token", envvar="ZENDESK_API_TOKEN", help="Zendesk API token (private installs) "
              "[env ZENDESK_API_TOKEN].")
@click.option("--oauth-token", envvar="ZENDESK_OAUTH_TOKEN", help="OAuth access token from the marketplace's "
              "global OAuth client [env ZENDESK_OAUTH_TOKEN].")
@click.option("--public-url", help="Where Zendesk reaches this server (default: PUBLIC_URL).")
@click.option("--since", default="90d", show_default=True, help="Backfill start: 90d, 12h, 2w or a date.")
@click.option("--backfill/--no-backfill", default=True, show_default=True, help="Import ticket history now.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def install_command(slug: str, subdomain: str, email: str | None, token: str | None, oauth_token: str | None,
                    public_url: str | None, since: str, backfill: bool, as_json: bool) -> None:
    """Store the connection, create the webhook (its signing secret becomes the tenant's webhook
    secret) and the triggers, then backfill the ticket history. Safe to run again."""
    from server.eventlog import SqlEventLog
    from server.zendesk import BackfillConflict, ZendeskError, parse_since, run_backfill
    from server.zendesk.connection import ConnectionInvalid, Marketplace, client_for
    from server.zendesk.install import install

    if bool(token) == bool(oauth_token):
        raise click.UsageError("give --token with --email (private install) or --oauth-token (marketplace)")
    cfg, database = _setup()
    public_url = public_url or cfg["PUBLIC_URL"]
    if not public_url:
        raise click.UsageError("Zendesk must reach this server: give --public-url or set PUBLIC_URL")
    try:
        start = parse_since(since, datetime.now(timezone.utc))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    secret_key = config_mod.secret_key(cfg)
    marketplace = Marketplace.from_config(cfg)
    with database.session() as session:
        tenant = get_tenant(session, slug)
        try:
            result = install(session, tenant, subdomain=subdomain, public_url=public_url, secret_key=secret_key,
                             now=datetime.now(timezone.utc), email=email, token=token, oauth_token=oauth_token,
                             marketplace=marketplace, timeout=float(cfg["ZENDESK_TIMEOUT_SECONDS"]))
        except (ConnectionInvalid, ZendeskError) as e:
            raise click.ClickException(str(e)) from None
        from server.zendesk.connection import get_connection

        conn = get_connection(session, tenant.id)
        zd = client_for(conn, secret_key=secret_key, marketplace=marketplace)  # type: ignore[arg-type]
    out: dict[str, Any] = {"tenant": slug, "webhook_id": result.webhook_id, "webhook_created": result.webhook_created,
                           "trigger_ids": result.trigger_ids, "triggers_created": result.triggers_created,
                           "triggers_updated": result.triggers_updated, "sidebar_secret": result.sidebar_secret}
    if backfill:
        try:
            done = run_backfill(database, SqlEventLog(), tenant.id, zd, start, progress=not as_json)
        except (ZendeskError, BackfillConflict) as e:
            raise click.ClickException(f"connected, but the backfill stopped: {e}; run `groundswell backfill` or "
                                       "this command again to resume") from None
        out["backfill"] = {"pages": done.pages, "tickets": done.tickets, "new_events": done.accepted,
                           "done": done.done}
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"{slug}: connected to {subdomain}; webhook {result.webhook_id} "
               f"({'created' if result.webhook_created else 'already there'}), "
               f"{len(result.trigger_ids)} triggers ({result.triggers_created} created"
               + (f", {result.triggers_updated} brought up to date" if result.triggers_updated else "") + ")")
    if result.sidebar_secret:
        click.echo(f"sidebar secret (shown once; paste it into the app's settings): {result.sidebar_secret}")
    if backfill:
        b = out["backfill"]
        click.echo(f"backfill: {b['tickets']} tickets, {b['new_events']} new events"
                   + ("; up to date" if b["done"] else ""))


@zendesk_group.command("status")
@click.option("--tenant", "slug", required=True, help="Slug of the tenant.")
def status_command(slug: str) -> None:
    """Show the tenant's Zendesk connection (never its token)."""
    from server.zendesk.service import zendesk_settings

    _, database = _setup()
    with database.session() as session:
        view = zendesk_settings(session, get_tenant(session, slug))
    click.echo(json.dumps(view, default=str, indent=2))


@zendesk_group.command("sidebar-secret")
@click.option("--tenant", "slug", required=True, help="Slug of the tenant.")
def sidebar_secret_command(slug: str) -> None:
    """Make a new sidebar secret (the key the Zendesk proxy signs sidebar JWTs with); shown once."""
    from server.zendesk.sidebar_auth import rotate_sidebar_secret

    cfg, database = _setup()
    with database.session() as session:
        tenant = get_tenant(session, slug)
        value = rotate_sidebar_secret(tenant, secret_key=config_mod.secret_key(cfg))
        session.commit()
    click.echo(value)
