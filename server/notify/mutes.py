"""Muting outbound notifications: while a mute is on, an incident's Slack messages, webhook deliveries
and PagerDuty events are closed as ``muted`` when they come due instead of being sent, so nothing
floods out when the mute ends. Detection, the incidents page and the sidebar are unaffected.

A mute covers one incident or every incident on one series (``topic:17``, ``channel:email``,
``form:360001``, ``page:/billing``): a maintenance window, or a problem already being handled.
"Acknowledged" and "resolved" (where the incident stands, not news of its size) are never held back by
a mute; they are closed as ``muted`` only when every earlier event of that incident was, for that
target (or as ``not configured`` when Slack was not set up for those), so a receiver never hears of an acknowledgement or a resolution without the opening, and a
PagerDuty alert or Slack thread that did open always follows the incident and is always closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.eventlog.log import as_utc
from server.notify.models import NotificationMute

MUTED = "muted"


def mute_view(mute: NotificationMute) -> dict[str, Any]:
    """A mute as the API shows it."""
    return {"id": mute.id, "scope": "incident" if mute.incident_id is not None else "series",
            "incident_id": mute.incident_id, "series": mute.series, "until": as_utc(mute.until),
            "reason": mute.reason, "by": mute.created_by, "created_at": as_utc(mute.created_at)}


def active_mute(session: Session, tenant_id: int, incident_id: int, series: str | None,
                now: datetime) -> NotificationMute | None:
    """The mute covering this incident at ``now`` that lasts longest, or None."""
    covers = [NotificationMute.incident_id == incident_id]
    if series:
        covers.append(NotificationMute.series == series)
    return session.scalars(select(NotificationMute).where(
        NotificationMute.tenant_id == tenant_id, NotificationMute.until > now, or_(*covers))
        .order_by(NotificationMute.until.desc()).limit(1)).first()


#: Why a follow-up is closed when its target never heard the opening: Slack was not set up then.
NOT_CONFIGURED = "not configured"


def held_back(session: Session, model: Any, stream: Any, row: Any, series: str | None, now: datetime) -> str | None:
    """Why an outbox row (``model``: the Slack outbox or the webhook deliveries; ``stream``: the
    condition naming its incident's rows for its target) is to be closed instead of sent, or None.

    ``muted`` while a mute covers it; an acknowledgement or a resolution whose target never got one of
    the incident's earlier events (each was muted, or Slack was not set up when they came due) is closed
    the same way, so a channel configured since does not hear how an incident it never saw ended."""
    if row.event in ("acknowledged", "resolved"):
        earlier = set(session.scalars(select(model.last_error).where(stream, model.seq < row.seq)))
        if earlier and earlier <= {MUTED, NOT_CONFIGURED}:
            return MUTED if earlier == {MUTED} else NOT_CONFIGURED
        return None
    return MUTED if active_mute(session, row.tenant_id, row.incident_id, series, now) is not None else None
