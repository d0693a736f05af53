"""Add detector_dead_letters (events the detector skipped after each failed twice on its own)

Revision ID: 0016_detector_dead_letters
Revises: 0015_text_vectors
Create Date: 2026-12-04 20:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0016_detector_dead_letters'
down_revision = '0015_text_vectors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'detector_dead_letters',
        sa.Column('offset', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.Column('partition', sa.String(length=32), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=80), nullable=False),
        sa.Column('error_class', sa.String(length=200), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_detector_dead_letters_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('offset', name=op.f('pk_detector_dead_letters')),
    )
    op.create_index(op.f('ix_detector_dead_letters_tenant_id'), 'detector_dead_letters', ['tenant_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_detector_dead_letters_tenant_id'), table_name='detector_dead_letters')
    op.drop_table('detector_dead_letters')
