"""Create tenants, the event log, detector checkpoints and ingest statistics

Revision ID: b8b5c390ea97
Revises: 
Create Date: 2026-11-23 08:05:07
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'b8b5c390ea97'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('detector_checkpoints',
    sa.Column('partition', sa.String(length=32), nullable=False),
    sa.Column('offset', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('events_processed', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('partition', name=op.f('pk_detector_checkpoints'))
    )
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('zendesk_subdomain', sa.String(length=63), nullable=True),
    sa.Column('webhook_secret_enc', sa.String(length=512), nullable=False),
    sa.Column('site_key', sa.String(length=64), nullable=False),
    sa.Column('api_token_sha256', sa.String(length=64), nullable=False),
    sa.Column('allowed_origins', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('api_token_sha256', name=op.f('uq_tenants_api_token_sha256')),
    sa.UniqueConstraint('site_key', name=op.f('uq_tenants_site_key')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug'))
    )
    op.create_table('events',
    sa.Column('offset', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('idempotency_key', sa.String(length=160), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('offset', name=op.f('pk_events')),
    sa.UniqueConstraint('tenant_id', 'source', 'idempotency_key', name='uq_events_idempotency')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_tenant_offset', ['tenant_id', 'offset'], unique=False)

    op.create_table('ingest_stats',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('total', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('minutes', sa.JSON(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('first_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_offset', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ingest_stats_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'source', name=op.f('pk_ingest_stats'))
    )


def downgrade() -> None:
    op.drop_table('ingest_stats')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_tenant_offset')

    op.drop_table('events')
    op.drop_table('tenants')
    op.drop_table('detector_checkpoints')
