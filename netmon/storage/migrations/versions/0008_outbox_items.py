"""outbox items: the outboxes' journal shared by the nodes of a cluster (issue #16)

`outbox_items` holds the items of the leader's outboxes (notifications, ticket sinks, MQTT events) that no
destination has acknowledged yet, in `seq` order per outbox, with the node that put them and the leader term
that last handed them to the destination (`claimed_term`, the fencing token). A delivered item is deleted.
`created_at` is the database's clock (netmon.storage.outbox).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_items',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('outbox', sa.String(length=64), nullable=False),
    sa.Column('item', sa.Text(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('claimed_term', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbox_items'))
    )
    with op.batch_alter_table('outbox_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_items_outbox_seq'), ['outbox', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_items_outbox_seq'))
    op.drop_table('outbox_items')
