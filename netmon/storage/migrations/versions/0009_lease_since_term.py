"""lease since_term: the first term of the holder's current unbroken holding (issue #16)

`cluster_leases.since_term` is the term in which the lease's holder last took it from another node (or created
it); a holder that re-acquires its own lease (expired, nobody else took it) keeps it. The write fence
(netmon.storage.store `Store.write(..., fence=...)`) lets a record produced in term T by holder H through only
while H holds the lease with since_term <= T: nobody else led since T. Existing rows start at their term.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-17
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cluster_leases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('since_term', sa.BigInteger(), nullable=True))
    op.execute(sa.text('UPDATE cluster_leases SET since_term = term'))
    with op.batch_alter_table('cluster_leases', schema=None) as batch_op:
        batch_op.alter_column('since_term', existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('cluster_leases', schema=None) as batch_op:
        batch_op.drop_column('since_term')
