"""Zendesk's REST API: a zenpy client per tenant and the ticket backfill into the event log.

``build_client`` makes the zenpy client (cache disabled, 429s raised instead of slept out);
``run_backfill`` exports a tenant's tickets with the cursor-based incremental export, resumably
and within the export's rate limit. Webhook deliveries do not come through here: they are
ingested by ``server.ingest``.
"""

from server.zendesk.backfill import BackfillConflict, BackfillResult, parse_since, run_backfill
from server.zendesk.client import ZendeskAuthError, ZendeskError, ZendeskRateLimited, build_client
from server.zendesk.models import BackfillCursor

__all__ = [
    "BackfillConflict",
    "BackfillCursor",
    "BackfillResult",
    "ZendeskAuthError",
    "ZendeskError",
    "ZendeskRateLimited",
    "build_client",
    "parse_since",
    "run_backfill",
]
