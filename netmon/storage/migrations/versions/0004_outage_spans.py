"""outage spans: when each outage was detected, and the episode its spans belong to; incident detection time

An outage whose cause changed on evidence (the site came back and the device did not) is recorded as spans
of one episode (docs/state.md): `outages.episode` holds the id of the episode's first span. `detected_at`
keeps when netmon declared an outage or raised an incident ("terdeteksi"); `started_at` / `opened_at`
stay the first failed poll; `device_state.answering_since` keeps the first good poll of a recovery (an
outage ends there). Rows written before this revision keep NULL in the new columns.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('device_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answering_since', sa.Double(), nullable=True))
    with op.batch_alter_table('outages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detected_at', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('episode', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_outages_episode'), ['episode'], unique=False)
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detected_at', sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('detected_at')
    with op.batch_alter_table('outages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outages_episode'))
        batch_op.drop_column('episode')
        batch_op.drop_column('detected_at')
    with op.batch_alter_table('device_state', schema=None) as batch_op:
        batch_op.drop_column('answering_since')
