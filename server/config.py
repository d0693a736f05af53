"""Configuration read from environment variables, with safe defaults.

Every setting has one name, one default and one line of documentation here; the README's
configuration table is written from this list. ``create_app(config)`` takes overrides as a
mapping, which is how tests and benchmarks configure the app without touching the environment.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def proxy_count(value: object) -> int:
    """``TRUSTED_PROXIES`` as given (an int, or a string as the environment spells it): a whole number, 0 or more.

    >>> proxy_count("2"), proxy_count(0)
    (2, 0)
    >>> proxy_count("-1")
    Traceback (most recent call last):
    ...
    ValueError: TRUSTED_PROXIES must be the number of proxies in front of the app (0 or more), not '-1'
    """
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ValueError(f"TRUSTED_PROXIES must be the number of proxies in front of the app (0 or more), "
                         f"not {value!r}")
    return int(text)


def flag(value: object) -> bool:
    """A boolean setting as given: a bool, or a string as the environment spells it ("0" is false).

    >>> flag(True), flag("0"), flag("yes"), flag(0)
    (True, False, True, False)
    """
    return value if isinstance(value, bool) else _bool(str(value))


SETTINGS: tuple[Setting, ...] = (
    Setting("INSTANCE_PATH", str(REPO_ROOT / "instance"), str,
            "Directory for the embedded database, the generated secret key and runtime files."),
    Setting("DATABASE_URL", "", str,
            "SQLAlchemy URL. Empty means a SQLite file `groundswell.db` under INSTANCE_PATH. "
            "PostgreSQL: `postgresql+psycopg://user@host/db`."),
    Setting("SECRET_KEY", "", str,
            "Key that encrypts webhook signing secrets at rest. Empty means a random key generated "
            "once into INSTANCE_PATH/secret_key. Set it explicitly when running more than one host."),
    Setting("SQLITE_SYNCHRONOUS", "FULL", str,
            "SQLite `synchronous` pragma (FULL survives power loss; NORMAL survives process crashes)."),
    Setting("MAX_BODY_BYTES", 256 * 1024, int, "Largest request body accepted; larger bodies get 413."),
    Setting("WIDGET_MAX_EVENTS", 100, int, "Most events accepted in one widget batch."),
    Setting("WIDGET_DIST_DIR", "", str,
            "Directory of the built widget served at /widget/v1/ (loader.js, core.js). Empty: dist/widget in the checkout."),
    Setting("RATE_LIMIT_WIDGET", "100/second;3000/minute", str,
            "Limit per widget site key, for requests from one of its allowed origins (Flask-Limiter syntax); "
            "floods get 429 with Retry-After. A request with an unknown or missing key or another origin "
            "counts against its caller's address instead."),
    Setting("RATE_LIMIT_WIDGET_PER_ADDRESS", "", str,
            "Limit per widget site key and caller address (an IPv6 caller by its /64), beside RATE_LIMIT_WIDGET, "
            "for the widget's requests (events, decide, known issues) from one of its allowed origins: the site "
            "key is public and only browsers are held to the origin allowlist, so without it one script could use "
            "up a site's whole limit and its visitors' requests would get 429. "
            "Empty: a fifth of RATE_LIMIT_WIDGET (20/second;600/minute with its default). A page sends a batch "
            "at most every 5 s, or half a second after friction, so the default fits about 50 busy pages "
            "behind one address (an office's NAT)."),
    Setting("RATE_LIMIT_WEBHOOK", "50/second;1500/minute", str,
            "Limit per tenant for incoming Zendesk deliveries that carry its valid signature (the others count "
            "against the caller's address), and per tenant and caller address for Slack button presses."),
    Setting("RATE_LIMIT_API", "20/second;600/minute", str,
            "Limit per API token for the read API; a missing, unknown or expired credential (API token or "
            "sidebar JWT) counts against the caller's address."),
    Setting("RATE_LIMIT_SIDEBAR", "50/second;6000/minute", str,
            "Limit per tenant for the Zendesk app's signed (JWT) requests, shared by all its agents: the "
            "token names the tenant, not the agent. Each open ticket's sidebar and each agent's nav bar "
            "refresh once a minute, so the default fits about 500 agents with several tickets open; raise "
            "it for larger teams. Apps using the API token count under RATE_LIMIT_API instead."),
    Setting("REDIS_URL", "", str,
            "Redis URL for shared rate-limit counters across workers and hosts. Empty: per-process memory."),
    Setting("TRUSTED_PROXIES", 0, proxy_count,
            "How many proxies (load balancer, reverse proxy) stand in front of the app, each appending to "
            "X-Forwarded-For and setting X-Forwarded-Proto. Above 0, the caller's address (what failed credentials "
            "are counted against) and scheme are read from those headers as the outermost of them saw it "
            "(werkzeug's ProxyFix); 0: the connecting peer, and the headers are ignored (the log warns once when "
            "requests carry X-Forwarded-For then: every caller counts as the proxy). Set it to the exact "
            "number: one more lets a client pick its own address."),
    Setting("WEBHOOK_TOLERANCE_SECONDS", 300, int,
            "How far a Zendesk signature timestamp may be from the server clock."),
    Setting("ALLOW_ZENDESK_TEST_SECRET", False, _bool,
            "Also accept Zendesk's documented static test-send secret. Development only."),
    Setting("LOG_LEVEL", "INFO", str, "Python log level."),
    Setting("LOG_FORMAT", "json", str, "`json` (one object per line) or `text`."),
    Setting("DETECTOR_BATCH_SIZE", 1000, int, "Events the detector reads per checkpointed batch."),
    Setting("DETECTOR_POLL_SECONDS", 0.5, float, "Detector sleep when the log has no new events."),
    Setting("DETECTOR_CHECKPOINT_SECONDS", 30.0, float,
            "Least time between detector checkpoints (outputs are written every batch; a restart replays "
            "what came after the last checkpoint)."),
    Setting("READY_MAX_DETECTOR_LAG_SECONDS", 0, int,
            "When above 0, /readyz answers 503 if the oldest unprocessed event is older than this."),
    Setting("ANTHROPIC_API_KEY", "", str,
            "Enables topic and incident summaries by Claude (redacted text only). Empty: extractive summaries "
            "only."),
    Setting("ANTHROPIC_BASE_URL", "", str, "Override the Claude API address (a proxy). Empty: the default."),
    Setting("SUMMARY_MODEL", "claude-haiku-4-5", str, "Claude model for topic and incident summaries."),
    Setting("SUMMARY_CALLS_PER_HOUR", 60, int, "Most Claude calls per hour per detector process (cost bound)."),
    Setting("PUBLIC_URL", "", str,
            "Address people open Groundswell at (https://groundswell.example.com); Slack messages link to "
            "`PUBLIC_URL/incidents#id=N`. Empty: no link."),
    Setting("SLACK_API_URL", "https://slack.com/api", str, "Base URL of Slack's Web API (a proxy or a test server)."),
    Setting("SLACK_WEBHOOK_HOSTS", "hooks.slack.com", str,
            "Comma-separated hosts a tenant's incoming-webhook URL may point at (`*`: any; not recommended)."),
    Setting("NOTIFY_POLL_SECONDS", 5.0, float, "How often the detector's notifier looks for messages to send."),
    Setting("NOTIFY_MAX_ATTEMPTS", 8, int, "Attempts per Slack message before it is given up (recorded in the outbox)."),
    Setting("NOTIFY_RETRY_SECONDS", 30.0, float,
            "Wait before the first retry of a failed Slack message; doubles per attempt up to an hour."),
    Setting("WEBHOOK_REQUIRE_HTTPS", True, _bool,
            "Incident webhook URLs must use https (turn off only for a receiver on a trusted network)."),
    Setting("WEBHOOK_ALLOW_PRIVATE", False, _bool,
            "Let incident webhooks reach private, loopback and link-local addresses (off: public addresses only)."),
    Setting("WEBHOOK_TIMEOUT_SECONDS", 10.0, float, "Timeout of one incident webhook delivery."),
    Setting("PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue", str,
            "PagerDuty's Events API v2 address (https://events.eu.pagerduty.com/v2/enqueue for an EU account)."),
    Setting("ACCOUNTS_REPORT_SECONDS", 300.0, float,
            "How often the detector stores each tenant's day and week accounts reports for the sidebar's note."),
    Setting("ACCOUNTS_DIGEST_POLL_SECONDS", 300.0, float,
            "How often the detector looks for tenants whose weekly accounts digest is due (docs/accounts.md)."),
    Setting("ZENDESK_MARKETPLACE_NAME", "", str,
            "Marketplace app name sent as X-Zendesk-Marketplace-Name on every server-side Zendesk call."),
    Setting("ZENDESK_MARKETPLACE_ORGANIZATION_ID", "", str,
            "Marketplace organization id (X-Zendesk-Marketplace-Organization-Id)."),
    Setting("ZENDESK_MARKETPLACE_APP_ID", "", str, "Marketplace app id (X-Zendesk-Marketplace-App-Id)."),
    Setting("ZENDESK_TIMEOUT_SECONDS", 10.0, float, "Timeout of one Zendesk API call made by the server."),
    Setting("ZENDESK_POLL_SECONDS", 5.0, float,
            "How often the detector's Zendesk worker links tickets and looks for solved problem tickets."),
    Setting("SIDEBAR_JWT_AUDIENCE", "groundswell", str,
            "The `aud` claim a sidebar JWT (signed by the Zendesk proxy with the tenant's shared secret) must carry."),
    Setting("HOST", "127.0.0.1", str, "Address `groundswell serve` binds."),
    Setting("PORT", 8000, int, "Port `groundswell serve` binds."),
    Setting("WEB_WORKERS", 2, int, "gunicorn worker processes started by `groundswell serve`."),
    Setting("WEB_THREADS", 4, int, "Threads per gunicorn worker."),
    Setting("DEMO_PAGES", False, _bool,
            "Serve the demo pages: the fake Zendesk agent page hosting the built sidebar app (/demo/zendesk) and the "
            "Acme Billing sample product with the widget (/demo/acme/). Demo and tests only."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the configuration: defaults, then environment variables, then ``overrides``.

    Examples
    --------
    >>> cfg = load({"PORT": 9000}, environ={"LOG_LEVEL": "DEBUG"})
    >>> cfg["PORT"], cfg["LOG_LEVEL"], cfg["MAX_BODY_BYTES"]
    (9000, 'DEBUG', 262144)
    >>> cfg["DATABASE_URL"].startswith("sqlite:///") and cfg["DATABASE_URL"].endswith("groundswell.db")
    True
    """
    environ = os.environ if environ is None else environ
    cfg: dict[str, Any] = {}
    for s in SETTINGS:
        raw = environ.get(s.name)
        cfg[s.name] = s.parse(raw) if raw not in (None, "") else s.default
    for key, value in (overrides or {}).items():
        cfg[key] = value
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = "sqlite:///" + str(Path(cfg["INSTANCE_PATH"]) / "groundswell.db")
    return cfg


def secret_key(cfg: Mapping[str, Any]) -> str:
    """The configured secret key, or one generated once and kept in the instance directory."""
    if cfg.get("SECRET_KEY"):
        return str(cfg["SECRET_KEY"])
    path = Path(cfg["INSTANCE_PATH"]) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    

def documented() -> list[Setting]:
    return list(SETTINGS)
