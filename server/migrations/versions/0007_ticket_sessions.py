"""Add widget_ticket_sessions: the widget sessions of a ticket's requester in the day before it

Revision ID: 0007_ticket_sessions
Revises: 0006_widget
Create Date: 2026-12-03 14:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007_ticket_sessions'
down_revision = '0006_widget'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('widget_ticket_sessions',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('zendesk_id', sa.String(length=32), nullable=False),
    sa.Column('session_ids', sa.JSON(), nullable=False),
    sa.Column('ticket_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_widget_ticket_sessions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'zendesk_id', name=op.f('pk_widget_ticket_sessions'))
    )


def downgrade() -> None:
    op.drop_table('widget_ticket_sessions')
