"""The ``groundswell`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from server import config as config_mod
from server.cli_base import check_schema, get_tenant, load_config, open_database


@click.group()
def main() -> None:
    """Groundswell: support anomaly detection for Zendesk and in-app events."""
    cfg = load_config()
    from server import logs

    logs.configure(cfg["LOG_LEVEL"], cfg["LOG_FORMAT"])


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from server import migrate

    database = open_database(load_config())
    migrate.upgrade(database, revision)
    click.echo(f"database at revision {migrate.current(database)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` removes every table)."""
    from server import migrate

    database = open_database(load_config())
    migrate.downgrade(database, revision)
    click.echo(f"database at revision {migrate.current(database) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and the latest one."""
    from server import migrate

    database = open_database(load_config())
    click.echo(f"current: {migrate.current(database) or 'none'}\nlatest:  {migrate.head(database)}")


@main.command()
@click.option("--partition", default="0/1", show_default=True, help="INDEX/COUNT: tenants with id % COUNT == INDEX.")
@click.option("--batch-size", type=int, help="Events per checkpoint (default: DETECTOR_BATCH_SIZE).")
@click.option("--checkpoint-seconds", type=float, help="Least time between checkpoints (default: DETECTOR_CHECKPOINT_SECONDS).")
@click.option("--once", is_flag=True, help="Process what is in the log, then exit.")
def detector(partition: str, batch_size: int | None, checkpoint_seconds: float | None, once: bool) -> None:
    """Run the detector: read the event log in order and update the pipeline's state."""
    from server.eventlog import SqlEventLog
    from server.metrics import DETECTOR_EVENTS
    from server.pipeline import Runner, run_forever
    from server.pipeline.registry import stage_factory

    try:
        index, count = (int(x) for x in partition.split("/"))
    except ValueError:
        raise click.BadParameter("use INDEX/COUNT, for example 0/2", param_hint="--partition") from None
    cfg = load_config()
    database = open_database(cfg)
    check_schema(database)
    runner = Runner(database, SqlEventLog(), stage_factory(database, secret_key=config_mod.secret_key(cfg)),
                    partition=(index, count),
                    batch_size=batch_size or int(cfg["DETECTOR_BATCH_SIZE"]),
                    checkpoint_seconds=cfg["DETECTOR_CHECKPOINT_SECONDS"] if checkpoint_seconds is None
                    else checkpoint_seconds)
    if once:
        n = runner.run_until_idle()
        click.echo(f"processed {n} events; partition {runner.name} at offset {runner.offset}")
        return
    from server.notify import Notifier
    from server.notify import start_worker as start_notifier

    notifier = Notifier.from_config(database, cfg, secret_key=config_mod.secret_key(cfg), partition=(index, count))
    start_notifier(notifier, interval=float(cfg["NOTIFY_POLL_SECONDS"]))
    if cfg["ANTHROPIC_API_KEY"]:  # one client and one hourly budget for topic and incident summaries
        from server.incidents.summaries import start_worker as start_incident_summaries
        from server.topics.summaries import ClaudeSummarizer, start_worker

        summarizer = ClaudeSummarizer(cfg["ANTHROPIC_API_KEY"], model=cfg["SUMMARY_MODEL"],
                                      base_url=cfg["ANTHROPIC_BASE_URL"] or None,
                                      calls_per_hour=cfg["SUMMARY_CALLS_PER_HOUR"])
        start_worker(database, summarizer)
        start_incident_summaries(database, summarizer, partition=(index, count), on_summary=notifier.redraw)
    from server.notify.webhooks import WebhookSender
    from server.notify.webhooks import start_worker as start_webhooks

    start_webhooks(WebhookSender.from_config(database, cfg, secret_key=config_mod.secret_key(cfg),
                                             partition=(index, count)), interval=float(cfg["NOTIFY_POLL_SECONDS"]))
    from server.accounts.digest import DigestSender
    from server.accounts.digest import start_worker as start_digest_worker
    from server.accounts.service import refresh_all_reports
    from server.notify.client import SlackClient, parse_hosts
    from server.workers import start_periodic

    start_periodic("account-reports", lambda: refresh_all_reports(database, partition=(index, count)),
                   interval=float(cfg["ACCOUNTS_REPORT_SECONDS"]))

    start_digest_worker(DigestSender(database, secret_key=config_mod.secret_key(cfg),
                                     client=SlackClient(api_url=cfg["SLACK_API_URL"],
                                                        webhook_hosts=parse_hosts(cfg["SLACK_WEBHOOK_HOSTS"])),
                                     base_url=cfg["PUBLIC_URL"] or None, partition=(index, count)),
                        interval=float(cfg["ACCOUNTS_DIGEST_POLL_SECONDS"]))
    from server.zendesk.worker import ZendeskWorker
    from server.zendesk.worker import start_worker as start_zendesk_worker

    start_zendesk_worker(ZendeskWorker(database, SqlEventLog(), cfg, secret_key=config_mod.secret_key(cfg),
                                       partition=(index, count)), interval=float(cfg["ZENDESK_POLL_SECONDS"]))
    from server.incidents.backtest_runs import BacktestWorker
    from server.incidents.backtest_runs import start_worker as start_backtests
    from server.understand.embed import Embedder
    from server.widget.runtime import WidgetTenantData

    start_backtests(BacktestWorker(database, SqlEventLog(), Embedder(cache_size=20_000).embed,  # its own cache
                                   widget=WidgetTenantData(database, config_mod.secret_key(cfg)),
                                   partition=(index, count)))
    counter = DETECTOR_EVENTS.labels(runner.name)
    run_forever(runner, poll_seconds=float(cfg["DETECTOR_POLL_SECONDS"]), on_batch=counter.inc)


@main.command()
@click.option("--host", help="Bind address (default: HOST).")
@click.option("--port", type=int, help="Port (default: PORT).")
@click.option("--workers", type=int, help="gunicorn workers (default: WEB_WORKERS).")
@click.option("--threads", type=int, help="Threads per worker (default: WEB_THREADS).")
@click.option("--detector/--no-detector", default=True, show_default=True, help="Also run the detector.")
def serve(host: str | None, port: int | None, workers: int | None, threads: int | None, detector: bool) -> None:
    """Run the web app (gunicorn) and the detector, restarting either if it dies."""
    from server.serve import Child, detector_argv, supervise, web_argv

    cfg = load_config()
    check_schema(open_database(cfg))
    host, port = host or cfg["HOST"], port or cfg["PORT"]
    children = [Child("web", web_argv(host, port, workers or cfg["WEB_WORKERS"], threads or cfg["WEB_THREADS"]))]
    if detector:
        children.append(Child("detector", detector_argv()))
    click.echo(f"Groundswell on http://{host}:{port}/  (Ctrl-C stops)", err=True)
    sys.exit(supervise(children))


@main.command()
@click.option("--tenant", "slug", required=True, help="Slug of the tenant to backfill.")
@click.option("--since", default="90d", show_default=True,
              help="How far back: 90d, 12h, 30m, 2w, or a date/time such as 2026-01-01 (UTC).")
@click.option("--email", envvar="ZENDESK_EMAIL", help="Email of the Zendesk admin the API token belongs to "
              "[env ZENDESK_EMAIL].")
@click.option("--token", envvar="ZENDESK_API_TOKEN", help="Zendesk API token [env ZENDESK_API_TOKEN].")
@click.option("--oauth-token", envvar="ZENDESK_OAUTH_TOKEN", help="OAuth access token, instead of email and "
              "API token [env ZENDESK_OAUTH_TOKEN].")
@click.option("--restart", is_flag=True, help="Ignore the stored cursor and start again from --since.")
@click.option("--requests-per-minute", type=click.IntRange(1, 30), default=10, show_default=True,
              help="Export requests per minute (Zendesk allows 10, or 30 with the High Volume add-on).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def backfill(slug: str, since: str, email: str | None, token: str | None, oauth_token: str | None,
             restart: bool, requests_per_minute: int, progress: bool) -> None:
    """Import the tenant's Zendesk tickets changed since --since into the event log.

    Uses the cursor-based incremental export, resumes where an interrupted run stopped, and
    keeps within the export's rate limit. Running it again later fetches only what changed.
    """
    from datetime import datetime, timezone

    from server.eventlog import SqlEventLog
    from server.zendesk import (BackfillConflict, ZendeskAuthError, ZendeskError, build_client, parse_since,
                                run_backfill)

    try:
        start = parse_since(since, datetime.now(timezone.utc))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    if oauth_token and token:
        raise click.UsageError("give either --token (with --email) or --oauth-token, not both")
    if not oauth_token and not (email and token):
        raise click.UsageError("Zendesk credentials needed: --email and --token (or ZENDESK_EMAIL and "
                               "ZENDESK_API_TOKEN), or --oauth-token (ZENDESK_OAUTH_TOKEN)")
    database = open_database(load_config())
    check_schema(database)
    with database.session() as session:
        t = get_tenant(session, slug)
    if not t.zendesk_subdomain:
        raise click.ClickException(f"tenant {slug!r} has no Zendesk subdomain, so there is no account to "
                                   "export from; it needs one (the acme of acme.zendesk.com)")
    try:
        zd = build_client(t.zendesk_subdomain, email=None if oauth_token else email,
                          token=None if oauth_token else token, oauth_token=oauth_token)
        result = run_backfill(database, SqlEventLog(), t, zd, start, restart=restart,
                              requests_per_minute=requests_per_minute, progress=progress)
    except ZendeskAuthError as e:
        raise click.ClickException(f"{e} ({t.zendesk_subdomain}.zendesk.com)") from None
    except (ZendeskError, BackfillConflict) as e:
        raise click.ClickException(f"{e}; pages already imported are kept, run the command again to "
                                   "resume") from None
    except KeyboardInterrupt:
        raise click.ClickException("interrupted; pages already imported are kept, run the same command "
                                   "again to resume") from None
    how = "resumed" if result.resumed else "started"
    click.echo(f"backfill of {t.slug} ({how}): {result.pages} pages, {result.tickets} tickets fetched, "
               f"{result.accepted} new events, {result.duplicates} already in the log"
               + (f", {result.skipped} without an id skipped" if result.skipped else "")
               + ("; up to date" if result.done else ""))


@main.command()
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="Server to send to.")
@click.option("--credentials", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="JSON file with tenant, site_key, webhook_secret (as `tenant create --json` prints).")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Time compression of the stream.")
@click.option("--duration", type=float, default=0, help="Stop after this many seconds (0: run until stopped).")
@click.option("--seed", type=int, default=None, help="Seed of the stream (default: the demo's).")
def replay(url: str, credentials: Path, speed: float, duration: float, seed: int | None) -> None:
    """Send a realistic stream of Zendesk webhooks and widget batches to a running server."""
    from server.demo.replay import Replayer

    creds = json.loads(credentials.read_text())
    Replayer(url, creds, speed=speed, **({} if seed is None else {"seed": seed})).run(duration=duration or None)


@main.command()
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--speed", type=float, default=8.0, show_default=True,
              help="Compression of the incident schedule: at 8, a surge begins within a minute and they recur about every 14 minutes.")
def demo(port: int, speed: float) -> None:
    """Migrate, create the demo tenant, serve, and replay a realistic stream into it."""
    from server.demo.run import run_demo

    sys.exit(run_demo(load_config(), port, speed))




# Each domain's commands live beside it (server/<domain>/cli.py).
from server.accounts.cli import accounts  # noqa: E402
from server.incidents.cli import backtest  # noqa: E402
from server.marketplace.cli import app_group  # noqa: E402
from server.pipeline.cli import dead_letters  # noqa: E402
from server.tenants.cli import tenant_group  # noqa: E402
from server.zendesk.cli import zendesk_group  # noqa: E402

for command in (accounts, app_group, backtest, dead_letters, tenant_group, zendesk_group):
    main.add_command(command)



if __name__ == "__main__":
    main()
