"""lists21_order_store_created: one index for the back-office orders list's store filter and
its newest-first keyset order (shop_orders.store_id, created_at, id)

Revision ID: 0068_lists21_order_store_created
Revises: 0067_brand22_brand_rows
Create Date: 2026-12-04 13:45:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0068_lists21_order_store_created"
down_revision = "0067_brand22_brand_rows"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shop_orders_store_created", ["store_id", "created_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("shop_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_orders_store_created")
