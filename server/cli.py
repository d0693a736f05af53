"""The ``groundswell`` command."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from server import config as config_mod

log = logging.getLogger("groundswell")


def _cfg() -> dict[str, Any]:
    return config_mod.load()


def _db(cfg: dict[str, Any]):  # type: ignore[no-untyped-def]
    from server.db import from_config

    return from_config(cfg)


def _check_schema(db) -> None:  # type: ignore[no-untyped-def]
    from server import migrate

    current, head = migrate.current(db), migrate.head(db)
    if current != head:
        raise click.ClickException(
            f"the database schema is at {current or 'nothing'} but this version needs {head}: "
            "run `groundswell db upgrade` first")


@click.group()
def main() -> None:
    """Groundswell: support anomaly detection for Zendesk and in-app events."""
    cfg = _cfg()
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

    database = _db(_cfg())
    migrate.upgrade(database, revision)
    click.echo(f"database at revision {migrate.current(database)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` removes every table)."""
    from server import migrate

    database = _db(_cfg())
    migrate.downgrade(database, revision)
    click.echo(f"database at revision {migrate.current(database) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and the latest one."""
    from server import migrate

    database = _db(_cfg())
    click.echo(f"current: {migrate.current(database) or 'none'}\nlatest:  {migrate.head(database)}")


@main.group()
def tenant() -> None:
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


@tenant.command("create")
@click.argument("name")
@click.option("--zendesk-subdomain", "subdomain", required=True, help="The account's subdomain (acme for acme.zendesk.com).")
@click.option("--slug", help="URL name of the tenant (default: made from NAME).")
@click.option("--origin", "origins", multiple=True, help="Origin allowed to send widget events (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as JSON.")
def tenant_create(name: str, subdomain: str, slug: str | None, origins: tuple[str, ...], as_json: bool) -> None:
    """Create a tenant and print its credentials once."""
    from server.tenants import create_tenant
    from server.tenants.service import TenantError

    cfg = _cfg()
    database = _db(cfg)
    _check_schema(database)
    with database.session() as session:
        try:
            t, creds = create_tenant(session, name, secret_key=config_mod.secret_key(cfg),
                                     zendesk_subdomain=subdomain, slug=slug, origins=list(origins))
        except TenantError as e:
            raise click.ClickException(str(e)) from None
        session.commit()
        _print_credentials(creds, as_json, {"tenant": t.slug, "webhook_url": f"/webhooks/zendesk/{t.slug}"})


@tenant.command("list")
def tenant_list() -> None:
    """List tenants (no secrets)."""
    from sqlalchemy import select

    from server.tenants import Tenant

    database = _db(_cfg())
    with database.session() as session:
        rows = session.scalars(select(Tenant).order_by(Tenant.id)).all()
        if not rows:
            click.echo("no tenants yet: groundswell tenant create NAME --zendesk-subdomain SUB")
        for t in rows:
            click.echo(f"{t.slug:<24} {t.name:<30} zendesk={t.zendesk_subdomain or '-':<16} "
                       f"site_key={t.site_key} origins={','.join(t.allowed_origins) or '-'}")


def _get_tenant(session: Any, slug: str) -> Any:
    from server.tenants import find_by_slug

    t = find_by_slug(session, slug)
    if t is None:
        raise click.ClickException(f"no tenant {slug!r}")
    return t


@tenant.command("rotate")
@click.argument("slug")
@click.option("--webhook-secret", is_flag=True, help="Make a new webhook signing secret.")
@click.option("--set-webhook-secret", help="Use this signing secret (the one Zendesk shows for the webhook).")
@click.option("--site-key", is_flag=True, help="Make a new widget site key.")
@click.option("--api-token", is_flag=True, help="Make a new API token (the old one stops working).")
@click.option("--json", "as_json", is_flag=True)
def tenant_rotate(slug: str, webhook_secret: bool, set_webhook_secret: str | None, site_key: bool,
                  api_token: bool, as_json: bool) -> None:
    """Replace credentials of tenant SLUG and print the new ones once."""
    from server.tenants import rotate

    if not (webhook_secret or set_webhook_secret or site_key or api_token):
        raise click.UsageError("say what to rotate: --webhook-secret, --set-webhook-secret, --site-key, --api-token")
    cfg = _cfg()
    with _db(cfg).session() as session:
        t = _get_tenant(session, slug)
        creds = rotate(t, secret_key=config_mod.secret_key(cfg), webhook_secret=webhook_secret,
                       site_key=site_key, api_token=api_token, webhook_secret_value=set_webhook_secret)
        session.commit()
        _print_credentials(creds, as_json, {"tenant": t.slug})


@tenant.command("origins")
@click.argument("slug")
@click.option("--add", "add", multiple=True, help="Origin to allow (repeatable).")
@click.option("--remove", "remove", multiple=True, help="Origin to disallow (repeatable).")
def tenant_origins(slug: str, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Show or change the origins allowed to send widget events for tenant SLUG."""
    from server.tenants.service import TenantError, normalize_origin, origin_forms

    with _db(_cfg()).session() as session:
        t = _get_tenant(session, slug)
        try:
            current = set(t.allowed_origins or [])
            current |= {normalize_origin(o) for o in add}
            current -= {form for o in remove for form in origin_forms(o)}
        except TenantError as e:
            raise click.ClickException(str(e)) from None
        t.allowed_origins = sorted(current)
        session.commit()
        click.echo("\n".join(t.allowed_origins) or "(no origins allowed)")


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
    cfg = _cfg()
    database = _db(cfg)
    _check_schema(database)
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


@main.group("dead-letters", invoke_without_command=True)
@click.option("--limit", type=int, default=50, show_default=True, help="Newest first, at most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def dead_letters(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List the events the detector skipped because each failed twice on its own.

    Once the cause is fixed and deployed, `groundswell dead-letters retry` has the detector process them.
    """
    if ctx.invoked_subcommand is not None:
        return
    from server.eventlog.log import as_utc
    from server.pipeline.runner import dead_letters as list_dead_letters

    database = _db(_cfg())
    with database.session() as session:
        rows = list_dead_letters(session, limit=limit)
        slugs = _slugs(session, {r.tenant_id for r in rows})
        if not rows and not as_json:
            click.echo("no skipped events")
        for r in rows:
            item = {"offset": r.offset, "partition": r.partition, "tenant": slugs.get(r.tenant_id, r.tenant_id),
                    "kind": r.kind, "error_class": r.error_class, "error": r.error, "attempts": r.attempts,
                    "skipped_at": as_utc(r.created_at).strftime("%Y-%m-%dT%H:%M:%SZ")}
            if as_json:
                click.echo(json.dumps(item))
            else:
                click.echo(f"{item['skipped_at']} offset={r.offset} partition={r.partition} "
                           f"tenant={item['tenant']} kind={r.kind} {r.error_class}: {r.error[:120]}")


def _slugs(session: Any, tenant_ids: set[int]) -> dict[int, str]:
    from server.tenants import Tenant

    return {t.id: t.slug for t in session.query(Tenant).filter(Tenant.id.in_(tenant_ids))}


@dead_letters.command("retry")
@click.argument("offsets", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead letter.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def dead_letters_retry(offsets: tuple[int, ...], retry_all: bool, yes: bool) -> None:
    """Process the skipped events at OFFSETS (or --all) again, once their cause is fixed and deployed.

    Removes these dead letters and the checkpoint of every detector partition holding their tenants. Each such
    partition then replays its whole log from the start with the events included, rewriting its incidents,
    topics and statistics; it sends no Slack message or webhook for anything up to where it had got before,
    the retried events' own changes included (they show on the dashboard, not in Slack). An event
    that opens an incident of its own renumbers its tenant's later incidents. The command prints the partitions
    and how many events they replay, and asks before changing anything (unless --yes). A running detector
    notices its checkpoint gone before its next batch and starts over by itself; an event that still fails is
    skipped again. See docs/architecture.md.
    """
    from server.pipeline.retry import NotDeadLetters, plan_retry, retry

    if bool(offsets) == retry_all:
        raise click.UsageError("name the OFFSETS to retry (from `groundswell dead-letters`), or --all")
    database = _db(_cfg())
    _check_schema(database)

    def planned(session: Any, chosen: list[int] | None) -> Any:
        try:
            return plan_retry(session, chosen)
        except NotDeadLetters as e:
            one = len(e.offsets) == 1
            raise click.ClickException(
                f"{'offset' if one else 'offsets'} {', '.join(map(str, e.offsets))} "
                f"{'is not a dead letter' if one else 'are not dead letters'} (list them with "
                "`groundswell dead-letters`); nothing was changed") from None

    with database.session() as session:
        plan = planned(session, None if retry_all else list(offsets))
        if not plan.letters:
            click.echo("no skipped events")
            return
        slugs = _slugs(session, {r.tenant_id for r in plan.letters})
        n = len(plan.letters)
        click.echo(f"{n} skipped event{'' if n == 1 else 's'} to retry:")
        for r in plan.letters:
            click.echo(f"  offset={r.offset} tenant={slugs.get(r.tenant_id, r.tenant_id)} kind={r.kind} "
                       f"{r.error_class}: {r.error[:120]}")
        for p in plan.replays:
            click.echo(f"Partition {p.partition} replays its log from the start: {p.events:,} events "
                       f"(its checkpoint is at offset {p.offset:,}).")
        if not plan.replays:
            click.echo("No partition's checkpoint holds their tenants: the detector reads them when it starts "
                       "from the beginning of the log (one already running without a checkpoint, in the first "
                       "seconds of a replay, notices them retried and starts over).")
        else:
            click.echo("The replay rewrites incidents, topics and statistics with these events included and sends no "
                       "Slack message or webhook for anything up to where the partition had got, these events' "
                       "own changes included (they show on the dashboard); the dashboard lags until it catches "
                       "up. If an event opens an incident of its own, its tenant's later incidents are renumbered "
                       "(docs/architecture.md). A running detector starts over by itself before its next batch.")
    if not yes:
        click.confirm("Retry?", abort=True)
    with database.session() as session:
        plan = planned(session, [r.offset for r in plan.letters])  # as it stands now, in this transaction
        retry(session, plan)
        session.commit()
    n = len(plan.letters)
    click.echo(f"Removed {n} dead letter{'' if n == 1 else 's'}"
               + (f" and the checkpoint of {', '.join(p.partition for p in plan.replays)}." if plan.replays else "."))


@main.command()
@click.option("--host", help="Bind address (default: HOST).")
@click.option("--port", type=int, help="Port (default: PORT).")
@click.option("--workers", type=int, help="gunicorn workers (default: WEB_WORKERS).")
@click.option("--threads", type=int, help="Threads per worker (default: WEB_THREADS).")
@click.option("--detector/--no-detector", default=True, show_default=True, help="Also run the detector.")
def serve(host: str | None, port: int | None, workers: int | None, threads: int | None, detector: bool) -> None:
    """Run the web app (gunicorn) and the detector, restarting either if it dies."""
    from server.serve import Child, detector_argv, supervise, web_argv

    cfg = _cfg()
    _check_schema(_db(cfg))
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
    database = _db(_cfg())
    _check_schema(database)
    with database.session() as session:
        t = _get_tenant(session, slug)
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
@click.option("--seed", type=int, default=7, show_default=True)
def replay(url: str, credentials: Path, speed: float, duration: float, seed: int) -> None:
    """Send a realistic stream of Zendesk webhooks and widget batches to a running server."""
    from server.demo.replay import Replayer

    creds = json.loads(credentials.read_text())
    Replayer(url, creds, speed=speed, seed=seed).run(duration=duration or None)


@main.command()
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--speed", type=float, default=8.0, show_default=True,
              help="Compression of the incident schedule: at 8, a surge begins within a minute and they recur about every 14 minutes.")
def demo(port: int, speed: float) -> None:
    """Migrate, create the demo tenant, serve, and replay a realistic stream into it."""
    from server.demo.run import run_demo

    sys.exit(run_demo(_cfg(), port, speed))



@main.command()
@click.option("--tenant", "slug", required=True, help="Slug of the tenant whose stored events are replayed.")
@click.option("--since", default="90d", show_default=True,
              help="Report incidents detected since: 90d, 12h, 4w, or a date such as 2026-01-01 (UTC).")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A what-if detection setting, repeatable: sensitivity.spike=2, alarm_budget_per_week=0.5, "
                   "plan_sensitivity.enterprise=3, resolve_after_minutes=60, min_requesters=4, enabled=false; "
                   "in-app friction: friction.weekly_false_alarms=2, friction.min_sessions=5, "
                   "friction.warmup_hours=48.")
@click.option("--compare", is_flag=True,
              help="Also replay under the stored settings and print what the --set settings add and drop, with "
                   "people's ratings of the matching real incidents.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def backtest(slug: str, since: str, pairs: tuple[str, ...], compare: bool, as_json: bool, progress: bool) -> None:
    """Replay a tenant's stored events through the detectors and report what would have fired.

    Nothing is written: tune settings here before switching them on. The replay starts at the
    beginning of the log (baselines need the history) and reports incidents from --since on; incidents
    a week are counted from where the data begins (the first ticket or in-app event, when later).
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    from rich.text import Text

    from server.eventlog import SqlEventLog
    from server.incidents.backtest import backtest_variants, parse_overrides, split_overrides
    from server.incidents.settings import DetectionSettings
    from server.incidents.backtest_runs import actual_incidents
    from server.incidents.backtest_runs import compare as compare_runs
    from server.metrics import utcnow
    from server.zendesk import parse_since
    from server.understand.embed import Embedder
    from server.widget.runtime import WidgetTenantData

    try:
        start = parse_since(since, utcnow())
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    try:
        overrides = parse_overrides(pairs)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--set") from None
    cfg = _cfg()
    database = _db(cfg)
    _check_schema(database)
    log_ = SqlEventLog()
    with database.session() as session:
        t = _get_tenant(session, slug)
        tenant_id, stored = t.id, (t.settings or {}).get("detection")
        total = log_.count(session, tenant_id)
    widget = WidgetTenantData(database, config_mod.secret_key(cfg))
    console = Console(stderr=True)
    with Progress(console=console, disable=not progress or as_json, transient=True) as bar:
        task = bar.add_task(f"Replaying {slug}'s events", total=total)
        variants: list[dict[str, Any] | None] = [overrides]
        if compare:  # as the incidents page compares: each whole settings used throughout the period
            detection, friction = split_overrides(overrides)
            proposal = dict(stored or {})
            for key, value in detection.items():  # --set adds kinds and plan tiers one by one
                proposal[key] = {**(proposal.get(key) or {}), **value} if isinstance(value, dict) else value
            variants = [DetectionSettings.from_dict(stored).to_dict(),
                        {**DetectionSettings.from_dict(proposal).to_dict(), **({"friction": friction} if friction else {})}]
        reports = backtest_variants(database, log_, tenant_id, start, embed=Embedder().embed, settings=stored,
                                    variants=variants, widget=widget.config(tenant_id), verify=widget.verify,
                                    progress=lambda n: bar.advance(task, n), fixed=compare)
    report = reports[-1]
    now = utcnow()
    if compare:
        with database.session() as session:
            actual = actual_incidents(session, tenant_id, start)
        result = compare_runs(reports[0], report, actual, now)
        if as_json:
            click.echo(json.dumps(result, default=str, indent=2))
            return
        _print_comparison(result, slug, ", ".join(p.strip() for p in pairs))
        return
    if as_json:
        data_since = report.data_since
        click.echo(json.dumps({"since": start.isoformat(), "data_since": data_since.isoformat() if data_since else None,
                               "events": report.events, "tickets": report.tickets, "by_kind": report.by_kind(),
                               "incidents": report.incidents}, default=str, indent=2))
        return
    out = Console()
    table = Table(title=f"What would have fired for {slug} since {start:%Y-%m-%d %H:%M} UTC")
    for col in ("id", "kind", "detected (UTC)", "tickets", "customers", "p-value", "evidence"):
        table.add_column(col, overflow="fold")
    for inc in report.incidents:
        friction = inc["kind"] == "friction"  # in-app: the page's sessions, no tickets
        table.add_row(str(inc["id"]), inc["kind"], f"{inc['detected_at']:%Y-%m-%d %H:%M}",
                      "–" if friction else str(inc["ticket_count"]),
                      f"{inc['evidence'].get('sessions', 0)} sessions" if friction else str(inc["requester_count"]),
                      f"{inc['p_value']:.1e}", Text(inc["sentence"]))  # ticket words: text, never markup
    out.print(table)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind().items())) or "none"
    rate = f"{len(report.incidents) / report.weeks_until(now):.1f} a week" if report.incidents else "0 a week"
    rate += _data_only_from(start, report.data_since)
    n = len(report.incidents)
    what_if = ", ".join(p.strip() for p in pairs)
    out.print(f"{report.events} events replayed ({report.tickets} tickets); {n} incident{'' if n == 1 else 's'} "
              f"({kinds}); {rate}. Settings: {'as stored, with ' + what_if if what_if else 'as stored'}.", markup=False)


def _data_only_from(since: datetime, data_since: datetime | None) -> str:
    """" (data only from <when> UTC)" when the data begins after the period asked for does: the rates a
    week are over that shorter span."""
    if data_since is None or data_since <= since:
        return ""
    return f" (data only from {data_since:%Y-%m-%d %H:%M} UTC)"


def _print_comparison(result: dict[str, Any], slug: str, what_if: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = Console(markup=False, highlight=False)
    cur, new = result["current"], result["proposed"]

    def kinds(by_kind: dict[str, int]) -> str:
        return ", ".join(f"{k} {n}" for k, n in by_kind.items()) or "none"

    data_since = result.get("data_since")
    only = _data_only_from(datetime.fromisoformat(result["since"]), datetime.fromisoformat(data_since)
                           if data_since else None)
    out.print(f"Since {result['since'][:16].replace('T', ' ')} UTC{only}, {result['tickets']} tickets "
              f"({result['events']} events) replayed.")
    out.print(f"Stored settings: {cur['count']} incidents ({kinds(cur['by_kind'])}), {cur['per_week']} a week.")
    out.print(f"With {what_if or 'no change'}: {new['count']} incidents ({kinds(new['by_kind'])}), "
              f"{new['per_week']} a week; {result['added']} added, {result['removed']} dropped.")
    r = result["ratings"]
    out.print(f"Rated real incidents: useful kept {r['useful_kept']}, useful dropped {r['useful_dropped']}, "
              f"noise kept {r['noise_kept']}, noise dropped {r['noise_dropped']}.")
    changed = [i for i in result["incidents"] if i["in"] != "both"]
    if not changed:
        out.print("The two settings open the same incidents.")
        return
    table = Table(title=Text(f"What the settings change for {slug}"))
    for col in ("", "kind", "detected (UTC)", "customers", "people said", "evidence"):
        table.add_column(col, overflow="fold")
    for i in changed:
        a = i["actual"]
        said = "not opened live" if not a else f"{a['verdict'] or 'unrated'} (#{a['id']})"
        table.add_row("added" if i["in"] == "proposed_only" else "dropped", i["kind"], i["detected_at"][:16],
                      str(i["requester_count"]), said, Text(i["sentence"]))
    out.print(table)


from server.marketplace.cli import app_group  # noqa: E402  (the marketplace package commands)

main.add_command(app_group)

from server.zendesk.cli import zendesk_group  # noqa: E402  (connect tenants to Zendesk)

main.add_command(zendesk_group)


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


@main.command("accounts")
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
    cfg = _cfg()
    database = _db(cfg)
    _check_schema(database)
    with database.session() as session:
        tenant = _get_tenant(session, slug)
        tenant_id, tenant_name, tenant_settings = tenant.id, tenant.name, dict(tenant.settings or {})
        report = account_changes_out.dump(account_changes(session, tenant_id, now=datetime.now(timezone.utc),
                                                          days=days, weeks=weeks, fdr=fdr, min_ratio=min_ratio))
    if to_slack:
        _post_accounts_digest(cfg, report, tenant_name, tenant_settings)
    if csv_path:
        columns = ["account_id", "name", "source", "signal", "direction", "label", "observed", "expected", "ratio",
                   "p_value", "q_value", "requesters", "history", "sentence"]
        with open(csv_path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for a in report["accounts"]:
                writer.writerow([" ".join(map(str, a[c])) if c == "history" else
                                 ("" if a[c] is None else a[c]) for c in columns])
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = Console()
    tested = report["tested"]
    console.print(f"Last {days} day{'s' if days > 1 else ''} against {weeks} past windows; tested "
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


if __name__ == "__main__":
    main()
