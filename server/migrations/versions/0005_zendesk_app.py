"""Add the Zendesk app's tables: connections (credentials, webhook, triggers), problem tickets, ticket links

Revision ID: 0005_zendesk_app
Revises: 0004_incidents
Create Date: 2026-11-23 12:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_zendesk_app'
down_revision = '0004_incidents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zendesk_connections',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('subdomain', sa.String(length=63), nullable=False),
    sa.Column('auth', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('credential_enc', sa.String(length=2048), nullable=False),
    sa.Column('marketplace_name', sa.String(length=100), nullable=True),
    sa.Column('marketplace_organization_id', sa.String(length=40), nullable=True),
    sa.Column('marketplace_app_id', sa.String(length=40), nullable=True),
    sa.Column('webhook_id', sa.String(length=64), nullable=True),
    sa.Column('trigger_ids', sa.JSON(), nullable=False),
    sa.Column('events_offset', sa.BigInteger(), nullable=False),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_zendesk_connections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_zendesk_connections'))
    )
    op.create_table('zendesk_problem_tickets',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('problem_ticket_id', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_zendesk_problem_tickets_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'incident_id', name=op.f('pk_zendesk_problem_tickets'))
    )
    op.create_index('ux_zendesk_problem_tickets_ticket', 'zendesk_problem_tickets', ['tenant_id', 'problem_ticket_id'], unique=True)
    op.create_table('zendesk_ticket_links',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('zendesk_id', sa.String(length=32), nullable=False),
    sa.Column('linked_by', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_zendesk_ticket_links_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'incident_id', 'zendesk_id', name=op.f('pk_zendesk_ticket_links'))
    )
    op.create_index('ix_zendesk_ticket_links_pending', 'zendesk_ticket_links', ['state', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_zendesk_ticket_links_pending', table_name='zendesk_ticket_links')
    op.drop_table('zendesk_ticket_links')
    op.drop_index('ux_zendesk_problem_tickets_ticket', table_name='zendesk_problem_tickets')
    op.drop_table('zendesk_problem_tickets')
    op.drop_table('zendesk_connections')
