"""``groundswell backtest``: replay a tenant's stored events through the detectors with what-if settings."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from server import config as config_mod
from server.cli_base import check_schema, get_tenant, load_config, open_database


def within_api_ranges(overrides: dict[str, Any]) -> None:
    """Hold ``--set`` values to what the settings API and the incidents page accept (a backtest of a setting
    nobody can save answers nothing); ValueError naming the setting and its range otherwise."""
    from marshmallow import ValidationError

    from server.incidents.backtest import split_overrides
    from server.incidents.schemas import BacktestInSchema

    detection, friction = split_overrides(overrides)
    whole = {k: int(v) if k in ("resolve_after_minutes", "min_requesters") and v == int(v) else v
             for k, v in detection.items()}
    try:
        BacktestInSchema().load({"settings": whole, **({"friction": friction} if friction else {})})
    except ValidationError as e:
        def flat(messages: Any, prefix: str = "") -> list[str]:
            if isinstance(messages, dict):
                return [m for k, v in messages.items()
                        for m in flat(v, f"{prefix}.{k}" if prefix and prefix != "settings" else str(k))]
            return [f"{prefix}: {' '.join(map(str, messages))}"]
        raise ValueError("; ".join(flat(e.messages))) from None


@click.command("backtest")
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
        within_api_ranges(overrides)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--set") from None
    cfg = load_config()
    database = open_database(cfg)
    check_schema(database)
    log_ = SqlEventLog()
    with database.session() as session:
        t = get_tenant(session, slug)
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
    if not report.events:
        out.print(f"Nothing stored for {slug} yet: no tickets or in-app events to replay.", markup=False)
        return
    table = Table(title=f"What would have fired for {slug} since {start:%Y-%m-%d %H:%M} UTC")
    for col in ("id", "kind", "detected (UTC)", "tickets", "customers", "p-value", "evidence"):
        table.add_column(col, overflow="fold")
    for inc in report.incidents:
        friction = inc["kind"] == "friction"  # in-app: the page's sessions, no tickets
        table.add_row(str(inc["id"]), inc["kind"], f"{inc['detected_at']:%Y-%m-%d %H:%M}",
                      "–" if friction else str(inc["ticket_count"]),
                      f"{inc['evidence'].get('sessions', 0)} sessions" if friction else str(inc["requester_count"]),
                      f"{inc['p_value']:.1e}", Text(inc["sentence"]))  # ticket words: text, never markup
    if report.incidents:
        out.print(table)
    else:
        out.print(f"Nothing would have fired for {slug} since {start:%Y-%m-%d %H:%M} UTC.", markup=False)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind().items())) or "none"
    weeks = report.weeks_until(now)
    rate = ("0 a week" if not report.incidents else f"{len(report.incidents) / weeks:.1f} a week" if weeks >= 1
            else _too_short(weeks))
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


def _too_short(weeks: float) -> str:
    """What is said in place of a rate a week over less than a week of data: a day's rate times 7 misleads."""
    return f"over {weeks * 7:.1f} days of data, too few for a rate a week"


def _print_comparison(result: dict[str, Any], slug: str, what_if: str) -> None:
    """Under a week of data, no rate a week, as the plain backtest."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from server.incidents.backtest import BacktestReport

    out = Console(markup=False, highlight=False)
    cur, new = result["current"], result["proposed"]

    def kinds(by_kind: dict[str, int]) -> str:
        return ", ".join(f"{k} {n}" for k, n in by_kind.items()) or "none"

    data_since = result.get("data_since")
    since = datetime.fromisoformat(result["since"])
    only = _data_only_from(since, datetime.fromisoformat(data_since) if data_since else None)
    # what the rates a week are counted over, unrounded (BacktestReport.weeks_until)
    weeks = BacktestReport(since, 0, 0, data_from=datetime.fromisoformat(data_since) if data_since else None) \
        .weeks_until(datetime.fromisoformat(result["until"]))
    short = weeks < 1
    out.print(f"Since {result['since'][:16].replace('T', ' ')} UTC{only}, {result['tickets']} tickets "
              f"({result['events']} events) replayed{': ' + _too_short(weeks) if short else ''}.")
    out.print(f"Stored settings: {cur['count']} incidents ({kinds(cur['by_kind'])})"
              f"{'' if short else ', ' + str(cur['per_week']) + ' a week'}.")
    out.print(f"With {what_if or 'no change'}: {new['count']} incidents ({kinds(new['by_kind'])})"
              f"{'' if short else ', ' + str(new['per_week']) + ' a week'}; "
              f"{result['added']} added, {result['removed']} dropped.")
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

