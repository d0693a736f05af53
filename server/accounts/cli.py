"""``groundswell accounts``: the accounts whose tickets or product usage changed against their own past."""

from __future__ import annotations

import json
from typing import Any

import click

from server.cli_base import check_schema, get_tenant, load_config, open_database


def _post_accounts_digest(cfg: dict[str, Any], report: dict[str, Any], tenant_name: str,
                          tenant_settings: dict[str, Any]) -> None:
    from server.notify.client import SlackClient, SlackError, parse_hosts
    from server.notify.settings import SettingsError, load_target, slack_settings
    from server.notify.slack import accounts_blocks

    try:
        target = load_target(slack_settings(tenant_settings), secret_key=cfg["SECRET_KEY"])
    except SettingsError as e:
        raise click.ClickException(str(e)) from None
    if target is None:
        raise click.ClickException("Slack notifications are not configured for this tenant: "
                                   "PUT /api/v1/settings/notifications first (docs/notifications.md).")
    client = SlackClient(api_url=cfg["SLACK_API_URL"], webhook_hosts=parse_hosts(cfg["SLACK_WEBHOOK_HOSTS"]))
    try:
        client.send(target, accounts_blocks(report, tenant_name, cfg["PUBLIC_URL"] or None))
    except SlackError as e:
        raise click.ClickException(f"Slack refused the digest: {e.code}" + (f" (HTTP {e.status})" if e.status else ""))
    click.echo(f"posted to Slack ({target.mode})", err=True)


@click.command("accounts")
@click.option("--tenant", "slug", required=True, help="Slug of the tenant.")
@click.option("--days", type=click.IntRange(1, 28), default=7, show_default=True,
              help="Window length; under 7, judged against the same days of the weeks before.")
@click.option("--weeks", type=click.IntRange(2, 26), default=8, show_default=True, help="Past windows.")
@click.option("--fdr", type=click.FloatRange(0.001, 0.5), default=0.05, show_default=True,
              help="Expected share of false flags among the flags.")
@click.option("--min-ratio", type=click.FloatRange(1.0, 20.0), default=1.5, show_default=True,
              help="Least change flagged, either way.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (as GET /api/v1/accounts/changes).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the flagged accounts to this CSV file (for a CRM or a spreadsheet).")
@click.option("--slack", "to_slack", is_flag=True,
              help="Also post the report to the tenant's Slack (its notification settings): run it weekly from cron.")
def accounts(slug: str, days: int, weeks: int, fdr: float, min_ratio: float, as_json: bool,
             csv_path: str | None, to_slack: bool) -> None:
    """Accounts whose tickets or product usage changed against their own past (see docs/accounts.md)."""
    import csv
    from datetime import datetime, timezone

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from marshmallow import ValidationError

    from server.accounts.schemas import account_changes_out, account_changes_query
    from server.accounts.service import account_changes, change_text

    try:  # the API's own rules (ranges, how far back the windows may reach)
        account_changes_query.load({"days": days, "weeks": weeks, "fdr": fdr, "min_ratio": min_ratio})
    except ValidationError as e:
        raise click.BadParameter("; ".join(f"{k}: {' '.join(v)}" for k, v in e.messages.items()),
                                 param_hint="--weeks") from None
    cfg = load_config()
    database = open_database(cfg)
    check_schema(database)
    with database.session() as session:
        tenant = get_tenant(session, slug)
        tenant_id, tenant_name, tenant_settings = tenant.id, tenant.name, dict(tenant.settings or {})
        report = account_changes_out.dump(account_changes(session, tenant_id, now=datetime.now(timezone.utc),
                                                          days=days, weeks=weeks, fdr=fdr, min_ratio=min_ratio))
    if csv_path:  # before Slack: a path that cannot be written stops the command before anything is posted
        columns = ["account_id", "name", "source", "signal", "direction", "label", "observed", "expected", "ratio",
                   "p_value", "q_value", "requesters", "history", "sentence"]
        try:
            with open(csv_path, "w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                for a in report["accounts"]:
                    writer.writerow([" ".join(map(str, a[c])) if c == "history" else
                                     ("" if a[c] is None else a[c]) for c in columns])
        except OSError as e:
            raise click.ClickException(f"cannot write {csv_path}: {e.strerror or e}") from None
    if to_slack:
        _post_accounts_digest(cfg, report, tenant_name, tenant_settings)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = Console()
    tested = report["tested"]
    console.print(f"Last {days} day{'s' if days > 1 else ''} against up to {weeks} past windows (each account "
                  f"from its first data on); tested "
                  f"{tested.get('tickets', 0)} organizations and {tested.get('users', 0)} product accounts.")
    if not report["accounts"]:
        console.print("No account changed more than its own ups and downs allow."
                      if any(tested.values()) else "Not enough history for this window yet.")
        return
    table = Table("what", "account", "now", "expected", "change", "past windows", "q")
    for a in report["accounts"]:
        who = f"{a['name']} ({a['account_id']})" if a.get("name") else a["account_id"]
        table.add_row(a["label"], Text(f"{a['source']} {who}"),  # names and ids are data, not markup
                      str(a["observed"]), f"{a['expected']:.1f}", change_text(a["direction"], a["ratio"]),
                      ", ".join(map(str, a["history"])),
                      f"{a['q_value']:.3g}")
    console.print(table)
    console.print(f"q: how likely a flag is to be a false one, allowing for every account tested (shown up to "
                  f"--fdr {fdr:g}).")

