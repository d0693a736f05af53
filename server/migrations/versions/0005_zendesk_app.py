"""Add the Zendesk app's tables: problem-ticket links, installations

Revision ID: 0005_zendesk_app
Revises: 0004_incidents
Create Date: 2026-11-23 12:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_zendesk_app'
down_revision = '0004_incidents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
