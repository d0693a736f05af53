"""SQLite: events' offsets are never reused (AUTOINCREMENT)

Without AUTOINCREMENT, SQLite gives a new row the highest rowid plus one: once the newest events are
deleted (their tenant with them), the next events would take their offsets again, below where the
detector has read to, and never be processed. PostgreSQL's sequence never goes back; nothing changes there.

Revision ID: 0017_events_never_reuse_offsets
Revises: 0016_detector_dead_letters
Create Date: 2026-12-05 08:30:00
"""

from alembic import op


revision = '0017_events_never_reuse_offsets'
down_revision = '0016_detector_dead_letters'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    # The table is copied into one made with AUTOINCREMENT; SQLite's counter starts at the highest offset copied.
    with op.batch_alter_table('events', recreate='always', table_kwargs={'sqlite_autoincrement': True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('events', recreate='always', table_kwargs={'sqlite_autoincrement': False}):
        pass
