"""cluster: node membership and leases (issue #16)

`cluster_nodes` holds one row per netmon node sharing this database, with its heartbeat; `cluster_leases` the
named leases (the leader's) with their holder, fencing term and expiry. Every time in both is the database's
clock (netmon.storage.cluster), never a node's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cluster_nodes',
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.Double(), nullable=False),
    sa.Column('heartbeat_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_cluster_nodes'))
    )
    with op.batch_alter_table('cluster_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cluster_nodes_heartbeat_at'), ['heartbeat_at'], unique=False)
    op.create_table('cluster_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('term', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cluster_leases'))
    )


def downgrade() -> None:
    op.drop_table('cluster_leases')
    with op.batch_alter_table('cluster_nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cluster_nodes_heartbeat_at'))
    op.drop_table('cluster_nodes')
