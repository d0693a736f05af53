"""Add incidents.llm_summary and incidents.llm_summary_size (incident summaries by Claude)

Revision ID: 0011_incident_summaries
Revises: 0010_backtest_runs
Create Date: 2026-12-04 07:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011_incident_summaries'
down_revision = '0010_backtest_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents') as batch:
        batch.add_column(sa.Column('llm_summary', sa.Text(), nullable=True))
        batch.add_column(sa.Column('llm_summary_size', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incidents') as batch:
        batch.drop_column('llm_summary_size')
        batch.drop_column('llm_summary')
