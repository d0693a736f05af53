"""Add text_vectors (each embedded ticket text's vector, read by backtests instead of embedding again)

Revision ID: 0015_text_vectors
Revises: 0014_widget_session_offset
Create Date: 2026-12-04 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0015_text_vectors'
down_revision = '0014_widget_session_offset'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'text_vectors',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('text_sha256', sa.String(length=64), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_text_vectors_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('tenant_id', 'text_sha256', name=op.f('pk_text_vectors')),
    )


def downgrade() -> None:
    op.drop_table('text_vectors')
