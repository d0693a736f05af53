"""`groundswell accounts --slack`: the accounts report posted to the tenant's Slack, against the fake Slack."""

from __future__ import annotations

from datetime import datetime, timezone

from click.testing import CliRunner

from server.cli import main
from server.notify.slack import MAX_DIGEST_ACCOUNTS, accounts_blocks
from server.zendesk.sample import write_account_history
from tests.conftest import TEST_SECRET_KEY
from tests.notify.conftest import configure


def env(database_url: str, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET_KEY,
            "LOG_FORMAT": "text", "SLACK_WEBHOOK_HOSTS": "127.0.0.1,localhost", "PUBLIC_URL": "https://gs.example.com",
            "COLUMNS": "200"}


def test_the_digest_reaches_slack_with_each_flagged_account_escaped(db, database_url, tenant, slack, tmp_path):
    t, _creds = tenant
    write_account_history(db, t.id, datetime.now(timezone.utc), surge_org="<!channel>")
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    result = CliRunner().invoke(main, ["accounts", "--tenant", t.slug, "--days", "1", "--slack"],
                                env=env(database_url, tmp_path))
    assert result.exit_code == 0, result.output
    assert "posted to Slack (webhook)" in result.output
    [message] = slack.webhook_calls
    assert message["text"].startswith("Accounts that changed, last day: 1 account for ")
    assert message["blocks"][0]["text"]["text"] == "Accounts that changed, last day"
    line = message["blocks"][1]["text"]
    assert line["verbatim"] is True and "`&lt;!channel&gt;`" in line["text"] and "<!channel>" not in line["text"]
    assert line["text"].startswith("*More tickets than usual* · Organization ")
    assert "https://gs.example.com/incidents" in message["blocks"][-1]["elements"][0]["text"]


def test_without_slack_settings_or_when_slack_refuses_the_command_fails_clearly(db, database_url, tenant, slack,
                                                                                tmp_path):
    t, _creds = tenant
    write_account_history(db, t.id, datetime.now(timezone.utc), surge_org="9003")
    e = env(database_url, tmp_path)
    unconfigured = CliRunner().invoke(main, ["accounts", "--tenant", t.slug, "--slack"], env=e)
    assert unconfigured.exit_code == 1 and "Slack notifications are not configured" in unconfigured.output
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    slack.fail("webhook", 404, "no_service")
    refused = CliRunner().invoke(main, ["accounts", "--tenant", t.slug, "--slack"], env=e)
    assert refused.exit_code == 1 and "Slack refused the digest: no_service (HTTP 404)" in refused.output
    assert slack.webhook_calls == []


def test_a_quiet_report_and_a_long_one():
    quiet = accounts_blocks({"days": 7, "accounts": [], "tested": {"tickets": 12, "users": 3}, "fdr": 0.05}, "Acme", None)
    assert quiet["text"] == "Accounts that changed, last 7 days: none for Acme"
    assert "No account changed" in quiet["blocks"][1]["text"]["text"]
    assert "Tested 12 organizations and 3 product accounts" in quiet["blocks"][-1]["elements"][0]["text"]
    flag = {"account_id": "a", "source": "account", "signal": "users", "direction": "down",
            "label": "Churn risk: fewer active users", "observed": 1, "expected": 10.0, "ratio": 0.1, "history": [9, 11]}
    many = accounts_blocks({"days": 28, "accounts": [flag] * 30, "tested": {}, "fdr": 0.05}, "Acme", None)
    sections = [b for b in many["blocks"] if b["type"] == "section"]
    assert len(sections) == MAX_DIGEST_ACCOUNTS and "(-90%) · past: 9, 11" in sections[0]["text"]["text"]
    assert many["blocks"][-2]["elements"][0]["text"] == "and 10 more"


def test_an_organizations_name_is_shown_escaped():
    flag = {"account_id": "900002", "name": "Kestrel <!here> & Co", "source": "organization", "signal": "tickets",
            "direction": "up", "label": "More tickets than usual", "observed": 53, "expected": 20.2, "ratio": 2.62,
            "history": [19, 21]}
    msg = accounts_blocks({"days": 1, "accounts": [flag], "tested": {"tickets": 40}, "fdr": 0.05}, "Acme", None)
    line = msg["blocks"][1]["text"]["text"]
    assert line.startswith("*More tickets than usual* · Organization Kestrel &lt;!here&gt; &amp; Co `900002`: 53 now")
