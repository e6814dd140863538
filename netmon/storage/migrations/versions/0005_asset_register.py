"""asset register: the remaining KIB B columns on devices, and field inspections

`devices` gains the KIB B columns the register had not held yet (Nama/Jenis Barang, Ukuran, Bahan,
Asal-usul, Keterangan, and the OPD/unit); `inspections` keeps every field inspection of an asset (its
condition B/RR/RB, who, when, why) as one row: history, never updated. `effective_at` is local midnight of
`inspected_on` in the site's zone, from when the inspection overrides the suggested condition. Devices
written before this revision keep NULL in the new columns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('size', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('material', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('origin', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('remarks', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('unit', sa.String(length=200), nullable=True))
    op.create_table('inspections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('effective_at', sa.Double(), nullable=False),
    sa.Column('condition', sa.String(length=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('inspected_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections')),
    sa.UniqueConstraint('device', 'recorded_at', name=op.f('uq_inspections_device_recorded_at'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspections_device_effective_at'), ['device', 'effective_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspections_device_effective_at'))
    op.drop_table('inspections')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('unit')
        batch_op.drop_column('remarks')
        batch_op.drop_column('origin')
        batch_op.drop_column('material')
        batch_op.drop_column('size')
        batch_op.drop_column('name')
