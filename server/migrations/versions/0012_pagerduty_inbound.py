"""Add webhook_endpoints.inbound_secret_enc (PagerDuty's v3 webhooks back to Groundswell)

Revision ID: 0012_pagerduty_inbound
Revises: 0011_incident_summaries
Create Date: 2026-12-04 08:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_pagerduty_inbound'
down_revision = '0011_incident_summaries'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoints') as batch:
        batch.add_column(sa.Column('inbound_secret_enc', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints') as batch:
        batch.drop_column('inbound_secret_enc')
