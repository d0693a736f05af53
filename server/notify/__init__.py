"""Notify: Slack messages and webhooks when an incident opens, grows materially or resolves.

The detector's incident writer calls :func:`enqueue` in its transaction (the outbox); a
:class:`Notifier` thread in the detector process sends the rows in order, retrying with back-off.
Two Slack modes, chosen per tenant: an incoming webhook (one message per incident event) or the Web
API with a bot token (one thread per incident: the first message is its parent, later events reply
in the thread and redraw the parent with the current status). The same events go to the tenant's
incident webhooks (signed JSON or PagerDuty Events API v2; server/notify/webhooks.py), delivered by a
:class:`~server.notify.webhooks.WebhookSender` thread beside the notifier. See docs/notifications.md.
"""

from server.notify.outbox import Notifier, enqueue, start_worker
from server.notify.slack import incident_blocks

__all__ = ["Notifier", "enqueue", "incident_blocks", "start_worker"]
