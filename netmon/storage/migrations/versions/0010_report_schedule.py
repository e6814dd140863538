"""report schedule: which months a cluster's leader has queued (issue #16)

With several nodes the scheduled report is mailed by whichever node leads; what was queued, and since when the
schedule runs, is kept here instead of in one node's data directory, written by the leader in the same fenced
order as the report mails themselves (netmon.report.schedule, netmon.storage.record.ReportQueued).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-18
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_schedule',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_report_schedule'))
    )


def downgrade() -> None:
    op.drop_table('report_schedule')
