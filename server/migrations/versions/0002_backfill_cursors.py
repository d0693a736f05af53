"""Add backfill_cursors, where each tenant's Zendesk ticket backfill stands

Revision ID: 0002_backfill
Revises: b8b5c390ea97
Create Date: 2026-11-23 08:26:20
"""

from alembic import op
import sqlalchemy as sa

revision = '0002_backfill'
down_revision = 'b8b5c390ea97'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('backfill_cursors',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cursor', sa.String(length=1024), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_backfill_cursors_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_backfill_cursors'))
    )


def downgrade() -> None:
    op.drop_table('backfill_cursors')
