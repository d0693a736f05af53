"""Add backtest_runs (backtests asked for through the API, run by the detector's backtest worker)

Revision ID: 0010_backtest_runs
Revises: 0009_webhooks
Create Date: 2026-12-04 03:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_backtest_runs'
down_revision = '0009_webhooks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('backtest_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('events_total', sa.Integer(), nullable=False),
    sa.Column('events_done', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_backtest_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backtest_runs'))
    )
    op.create_index('ix_backtest_runs_status', 'backtest_runs', ['status', 'tenant_id'], unique=False)
    op.create_index(op.f('ix_backtest_runs_tenant_id'), 'backtest_runs', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_backtest_runs_tenant_id'), table_name='backtest_runs')
    op.drop_index('ix_backtest_runs_status', table_name='backtest_runs')
    op.drop_table('backtest_runs')
