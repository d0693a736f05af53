"""Flask extensions, created unbound and bound to an app in ``create_app`` with ``init_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Limits are declared per view (per site key, per tenant, per token); storage is memory by default
#: and Redis when REDIS_URL is set (the app factory sets RATELIMIT_STORAGE_URI).
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, default_limits=[])
