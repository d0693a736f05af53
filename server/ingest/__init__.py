"""Ingest: the write side. Zendesk webhook deliveries and widget event batches are
authenticated, validated and appended to the event log; the answer is 202 with counts.
"""

from server.ingest.service import ingest_widget_batch, ingest_zendesk_delivery

__all__ = ["ingest_widget_batch", "ingest_zendesk_delivery"]
