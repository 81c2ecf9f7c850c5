"""delivery_checks: the delivery checklist of a new-car order, an item ticked once per order

Revision ID: 0053_delivery_checks
Revises: 0052_policy_encryption
Create Date: 2026-12-03 19:45:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = '0053_delivery_checks'
down_revision = '0052_policy_encryption'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_delivery_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=24), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_crm_delivery_checks_done_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['crm_orders.id'], name=op.f('fk_crm_delivery_checks_order_id_crm_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_delivery_checks')),
    sa.UniqueConstraint('order_id', 'item', name=op.f('uq_crm_delivery_checks_order_id_item'))
    )


def downgrade():
    op.drop_table('crm_delivery_checks')
