"""admin_speed: indexes that let every back-office list and the repair analytics read only
what they show: service records by (store, completed_at), owners by name, trigram names and
prefix phones, plates and VINs, reviewed bookings by status. pg_trgm on PostgreSQL only.

Revision ID: 0022_admin_speed
Revises: 0023_call_centre
Create Date: 2026-12-03 07:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022_admin_speed'
down_revision = '0023_call_centre'
branch_labels = None
depends_on = None


def upgrade():
    trgm_ops = 'gin_trgm_ops'
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        # The extension may live in another schema than ours (one database, several schemas).
        schema = op.get_bind().exec_driver_sql(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        ).scalar()
        trgm_ops = f'{schema}.gin_trgm_ops'
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.drop_index('ix_service_records_store_id')
        batch_op.create_index(
            'ix_service_records_store_completed', ['store_id', 'completed_at'], unique=False
        )
        batch_op.create_index('ix_service_records_completed', ['completed_at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_store_id')
        batch_op.drop_index('ix_users_role')
        batch_op.create_index('ix_users_store_name', ['store_id', 'name'], unique=False)
        batch_op.create_index('ix_users_role_name', ['role', 'name'], unique=False)
        batch_op.create_index(
            'ix_users_name_trgm',
            ['name'],
            unique=False,
            postgresql_using='gin',
            postgresql_ops={'name': trgm_ops},
        )
        batch_op.create_index(
            'ix_users_phone_prefix',
            ['phone'],
            unique=False,
            postgresql_ops={'phone': 'varchar_pattern_ops'},
        )
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.create_index(
            'ix_vehicles_plate_prefix',
            ['plate'],
            unique=False,
            postgresql_ops={'plate': 'varchar_pattern_ops'},
        )
        batch_op.create_index(
            'ix_vehicles_vin_prefix',
            ['vin'],
            unique=False,
            postgresql_ops={'vin': 'varchar_pattern_ops'},
        )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_status_id', ['status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_status_id')
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.drop_index('ix_vehicles_vin_prefix')
        batch_op.drop_index('ix_vehicles_plate_prefix')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_phone_prefix')
        batch_op.drop_index('ix_users_name_trgm')
        batch_op.drop_index('ix_users_role_name')
        batch_op.drop_index('ix_users_store_name')
        batch_op.create_index('ix_users_role', ['role'], unique=False)
        batch_op.create_index('ix_users_store_id', ['store_id'], unique=False)
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.drop_index('ix_service_records_completed')
        batch_op.drop_index('ix_service_records_store_completed')
        batch_op.create_index('ix_service_records_store_id', ['store_id'], unique=False)
