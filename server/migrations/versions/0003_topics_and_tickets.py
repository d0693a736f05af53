"""Add topics and tickets, written by the understanding stage

Revision ID: 0003_topics
Revises: 0002_backfill
Create Date: 2026-11-23 08:32:54
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_topics'
down_revision = '0002_backfill'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tickets',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('zendesk_id', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('excerpt', sa.Text(), nullable=True),
    sa.Column('redactions', sa.JSON(), nullable=True),
    sa.Column('requester_id', sa.String(length=32), nullable=True),
    sa.Column('requester_email_sha256', sa.String(length=64), nullable=True),
    sa.Column('organization_id', sa.String(length=32), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('brand_id', sa.String(length=32), nullable=True),
    sa.Column('locale', sa.String(length=20), nullable=True),
    sa.Column('custom_fields', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('priority', sa.String(length=20), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=True),
    sa.Column('group_id', sa.String(length=32), nullable=True),
    sa.Column('problem_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('solved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('assigned_topic_id', sa.Integer(), nullable=True),
    sa.Column('topic_similarity', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tickets_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'zendesk_id', name=op.f('pk_tickets'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_tickets_tenant_topic_created', ['tenant_id', 'topic_id', 'created_at'], unique=False)

    op.create_table('topics',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('llm_summary', sa.Text(), nullable=True),
    sa.Column('llm_summary_size', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('representatives', sa.JSON(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('merged_into', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_topics_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_topics'))
    )
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.create_index('ix_topics_tenant_last_seen', ['tenant_id', 'last_seen_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_index('ix_topics_tenant_last_seen')

    op.drop_table('topics')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_tenant_topic_created')
        batch_op.drop_index('ix_tickets_tenant_created')

    op.drop_table('tickets')
