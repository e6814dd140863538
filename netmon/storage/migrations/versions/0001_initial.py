"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('daily_uniques',
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('site', 'day', name=op.f('pk_daily_uniques'))
    )
    op.create_table('device_state',
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('since', sa.Double(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('consecutive_successes', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_good_poll', sa.Double(), nullable=True),
    sa.Column('uptime_s', sa.Double(), nullable=True),
    sa.Column('uptime_at', sa.Double(), nullable=True),
    sa.Column('failing_since', sa.Double(), nullable=True),
    sa.PrimaryKeyConstraint('device', name=op.f('pk_device_state'))
    )
    op.create_table('heartbeat',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_heartbeat'))
    )
    op.create_table('hourly_rollups',
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('hour_start', sa.Double(), nullable=False),
    sa.Column('polls_ok', sa.Integer(), nullable=False),
    sa.Column('polls_failed', sa.Integer(), nullable=False),
    sa.Column('wifi_clients_min', sa.Double(), nullable=True),
    sa.Column('wifi_clients_avg', sa.Double(), nullable=True),
    sa.Column('wifi_clients_max', sa.Double(), nullable=True),
    sa.Column('wifi_clients_n', sa.Integer(), nullable=False),
    sa.Column('hotspot_users_min', sa.Double(), nullable=True),
    sa.Column('hotspot_users_avg', sa.Double(), nullable=True),
    sa.Column('hotspot_users_max', sa.Double(), nullable=True),
    sa.Column('hotspot_users_n', sa.Integer(), nullable=False),
    sa.Column('bytes_in', sa.BigInteger(), nullable=True),
    sa.Column('bytes_out', sa.BigInteger(), nullable=True),
    sa.Column('temperature_max', sa.Double(), nullable=True),
    sa.Column('voltage_min', sa.Double(), nullable=True),
    sa.Column('first_poll_at', sa.Double(), nullable=False),
    sa.Column('last_poll_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('device', 'hour_start', name=op.f('pk_hourly_rollups'))
    )
    with op.batch_alter_table('hourly_rollups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hourly_rollups_hour_start'), ['hour_start'], unique=False)

    op.create_table('outages',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.Double(), nullable=False),
    sa.Column('ended_at', sa.Double(), nullable=True),
    sa.Column('cause', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outages'))
    )
    with op.batch_alter_table('outages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outages_device_started_at'), ['device', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outages_started_at'), ['started_at'], unique=False)

    op.create_table('reboots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('booted_at', sa.Double(), nullable=False),
    sa.Column('booted_minute', sa.BigInteger(), nullable=False),
    sa.Column('detected_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reboots')),
    sa.UniqueConstraint('device', 'booted_minute', name=op.f('uq_reboots_device_booted_minute'))
    )
    op.create_table('sites',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('desa', sa.String(length=200), nullable=False),
    sa.Column('kecamatan', sa.String(length=200), nullable=False),
    sa.Column('kabupaten', sa.String(length=200), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_phone', sa.String(length=64), nullable=True),
    sa.Column('contact_email', sa.String(length=200), nullable=True),
    sa.Column('first_seen_at', sa.Double(), nullable=False),
    sa.Column('updated_at', sa.Double(), nullable=False),
    sa.Column('retired_at', sa.Double(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites'))
    )
    op.create_table('state_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('old_status', sa.String(length=16), nullable=False),
    sa.Column('new_status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.Double(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_changes')),
    sa.UniqueConstraint('device', 'at', 'new_status', name=op.f('uq_state_changes_device_at_new_status'))
    )
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_state_changes_at'), ['at'], unique=False)

    op.create_table('unknown_spans',
    sa.Column('start', sa.Double(), nullable=False),
    sa.Column('end', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('start', name=op.f('pk_unknown_spans'))
    )
    op.create_table('devices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('sources', sa.String(length=100), nullable=False),
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('profile', sa.String(length=100), nullable=True),
    sa.Column('parent', sa.String(length=64), nullable=True),
    sa.Column('interval_s', sa.Double(), nullable=False),
    sa.Column('kode_barang', sa.String(length=64), nullable=True),
    sa.Column('nomor_register', sa.String(length=64), nullable=True),
    sa.Column('serial', sa.String(length=128), nullable=True),
    sa.Column('model', sa.String(length=128), nullable=True),
    sa.Column('year_acquired', sa.Integer(), nullable=True),
    sa.Column('value_idr', sa.BigInteger(), nullable=True),
    sa.Column('first_seen_at', sa.Double(), nullable=False),
    sa.Column('updated_at', sa.Double(), nullable=False),
    sa.Column('retired_at', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['site'], ['sites.id'], name=op.f('fk_devices_site_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_site'), ['site'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_site'))

    op.drop_table('devices')
    op.drop_table('unknown_spans')
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_state_changes_at'))

    op.drop_table('state_changes')
    op.drop_table('sites')
    op.drop_table('reboots')
    with op.batch_alter_table('outages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outages_started_at'))
        batch_op.drop_index(batch_op.f('ix_outages_device_started_at'))

    op.drop_table('outages')
    with op.batch_alter_table('hourly_rollups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hourly_rollups_hour_start'))

    op.drop_table('hourly_rollups')
    op.drop_table('heartbeat')
    op.drop_table('device_state')
    op.drop_table('daily_uniques')
