"""Slack over HTTP: incoming webhooks and the Web API's ``chat.postMessage`` / ``chat.update``.

Written on ``requests`` rather than ``slack_sdk``: three calls, and we need control that the SDK's
retry handlers would take away (the outbox owns retries and honours ``Retry-After`` per row and
tenant), plus a guarantee that no URL, token or raw response reaches a log line or an error text.

Wire formats, as Slack answers them:

- incoming webhook: ``POST <url>`` with a JSON message; ``200 ok`` on success, otherwise a status and
  a short plain-text code: ``400 invalid_payload``, ``403 invalid_token`` / ``action_prohibited``,
  ``404 no_service``, ``410 channel_is_archived``, ``429`` with ``Retry-After``, 5xx.
- Web API: ``POST {SLACK_API_URL}/chat.postMessage`` with ``Authorization: Bearer <bot token>`` and a
  JSON body; HTTP 200 with ``{"ok": true, "channel": "C…", "ts": "…"}`` or ``{"ok": false,
  "error": "channel_not_found"}``; rate limits are HTTP 429 with ``Retry-After``.

Errors become :class:`SlackError` with a sanitised ``code`` (a Slack error word or ``http_<status>``).
A webhook URL carries its secret in the path, so the URL is never part of any message; a filter on
urllib3's logger masks webhook paths should debug logging be switched on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api"
TIMEOUT = 10.0
DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 3600.0
#: Answers that no retry can fix: the message itself is wrong.
PAYLOAD_ERRORS = frozenset({
    "invalid_payload", "invalid_blocks", "invalid_blocks_format", "invalid_attachments", "msg_too_long",
    "no_text", "too_many_attachments", "invalid_arguments", "invalid_json", "json_not_object",
    "invalid_array_arg", "invalid_arg_name", "invalid_form_data", "invalid_charset", "invalid_post_type",
})
_CODE_RE = re.compile(r"^[a-z0-9_]{1,64}$")
_MASK_RE = re.compile(r"/services/[^\s\"']+")
#: Paths shown in full (query strings still masked): API calls whose paths carry no secret.
_PLAIN_PATH_RE = re.compile(r"^/(api|v1|v2)/")


def mask_path(path: str) -> str:
    """A request path as urllib3's debug log may show it: the query string masked, and past the first
    segment masked too unless it is an API path (webhook URLs carry their secret in the path).

    >>> mask_path("/api/v2/tickets.json?page=2"), mask_path("/services/T0/B0/secret")
    ('/api/v2/tickets.json?***', '/services/***')
    >>> mask_path("/hooks/catch/123/abc?token=x")
    '/hooks/***?***'
    """
    path, query, _ = path.partition("?")
    if not _PLAIN_PATH_RE.match(path):
        first = path[1:].split("/", 1)[0]
        path = f"/{first}/***" if "/" in path[1:] else path
    return path + ("?***" if query else "")


class _MaskWebhookPaths(logging.Filter):
    """urllib3 logs request paths at DEBUG; a webhook's path or query string may be its secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(mask_path(a) if isinstance(a, str) and a.startswith("/") else
                                _MASK_RE.sub("/services/***", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and "/services/" in record.msg:
            record.msg = _MASK_RE.sub("/services/***", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_MaskWebhookPaths())


@dataclass(frozen=True)
class SlackTarget:
    """Where a tenant's notifications go; the secrets stay out of ``repr``.

    Examples
    --------
    >>> SlackTarget("webhook", webhook_url="https://hooks.slack.com/services/T/B/secret")
    SlackTarget(mode='webhook', channel=None)
    """

    mode: str  # "webhook" or "web_api"
    webhook_url: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    channel: str | None = None
    #: A signing secret is stored: messages carry Acknowledge / Useful / Noise buttons.
    buttons: bool = field(default=False, repr=False)


class SlackError(Exception):
    """Slack refused or could not be reached. ``str()`` is safe to store and log."""

    def __init__(self, code: str, *, status: int | None = None, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(f"{code} (HTTP {status})" if status and status != 200 else code)


def sanitise_code(text: str, status: int) -> str:
    """Slack's error word when the body is one, else ``http_<status>`` (never echo arbitrary bodies).

    Examples
    --------
    >>> sanitise_code("channel_is_archived", 410), sanitise_code("<html>oops</html>", 502)
    ('channel_is_archived', 'http_502')
    """
    word = text.strip()
    return word if _CODE_RE.fullmatch(word) else f"http_{status}"


def retry_after(headers: Any) -> float:
    """Seconds from a ``Retry-After`` header (Slack sends whole seconds), bounded; a default when absent."""
    try:
        value = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return min(MAX_RETRY_AFTER, max(1.0, value))


#: Hosts a Slack webhook URL may reach over plain http: a receiver on this machine (a local test server).
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def webhook_host_allowed(url: str, allowed_hosts: frozenset[str]) -> bool:
    """True for an https URL whose host is in ``allowed_hosts`` (``*`` allows any host). The URL is a
    secret (whoever has it can post to the channel), so plain http is refused except to a loopback host.

    Examples
    --------
    >>> webhook_host_allowed("https://hooks.slack.com/services/T/B/x", frozenset({"hooks.slack.com"}))
    True
    >>> webhook_host_allowed("http://hooks.slack.com/services/T/B/x", frozenset({"hooks.slack.com"}))
    False
    >>> webhook_host_allowed("http://169.254.169.254/latest", frozenset({"hooks.slack.com"}))
    False
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)
    return secure and bool(host) and ("*" in allowed_hosts or host in allowed_hosts)


def parse_hosts(value: str) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in value.split(",") if h.strip())


class SlackClient:
    """The three Slack calls Groundswell makes, with one ``requests.Session`` for connection reuse."""

    def __init__(self, *, api_url: str = DEFAULT_API_URL, webhook_hosts: frozenset[str] = frozenset({"hooks.slack.com"}),
                 timeout: float = TIMEOUT, http: requests.Session | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.webhook_hosts = webhook_hosts
        self.timeout = timeout
        self.http = http or requests.Session()

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.post(url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.Timeout:
            raise SlackError("timeout") from None
        except requests.RequestException as e:  # its text names the URL: keep only the type
            raise SlackError(f"connection_error_{type(e).__name__}") from None

    @staticmethod
    def _http_error(resp: requests.Response, code: str) -> SlackError:
        if resp.status_code == 429:
            return SlackError(code or "rate_limited", status=429, retry_after=retry_after(resp.headers))
        return SlackError(code, status=resp.status_code, permanent=code in PAYLOAD_ERRORS)

    def post_webhook(self, url: str, message: dict[str, Any]) -> None:
        """POST a message to an incoming webhook; returns on ``200 ok``, raises :class:`SlackError` otherwise."""
        if not webhook_host_allowed(url, self.webhook_hosts):
            raise SlackError("webhook_host_not_allowed")
        resp = self._post(url, json=message)
        if resp.status_code == 200:
            return
        raise self._http_error(resp, sanitise_code(resp.text[:100], resp.status_code))

    def _call(self, method: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self._post(f"{self.api_url}/{method}", json=body,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"})
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._http_error(resp, f"http_{resp.status_code}")
        error = sanitise_code(str(data.get("error") or ""), resp.status_code)
        if resp.status_code == 429 or error == "ratelimited":
            raise SlackError("ratelimited", status=429, retry_after=retry_after(resp.headers))
        if resp.status_code != 200:
            raise self._http_error(resp, error)
        if data.get("ok") is not True:
            raise SlackError(error, status=200, permanent=error in PAYLOAD_ERRORS)
        return data

    def post_message(self, token: str, channel: str, message: dict[str, Any], *,
                     thread_ts: str | None = None) -> tuple[str, str]:
        """``chat.postMessage``; returns the channel id and the message's ``ts``."""
        body: dict[str, Any] = {"channel": channel, **message, "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            body["thread_ts"] = thread_ts
        data = self._call("chat.postMessage", token, body)
        ts, channel_id = data.get("ts"), data.get("channel") or channel
        if not isinstance(ts, str) or not isinstance(channel_id, str):
            raise SlackError("bad_response")
        return channel_id, ts

    def update_message(self, token: str, channel: str, ts: str, message: dict[str, Any]) -> None:
        """``chat.update`` of an earlier message (the thread's parent)."""
        self._call("chat.update", token, {"channel": channel, "ts": ts, **message})

    def send(self, target: SlackTarget, message: dict[str, Any]) -> str | None:
        """Post one standalone message to the target; the Web API ``ts`` (None for webhooks)."""
        if target.mode == "webhook" and target.webhook_url:
            self.post_webhook(target.webhook_url, message)
            return None
        if target.mode == "web_api" and target.bot_token and target.channel:
            return self.post_message(target.bot_token, target.channel, message)[1]
        raise SlackError("not_configured", permanent=True)
