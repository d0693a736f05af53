"""Add organizations (names of Zendesk organizations), account_reports and account_digests

Revision ID: 0008_organizations
Revises: 0007_ticket_sessions
Create Date: 2026-12-03 20:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008_organizations'
down_revision = '0007_ticket_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organizations',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('zendesk_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_organizations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'zendesk_id', name=op.f('pk_organizations'))
    )
    op.create_table('account_digests',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('last_slot', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accounts', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_account_digests_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_account_digests'))
    )
    op.create_table('account_reports',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accounts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_account_reports_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'days', name=op.f('pk_account_reports'))
    )


def downgrade() -> None:
    op.drop_table('account_reports')
    op.drop_table('account_digests')
    op.drop_table('organizations')
