"""Webhooks that took every incident event also get the new ``acknowledged`` event

Revision ID: 0013_acknowledged_event
Revises: 0012_pagerduty_inbound
Create Date: 2026-12-04 11:30:00

Endpoints registered with the default (every event: opened, grew, resolved, reopened) asked for all
of them, so they get ``acknowledged`` too (a PagerDuty alert then follows an acknowledgement made in
Groundswell). Endpoints that chose some events keep their choice; PATCH adds it to them.

Downgrading takes the event away again and closes the ``acknowledged`` messages not yet sent (to Slack
and to webhooks) as ``not sent: downgraded``: code before this revision cannot build them, and an
unsent row holds back its incident's later ones.
"""

from alembic import op
import sqlalchemy as sa


revision = '0013_acknowledged_event'
down_revision = '0012_pagerduty_inbound'
branch_labels = None
depends_on = None

_OLD = ["opened", "grew", "resolved", "reopened"]
_NEW = ["opened", "grew", "acknowledged", "resolved", "reopened"]

_endpoints = sa.table('webhook_endpoints', sa.column('id', sa.Integer), sa.column('events', sa.JSON))
_outboxes = [sa.table(name, sa.column('event', sa.String), sa.column('sent_at', sa.DateTime(timezone=True)),
                      sa.column('next_attempt_at', sa.DateTime(timezone=True)), sa.column('last_error', sa.Text))
             for name in ('notifications', 'webhook_deliveries')]


def upgrade() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(_endpoints.c.id, _endpoints.c.events)).all():
        if sorted(row.events or []) == sorted(_OLD):
            bind.execute(_endpoints.update().where(_endpoints.c.id == row.id).values(events=_NEW))


def downgrade() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(_endpoints.c.id, _endpoints.c.events)).all():
        if "acknowledged" in (row.events or []):
            kept = [e for e in row.events if e != "acknowledged"] or ["resolved"]
            bind.execute(_endpoints.update().where(_endpoints.c.id == row.id).values(events=kept))
    for outbox in _outboxes:
        bind.execute(outbox.update().where(outbox.c.event == 'acknowledged', outbox.c.sent_at.is_(None))
                     .values(sent_at=sa.func.now(), next_attempt_at=None, last_error='not sent: downgraded'))
