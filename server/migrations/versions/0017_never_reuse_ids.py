"""SQLite: tenant ids and event offsets are never reused (AUTOINCREMENT)

Without AUTOINCREMENT, SQLite gives a new row the highest rowid plus one. Once a tenant is deleted (the
newest one, and the newest events with it), the next tenant would take its id, and with it whatever still
knows that id (the detector's learnt state in its checkpoint, caches); the next events would take the
deleted events' offsets, below where the detector has read to, and never be processed. PostgreSQL's
sequences never go back; nothing changes there.

Revision ID: 0017_never_reuse_ids
Revises: 0016_detector_dead_letters
Create Date: 2026-12-05 08:30:00
"""

from alembic import op


revision = '0017_never_reuse_ids'
down_revision = '0016_detector_dead_letters'
branch_labels = None
depends_on = None

# Each table is copied into one made with (or without) AUTOINCREMENT; SQLite's counter starts at the highest
# id copied. server.migrate runs this with foreign keys off, so that dropping the old tenants table does not
# delete every row that refers to it.
TABLES = ('tenants', 'events')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': False}):
            pass
