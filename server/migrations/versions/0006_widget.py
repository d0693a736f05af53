"""Add the widget's tables: settings, sessions, decisions

Revision ID: 0006_widget
Revises: 0005_zendesk_app
Create Date: 2026-11-23 12:37:13.506222
"""

from alembic import op
import sqlalchemy as sa


revision = '0006_widget'
down_revision = '0005_zendesk_app'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('widget_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('nudge_id', sa.String(length=64), nullable=True),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.Column('would_nudge', sa.Boolean(), nullable=False),
    sa.Column('p_ticket', sa.Float(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_widget_decisions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_widget_decisions'))
    )
    with op.batch_alter_table('widget_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_widget_decisions_tenant_session', ['tenant_id', 'session_id'], unique=False)
        batch_op.create_index('ix_widget_decisions_tenant_user_decided', ['tenant_id', 'user_id', 'decided_at'], unique=False)

    op.create_table('widget_sessions',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=True),
    sa.Column('account_id', sa.String(length=128), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_path', sa.String(length=200), nullable=True),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('p_ticket', sa.Float(), nullable=True),
    sa.Column('stuck_pages', sa.JSON(), nullable=False),
    sa.Column('model_ready', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=True),
    sa.Column('ticket_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_widget_sessions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'session_id', name=op.f('pk_widget_sessions'))
    )
    with op.batch_alter_table('widget_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_widget_sessions_tenant_last_seen', ['tenant_id', 'last_seen_at'], unique=False)

    op.create_table('widget_settings',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('identity_secret_enc', sa.String(length=512), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_widget_settings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_widget_settings'))
    )


def downgrade() -> None:
    op.drop_table('widget_settings')
    with op.batch_alter_table('widget_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_widget_sessions_tenant_last_seen')

    op.drop_table('widget_sessions')
    with op.batch_alter_table('widget_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_widget_decisions_tenant_user_decided')
        batch_op.drop_index('ix_widget_decisions_tenant_session')

    op.drop_table('widget_decisions')
