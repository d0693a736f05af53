"""Imports every model module so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from server.accounts.models import AccountDigest, AccountReport, Organization
from server.eventlog.models import Event
from server.incidents.models import (BacktestRun, Feedback, Incident, IncidentTicket, Notification, Release, SlackThread,
                                     VolumePoint)
from server.notify.models import NotificationMute, WebhookDelivery, WebhookEndpoint
from server.pipeline.models import DetectorCheckpoint, IngestStat
from server.tenants.models import Tenant
from server.topics.models import Ticket, Topic
from server.widget.models import WidgetDecision, WidgetSession, WidgetSettings, WidgetTicketSessions
from server.zendesk.models import BackfillCursor, ProblemTicket, TicketLink, ZendeskConnection

__all__ = ["AccountDigest", "AccountReport", "BackfillCursor", "DetectorCheckpoint", "Event", "Feedback", "Incident", "IncidentTicket", "IngestStat",
           "Notification", "Organization", "ProblemTicket", "Release", "SlackThread", "Tenant", "Ticket", "TicketLink", "Topic",
           "VolumePoint", "ZendeskConnection"]
__all__ += ["BacktestRun", "NotificationMute", "WebhookDelivery", "WebhookEndpoint"]
__all__ += ["WidgetDecision", "WidgetSession", "WidgetSettings", "WidgetTicketSessions"]
