"""A tenant's Slack settings, stored in ``tenants.settings["notify"]["slack"]``.

Stored shape (secrets Fernet-encrypted under a key derived from ``SECRET_KEY``, with a context label
of their own so they never share a key with the webhook signing secrets)::

    {"mode": "off" | "webhook" | "web_api", "channel": "#incidents" | None,
     "webhook_url_enc": "<fernet token>" | None, "bot_token_enc": "<fernet token>" | None,
     "signing_secret_enc": "<fernet token>" | None}

The signing secret is the Slack app's: with it, incident messages carry Acknowledge, Useful and Noise
buttons, and Slack's requests when people press them are verified with it (server/notify/interactions.py).

Nothing here imports Flask; the API (server/notify/service.py) and the notifier both use it.

Examples
--------
>>> stored = store({}, {"mode": "webhook", "webhook_url": "https://hooks.slack.com/services/T/B/x"}, secret_key="k")
>>> public_view(stored)
{'mode': 'webhook', 'channel': None, 'webhook_url_set': True, 'bot_token_set': False, 'signing_secret_set': False}
>>> load_target(stored, secret_key="k").webhook_url
'https://hooks.slack.com/services/T/B/x'
"""

from __future__ import annotations

from typing import Any, Mapping

from cryptography.fernet import Fernet, InvalidToken

from server.crypto import labelled_fernet
from server.notify.client import SlackTarget

MODES = ("off", "webhook", "web_api")
SECRETS = ("webhook_url", "bot_token", "signing_secret")


class SettingsError(ValueError):
    """The stored secrets cannot be read (SECRET_KEY changed since they were saved)."""


def _fernet(secret_key: str) -> Fernet:
    return labelled_fernet(secret_key, "groundswell/notify-slack/v1")


def slack_settings(tenant_settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored Slack block (empty when never configured)."""
    notify = (tenant_settings or {}).get("notify")
    slack = notify.get("slack") if isinstance(notify, dict) else None
    return dict(slack) if isinstance(slack, dict) else {}


def public_view(slack: Mapping[str, Any]) -> dict[str, Any]:
    """What the API may show: the mode, the channel and whether each secret is set, never a secret."""
    return {"mode": slack.get("mode") or "off", "channel": slack.get("channel"),
            "webhook_url_set": bool(slack.get("webhook_url_enc")), "bot_token_set": bool(slack.get("bot_token_enc")),
            "signing_secret_set": bool(slack.get("signing_secret_enc"))}


def store(slack: Mapping[str, Any], changes: Mapping[str, Any], *, secret_key: str) -> dict[str, Any]:
    """The new Slack block: ``mode`` and ``channel`` as given, each secret set (a value), cleared
    (None) or kept (absent from ``changes``)."""
    out = dict(slack)
    out["mode"] = changes.get("mode", out.get("mode") or "off")
    if "channel" in changes:
        out["channel"] = changes["channel"]
    out.setdefault("channel", None)
    for name in SECRETS:
        if name in changes:
            value = changes[name]
            out[f"{name}_enc"] = _fernet(secret_key).encrypt(value.encode()).decode() if value else None
    return out


def _decrypt(token: str | None, secret_key: str) -> str | None:
    if not token:
        return None
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SettingsError("cannot decrypt the stored Slack credentials: SECRET_KEY differs from the one "
                            "they were saved with; save them again") from None


def load_target(slack: Mapping[str, Any], *, secret_key: str) -> SlackTarget | None:
    """The decrypted target, or None when Slack is off or incompletely configured."""
    mode = slack.get("mode")
    buttons = bool(slack.get("signing_secret_enc"))
    if mode == "webhook" and slack.get("webhook_url_enc"):
        return SlackTarget("webhook", webhook_url=_decrypt(slack["webhook_url_enc"], secret_key), buttons=buttons)
    if mode == "web_api" and slack.get("bot_token_enc") and slack.get("channel"):
        return SlackTarget("web_api", bot_token=_decrypt(slack["bot_token_enc"], secret_key), channel=slack["channel"],
                           buttons=buttons)
    return None


def signing_secret(slack: Mapping[str, Any], *, secret_key: str) -> str | None:
    """The Slack app's signing secret, decrypted, or None when none is stored."""
    return _decrypt(slack.get("signing_secret_enc"), secret_key)


def digest_settings(tenant_settings: Mapping[str, Any] | None) -> dict[str, int] | None:
    """The weekly accounts digest's schedule, ``{"weekday": 0-6 (Monday 0), "hour": 0-23}`` in UTC, or None
    when it is off (``tenants.settings["notify"]["accounts_digest"]``).

    >>> digest_settings({"notify": {"accounts_digest": {"weekday": 0, "hour": 9}}}), digest_settings({})
    ({'weekday': 0, 'hour': 9}, None)
    """
    notify = (tenant_settings or {}).get("notify")
    digest = notify.get("accounts_digest") if isinstance(notify, dict) else None
    if not isinstance(digest, dict) or not isinstance(digest.get("weekday"), int):
        return None
    hour = digest.get("hour")
    return {"weekday": digest["weekday"] % 7, "hour": hour % 24 if isinstance(hour, int) else 9}


def missing(slack: Mapping[str, Any]) -> dict[str, list[str]]:
    """Fields the chosen mode needs but the stored block lacks (empty when complete)."""
    mode = slack.get("mode")
    needs = {"webhook": ("webhook_url",), "web_api": ("bot_token", "channel")}.get(str(mode), ())
    have = {"webhook_url": slack.get("webhook_url_enc"), "bot_token": slack.get("bot_token_enc"),
            "channel": slack.get("channel")}
    return {name: [f"required when mode is {mode!r}"] for name in needs if not have[name]}
