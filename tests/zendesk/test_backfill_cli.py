from __future__ import annotations

from click.testing import CliRunner

from server.cli import main
from tests.conftest import TEST_SECRET_KEY, log_rows
from server.zendesk.fake import make_tickets


def env(database_url, tmp_path, **extra):  # type: ignore[no-untyped-def]
    return {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET_KEY,
            "LOG_FORMAT": "text", "ZENDESK_EMAIL": None, "ZENDESK_API_TOKEN": None, "ZENDESK_OAUTH_TOKEN": None,
            **extra}


def run(args, environment):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["backfill", *args], env=environment)


def test_backfill_command_imports_tickets_and_resumes(db, database_url, tmp_path, tenant, fake_zendesk):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(5)
    e = env(database_url, tmp_path, ZENDESK_EMAIL=fake_zendesk.email, ZENDESK_API_TOKEN=fake_zendesk.token)

    out = run(["--tenant", t.slug, "--since", "2025-12-01", "--no-progress"], e)

    assert out.exit_code == 0, out.output
    assert "1 pages, 5 tickets fetched, 5 new events" in out.output and "up to date" in out.output
    assert len(log_rows(db, t.id)) == 5
    assert fake_zendesk.export_requests[0].args["start_time"] == "1764547200"

    again = run(["--tenant", t.slug, "--since", "2025-12-01", "--no-progress"], e)
    assert again.exit_code == 0 and "(resumed)" in again.output and "0 new events" in again.output
    restarted = run(["--tenant", t.slug, "--since", "400d", "--restart", "--no-progress"], e)
    assert restarted.exit_code == 0 and "5 already in the log" in restarted.output


def test_credentials_as_options(db, database_url, tmp_path, tenant, fake_zendesk):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(1)
    out = run(["--tenant", t.slug, "--email", fake_zendesk.email, "--token", fake_zendesk.token, "--no-progress"],
              env(database_url, tmp_path))
    assert out.exit_code == 0, out.output


def test_a_401_says_check_the_api_token(db, database_url, tmp_path, tenant, fake_zendesk):
    t, _ = tenant
    out = run(["--tenant", t.slug, "--email", fake_zendesk.email, "--token", "wrong", "--no-progress"],
              env(database_url, tmp_path))
    assert out.exit_code == 1 and "check the API token" in out.output and "acme.zendesk.com" in out.output
    assert "Traceback" not in out.output


def test_a_tenant_without_subdomain_is_a_clear_error(db, database_url, tmp_path):
    from server.tenants import create_tenant

    with db.session() as s:
        create_tenant(s, "No Zendesk", secret_key=TEST_SECRET_KEY)
        s.commit()
    out = run(["--tenant", "no-zendesk", "--oauth-token", "x"], env(database_url, tmp_path))
    assert out.exit_code == 1 and "has no Zendesk subdomain" in out.output


def test_unknown_tenant_missing_credentials_and_bad_since(db, database_url, tmp_path, tenant):
    e = env(database_url, tmp_path)
    assert "no tenant 'nope'" in run(["--tenant", "nope", "--oauth-token", "x"], e).output
    missing = run(["--tenant", "acme"], e)
    assert missing.exit_code == 2 and "credentials needed" in missing.output
    both = run(["--tenant", "acme", "--email", "a@b.c", "--token", "t", "--oauth-token", "o"], e)
    assert both.exit_code == 2 and "not both" in both.output
    bad = run(["--tenant", "acme", "--oauth-token", "x", "--since", "last tuesday"], e)
    assert bad.exit_code == 2 and "90d" in bad.output


def test_an_unmigrated_database_is_refused(tmp_path):
    out = run(["--tenant", "acme", "--oauth-token", "x"], env("sqlite:///" + str(tmp_path / "empty.db"), tmp_path))
    assert out.exit_code == 1 and "groundswell db upgrade" in out.output
