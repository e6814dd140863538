"""incidents and tickets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.Double(), nullable=False),
    sa.Column('resolved_at', sa.Double(), nullable=True),
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('kabupaten', sa.String(length=200), nullable=False),
    sa.Column('kecamatan', sa.String(length=200), nullable=False),
    sa.Column('site', sa.String(length=64), nullable=True),
    sa.Column('device', sa.String(length=64), nullable=True),
    sa.Column('members', sa.Text(), nullable=False),
    sa.Column('acknowledged_at', sa.Double(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('escalated_at', sa.Double(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    op.create_index('ix_incidents_open', 'incidents', ['resolved_at'], unique=False)
    op.create_table('tickets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('incident', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.Double(), nullable=False),
    sa.Column('updated_at', sa.Double(), nullable=False),
    sa.Column('external_refs', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('incident', name=op.f('uq_tickets_incident'))
    )


def downgrade() -> None:
    op.drop_table('tickets')
    op.drop_index('ix_incidents_open', table_name='incidents')
    op.drop_table('incidents')
