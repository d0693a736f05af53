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
    again = run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme"], env)
    assert again.exit_code == 1 and "already exists" in again.output


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
