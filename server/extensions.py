"""Flask extensions, created unbound and bound to an app in ``create_app`` with ``init_app``."""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage


def client_network(address: str) -> str:
    """The caller as the limits count it: an IPv4 address as it is, an IPv6 one by its /64, the block one
    host is usually given (so rotating through it does not give a caller a new bucket each time).

    >>> client_network("203.0.113.7"), client_network("2001:db8:1:2:aaaa::1"), client_network("::ffff:192.0.2.1")
    ('203.0.113.7', '2001:db8:1:2::/64', '192.0.2.1')
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_key() -> str:
    """The request's caller for a limit (:func:`client_network` of its address)."""
    return client_network(get_remote_address() or "")


#: Limits are declared per view (per site key, per tenant, per token); storage is memory by default
#: and Redis when REDIS_URL is set (the app factory sets RATELIMIT_STORAGE_URI).
limiter = Limiter(key_func=client_key, headers_enabled=True, default_limits=[])


class LockedMemoryStorage(MemoryStorage):
    """limits' in-memory storage whose expiry timer is (re)started under a lock.

    Written for a measured reason: limits 5.8.0 (its newest release) checks and restarts the timer
    without a lock, so two requests hitting at once can start the same timer twice and the request
    fails with a 500 ("RuntimeError: threads can only be started once"); the demo's burst of history
    webhooks met it. Fixed upstream (alisaifee/limits pull request 352), not yet released: drop this
    class, and the ``locked-memory://`` default in server/app.py, once a release carries the fix.
    """

    STORAGE_SCHEME = ["locked-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        self._timer_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private method, by its real name
        with self._timer_lock:
            if not self.timer.is_alive():
                self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
                self.timer.start()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_timer_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._timer_lock = threading.Lock()
        super().__setstate__(state)
