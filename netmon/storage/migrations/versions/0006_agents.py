"""site agents: ingest progress, gaps, and the cause of an unknown state

`agent_progress` keeps, per site agent (issue #14), the last sequence number up to which its results are
ingested (the office skips what it already has, also after a restart) and what its latest status said;
`agent_gaps` the ranges of results that will never arrive (dropped by the agent's bound, or skipped as missing),
with the period they covered. `device_state.unknown_cause` says why a device is UNKNOWN when it is for a reason
of its own ("agent": its site agent cannot be heard). Rows written before this revision keep NULL there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('device_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unknown_cause', sa.String(length=32), nullable=True))
    op.create_table('agent_progress',
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_result_at', sa.Double(), nullable=True),
    sa.Column('heard_at', sa.Double(), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=True),
    sa.Column('status_at', sa.Double(), nullable=True),
    sa.Column('reported_seq', sa.BigInteger(), nullable=True),
    sa.Column('backlog_depth', sa.BigInteger(), nullable=True),
    sa.Column('backlog_oldest_at', sa.Double(), nullable=True),
    sa.PrimaryKeyConstraint('agent', name=op.f('pk_agent_progress'))
    )
    op.create_table('agent_gaps',
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('from_seq', sa.BigInteger(), nullable=False),
    sa.Column('to_seq', sa.BigInteger(), nullable=False),
    sa.Column('from_at', sa.Double(), nullable=True),
    sa.Column('to_at', sa.Double(), nullable=True),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('agent', 'from_seq', name=op.f('pk_agent_gaps'))
    )
    with op.batch_alter_table('agent_gaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_gaps_from_at'), ['from_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_gaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_gaps_from_at'))
    op.drop_table('agent_gaps')
    op.drop_table('agent_progress')
    with op.batch_alter_table('device_state', schema=None) as batch_op:
        batch_op.drop_column('unknown_cause')
