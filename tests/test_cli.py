from __future__ import annotations

import json

from click.testing import CliRunner

from server.cli import main
from server.tenants import authenticate_token, find_by_slug


def run(args, env):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def cli_env(database_url: str, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "cli-key", "LOG_FORMAT": "text"}


def test_tenant_create_prints_working_credentials_once(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    result = run(["tenant", "create", "Acme Support", "--zendesk-subdomain", "acme", "--origin",
                  "https://app.acme.com", "--json"], env)
    assert result.exit_code == 0, result.output
    creds = json.loads(result.stdout)
    assert creds["tenant"] == "acme-support" and creds["webhook_url"] == "/webhooks/zendesk/acme-support"
    with db.session() as s:
        assert authenticate_token(s, creds["api_token"]).slug == "acme-support"
        assert find_by_slug(s, "acme-support").allowed_origins == ["https://app.acme.com"]
    listing = run(["tenant", "list"], env).output
    assert "acme-support" in listing and creds["api_token"] not in listing and creds["webhook_secret"] not in listing


def test_duplicate_tenant_is_a_clear_error(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    assert run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme"], env).exit_code == 0
    again = run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme-eu"], env)
    assert again.exit_code == 1 and "already exists" in again.output
    same_account = run(["tenant", "create", "Acme Billing", "--zendesk-subdomain", "acme"], env)
    assert same_account.exit_code == 1
    assert same_account.output.strip() == ("Error: tenant 'acme' already has the Zendesk subdomain 'acme': one tenant "
                                           "per Zendesk account (`groundswell tenant list` shows them)")
    assert [line.split()[0] for line in run(["tenant", "list"], env).output.splitlines()] == ["slug", "acme"]


def test_tenant_list_has_a_header_row_over_aligned_columns(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    assert run(["tenant", "list"], env).output.strip() == \
        "no tenants yet: groundswell tenant create NAME --zendesk-subdomain SUB"
    assert run(["tenant", "create", "Acme Support Worldwide", "--zendesk-subdomain", "acme", "--origin",
                "https://app.acme.com"], env).exit_code == 0
    assert run(["tenant", "create", "Bo", "--zendesk-subdomain", "bo"], env).exit_code == 0
    header, *rows = run(["tenant", "list"], env).output.splitlines()
    assert header.split() == ["slug", "name", "zendesk", "site", "key", "origins"]
    assert [r.split()[0] for r in rows] == ["acme-support-worldwide", "bo"]
    assert rows[0].endswith("https://app.acme.com") and rows[1].endswith("-")
    for column in ("name", "zendesk", "site key", "origins"):  # each heading stands over its column's values
        at = header.index(column)
        assert all(r[at - 2:at] == "  " and r[at] != " " for r in rows), (column, header, rows)


def test_the_webhook_url_is_whole_when_the_public_url_is_known(db, database_url, tmp_path):
    env = {**cli_env(database_url, tmp_path), "PUBLIC_URL": "https://gs.example.com/"}
    creds = json.loads(run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme", "--json"], env).stdout)
    assert creds["webhook_url"] == "https://gs.example.com/webhooks/zendesk/acme"


def test_removing_an_origin_that_is_not_allowed_says_so(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    assert run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme", "--origin", "https://a.example.com"],
               env).exit_code == 0
    out = run(["tenant", "origins", "acme", "--remove", "https://b.example.com"], env)
    assert out.exit_code == 0 and out.stdout.strip() == "https://a.example.com"
    assert out.stderr.strip() == "https://b.example.com was not allowed; nothing to remove"


def test_dead_letters_limit_must_be_positive(db, database_url, tmp_path):
    out = CliRunner().invoke(main, ["dead-letters", "--limit", "-5"], env=cli_env(database_url, tmp_path))
    assert out.exit_code == 2 and "--limit" in out.output


def test_accounts_csv_that_cannot_be_written_is_one_line(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    assert run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme"], env).exit_code == 0
    out = run(["accounts", "--tenant", "acme", "--csv", str(tmp_path / "missing" / "x.csv")], env)
    assert out.exit_code == 1
    assert out.output.strip() == f"Error: cannot write {tmp_path / 'missing' / 'x.csv'}: No such file or directory"


def test_backtest_holds_set_to_the_settings_api_ranges_and_says_when_there_is_nothing(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    assert run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme"], env).exit_code == 0
    for pair, said in (("sensitivity.spike=1e9", "sensitivity.spike: Must be greater than or equal to 0.0 and less "
                                                 "than or equal to 100.0."),
                       ("friction.min_sessions=0", "friction.min_sessions: Must be greater than or equal to 1"),
                       ("colour=red", "friction.<weekly_false_alarms|min_sessions|warmup_hours>"),
                       ("resolve_after_minutes=inf", "not a number")):
        out = CliRunner().invoke(main, ["backtest", "--tenant", "acme", "--no-progress", "--set", pair], env=env)
        assert out.exit_code == 2 and said in out.output, out.output
    from server.incidents.backtest import parse_overrides

    assert parse_overrides(["plan_sensitivity. enterprise =2"]) == {"plan_sensitivity": {"enterprise": 2.0}}
    empty = run(["backtest", "--tenant", "acme", "--no-progress", "--set", "resolve_after_minutes=60"], env)
    assert empty.exit_code == 0
    assert empty.output.strip() == "Nothing stored for acme yet: no tickets or in-app events to replay."


def test_rotate_and_origins(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    old = json.loads(run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme", "--json"], env).stdout)
    new = json.loads(run(["tenant", "rotate", "acme", "--api-token", "--json"], env).stdout)
    assert set(new) == {"tenant", "api_token"}
    with db.session() as s:
        assert authenticate_token(s, old["api_token"]) is None
        assert authenticate_token(s, new["api_token"]) is not None
    out = run(["tenant", "origins", "acme", "--add", "https://A.example.com", "--add", "http://localhost:3000"], env)
    assert out.output.split() == ["http://localhost:3000", "https://a.example.com"]
    bad = run(["tenant", "origins", "acme", "--add", "not an origin"], env)
    assert bad.exit_code == 1 and "not an origin" in bad.output


def test_db_current_and_detector_once(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    current = run(["db", "current"], env).output
    lines = dict(line.split(":", 1) for line in current.strip().splitlines())
    assert lines["current"].strip() == lines["latest"].strip() != "none"
    out = run(["detector", "--once"], env).output
    assert "processed 0 events" in out


def test_commands_refuse_an_unmigrated_database(tmp_path):
    env = cli_env("sqlite:///" + str(tmp_path / "empty.db"), tmp_path)
    result = CliRunner().invoke(main, ["detector", "--once"], env=env)
    assert result.exit_code == 1 and "groundswell db upgrade" in result.output


def _comparison(since: str, data_since: str | None, until: str, weeks: float) -> dict:
    return {"since": since, "until": until, "data_since": data_since, "weeks": round(weeks, 2), "events": 40,
            "tickets": 12, "current": {"count": 3, "by_kind": {"spike": 3}, "per_week": round(3 / weeks, 2)},
            "proposed": {"count": 4, "by_kind": {"spike": 4}, "per_week": round(4 / weeks, 2)}, "added": 1,
            "removed": 0, "ratings": {"useful_kept": 0, "useful_dropped": 0, "noise_kept": 0, "noise_dropped": 0},
            "weekly": [], "incidents": [], "incidents_total": 0}


def test_backtest_compare_gives_no_rate_a_week_under_a_week_of_data_as_the_plain_backtest(capsys):
    from server.incidents.cli import _print_comparison

    weeks = 2 / 7  # two days of data in a 30-day period
    _print_comparison(_comparison("2026-11-05T10:00:00+00:00", "2026-12-03T10:00:00+00:00",
                                  "2026-12-05T10:00:00+00:00", weeks), "acme", "sensitivity.spike=2")
    said = " ".join(capsys.readouterr().out.split())  # as read, whatever the terminal's width
    assert said.startswith("Since 2026-11-05 10:00 UTC (data only from 2026-12-03 10:00 UTC), 12 tickets (40 events) "
                           "replayed: over 2.0 days of data, too few for a rate a week. "
                           "Stored settings: 3 incidents (spike 3). "
                           "With sensitivity.spike=2: 4 incidents (spike 4); 1 added, 0 dropped. Rated real"), said
    weeks = 3.0
    _print_comparison(_comparison("2026-11-14T10:00:00+00:00", None, "2026-12-05T10:00:00+00:00", weeks), "acme",
                      "")
    said = " ".join(capsys.readouterr().out.split())
    assert said.startswith("Since 2026-11-14 10:00 UTC, 12 tickets (40 events) replayed. Stored settings: 3 incidents "
                           "(spike 3), 1.0 a week. With no change: 4 incidents (spike 4), 1.33 a week; 1 added, "
                           "0 dropped."), said


def test_tenant_errors_say_how_to_fix_the_input(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    assert run(["tenant", "create", "Test Co", "--zendesk-subdomain", "testco"], env).exit_code == 0
    taken = run(["tenant", "create", "Test Co", "--zendesk-subdomain", "testco2"], env)
    assert taken.exit_code == 1 and taken.output.strip() == (
        "Error: a tenant with slug 'test-co' already exists: choose another with --slug "
        "(`groundswell tenant list` shows the slugs taken)")
    assert run(["tenant", "create", "Test Co", "--zendesk-subdomain", "testco2", "--slug", "test-co-2"],
               env).exit_code == 0
    url = run(["tenant", "create", "Bad", "--zendesk-subdomain", "https://bad.zendesk.com"], env)
    assert url.exit_code == 1 and url.output.strip() == (
        "Error: invalid Zendesk subdomain 'https://bad.zendesk.com': give just the subdomain, 'bad'")
    host = run(["tenant", "create", "Bad", "--zendesk-subdomain", "bad.zendesk.com"], env)
    assert host.output.strip().endswith("give just the subdomain, 'bad'")
    other = run(["tenant", "create", "Bad", "--zendesk-subdomain", "Bad Co"], env)
    assert other.exit_code == 1 and other.output.strip().endswith(
        "give the part before .zendesk.com, in lower case (acme for acme.zendesk.com)")
    for args in (["tenant", "delete", "nosuch", "--yes"], ["tenant", "rotate", "nosuch", "--site-key"],
                 ["tenant", "origins", "nosuch"]):
        missing = run(args, env)
        assert missing.exit_code == 1 and missing.output.strip() == (
            "Error: no tenant 'nosuch': `groundswell tenant list` shows the tenants"), args
