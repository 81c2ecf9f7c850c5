"""pickup holds: the pickup day of pay-at-store orders, the store's pickup window

Revision ID: 0038_pickup_holds
Revises: 0033_showroom_handoff
Create Date: 2026-12-03 13:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0038_pickup_holds'
down_revision = '0037_campaign_schedule'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shop_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_shop_orders_pickup_on'), ['pickup_on'], unique=False)

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('pickup_hold_days', sa.Integer(), server_default='3', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('pickup_hold_days')

    with op.batch_alter_table('shop_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_orders_pickup_on'))
        batch_op.drop_column('pickup_on')
