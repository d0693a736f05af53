"""``groundswell dead-letters``: list the events the detector skipped, and have it process them again."""

from __future__ import annotations

import json
from typing import Any

import click

from server.cli_base import check_schema, load_config, open_database


@click.group("dead-letters", invoke_without_command=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Newest first, at most this many.")
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

    database = open_database(load_config())
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
    database = open_database(load_config())
    check_schema(database)

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

