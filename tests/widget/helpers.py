"""Builders of widget events as the log holds them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from server.eventlog.log import LoggedEvent

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday, midnight
SITE = "https://app.example.com"


class Log:
    """Hands out LoggedEvents with increasing offsets."""

    def __init__(self, tenant_id: int = 1) -> None:
        self.tenant_id = tenant_id
        self.offset = 0

    def widget(self, session_id: str, etype: str, at: datetime, page: str = "/billing", *,
               user_id: str | None = None, target: str | None = None, **data: Any) -> LoggedEvent:
        self.offset += 1
        payload: dict[str, Any] = {"id": f"e{self.offset}", "type": etype, "ts": int(at.timestamp() * 1000),
                                   "url": SITE + page, "session_id": session_id, "data": data}
        if user_id:
            payload["user_id"] = user_id
        if target:
            payload["target"] = target
        return LoggedEvent(self.offset, self.tenant_id, "widget", f"widget.{etype}", f"{session_id}/e{self.offset}",
                           at + timedelta(seconds=1), at, payload)

    def ticket(self, ticket_id: int, at: datetime, requester_id: str | None = None,
               email: str | None = None) -> LoggedEvent:
        self.offset += 1
        detail: dict[str, Any] = {"id": str(ticket_id), "subject": "Payment fails", "description": "It fails.",
                                  "status": "NEW", "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if requester_id:
            detail["requester_id"] = requester_id
        body = {"type": "zen:event-type:ticket.created", "id": f"t{ticket_id}", "time": detail["created_at"],
                "subject": f"zen:ticket:{ticket_id}", "detail": detail, "event": {}}
        if email:
            body = {"ticket_id": str(ticket_id), "event": "created", "requester_email": email,
                    "created_at": detail["created_at"], "subject": "Payment fails"}
            return LoggedEvent(self.offset, self.tenant_id, "zendesk", "zendesk.trigger", f"t{ticket_id}",
                               at + timedelta(seconds=5), at, body)
        return LoggedEvent(self.offset, self.tenant_id, "zendesk", "zendesk.ticket.created", f"t{ticket_id}",
                           at + timedelta(seconds=5), at, body)

    def control(self, kind: str, at: datetime, payload: dict[str, Any]) -> LoggedEvent:
        self.offset += 1
        return LoggedEvent(self.offset, self.tenant_id, "control", kind, f"c{self.offset}", at, at, payload)


def failing(log: Log, session_id: str, at: datetime, n: int = 3, page: str = "/billing",
            user_id: str | None = None) -> list[LoggedEvent]:
    """A session that views a page and sees the same request fail ``n`` times."""
    out = [log.widget(session_id, "page_view", at, page, user_id=user_id)]
    for i in range(n):
        out.append(log.widget(session_id, "failed_request", at + timedelta(seconds=5 * (i + 1)), page,
                              user_id=user_id, method="POST", path="/api/pay", status=500))
    return out
