"""Add widget_sessions.last_offset (the newest event of a session the detector has folded in)

Revision ID: 0014_widget_session_offset
Revises: 0013_acknowledged_event
Create Date: 2026-12-04 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_widget_session_offset'
down_revision = '0013_acknowledged_event'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('widget_sessions') as batch:
        batch.add_column(sa.Column('last_offset', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('widget_sessions') as batch:
        batch.drop_column('last_offset')
