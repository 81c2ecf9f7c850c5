"""vehicle_store: each car carries its owner's store (backfilled), so a store's cars are found
by (store_id, plate) through one index instead of joining every owner; a foreign key
(owner_id, store_id) -> users (id, store_id) ON UPDATE CASCADE keeps it the owner's store

Revision ID: 0030_vehicle_store
Revises: 0022_admin_speed
Create Date: 2026-12-03 12:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0030_vehicle_store'
down_revision = '0022_admin_speed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_vehicles_store_id_stores'), 'stores', ['store_id'], ['id']
        )
    op.execute(
        'UPDATE vehicles SET store_id = '
        '(SELECT users.store_id FROM users WHERE users.id = vehicles.owner_id)'
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('uq_users_id_store', ['id', 'store_id'], unique=True)
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.create_index('ix_vehicles_store_plate', ['store_id', 'plate'], unique=False)
        batch_op.create_foreign_key(
            'fk_vehicles_owner_store',
            'users',
            ['owner_id', 'store_id'],
            ['id', 'store_id'],
            onupdate='CASCADE',
        )


def downgrade():
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.drop_constraint('fk_vehicles_owner_store', type_='foreignkey')
        batch_op.drop_index('ix_vehicles_store_plate')
        batch_op.drop_constraint(batch_op.f('fk_vehicles_store_id_stores'), type_='foreignkey')
        batch_op.drop_column('store_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('uq_users_id_store')
