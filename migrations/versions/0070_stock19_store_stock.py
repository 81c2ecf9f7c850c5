"""stock19_store_stock: stock per store. A product's stock was one number for the whole group
(shop_products.stock); a part on a shelf in one store could be sold or reserved for a job in
another. Each store now has its own row per product (shop_store_stock: stock for sale and the
store's low-stock threshold), and every ledger row names the store whose stock it changed.

Where today's stock goes: the old number was the group's single pool, and nothing in the data
says which shelf its units are on (orders name the store they were sold at, not the shelf the
unit came from; the workshop's reservations name only a booking in a note). Splitting it by
sales or bookings would invent stock at stores that may hold none. So the whole pool, and the
ledger that explains it, go to the group's first store (the active store with the lowest id,
the group's main store in every dataset we have; any store if none is active). Each store's
ledger then explains its stock. Other stores start at zero and count their shelves with the
stock screen's count (or the stock import), which ledgers the difference.

An order placed before this revision at another store still holds units taken from the pool:
when its hold is released or it is refunded, the units go back to the order's store (the
ledger records the release there), which is where the owner hands them in.

The product keeps its low_stock as the threshold a store's new row starts with. A group with
products but no store has nowhere to put stock: its stock and ledger are dropped.

Revision ID: 0070_stock19_store_stock
Revises: 0070_seg20_booking_owner_status
Create Date: 2026-12-04 18:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0070_stock19_store_stock"
down_revision = "0070_seg20_booking_owner_status"
branch_labels = None
depends_on = None


def _main_store(conn) -> int | None:
    active = conn.execute(sa.text("SELECT min(id) FROM stores WHERE is_active")).scalar()
    if active is not None:
        return active
    return conn.execute(sa.text("SELECT min(id) FROM stores")).scalar()


def upgrade():
    op.create_table(
        "shop_store_stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("low_stock", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_shop_store_stock_stock_nonnegative")),
        sa.CheckConstraint(
            "low_stock >= 0", name=op.f("ck_shop_store_stock_low_stock_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["shop_products.id"],
            name=op.f("fk_shop_store_stock_product_id_shop_products"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_shop_store_stock_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_store_stock")),
        sa.UniqueConstraint(
            "store_id", "product_id", name=op.f("uq_shop_store_stock_store_id_product_id")
        ),
    )
    with op.batch_alter_table("shop_store_stock", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shop_store_stock_product_id"), ["product_id"], unique=False
        )

    conn = op.get_bind()
    main = _main_store(conn)
    if main is None:
        conn.execute(sa.text("DELETE FROM shop_stock_moves"))
    else:
        conn.execute(
            sa.text(
                "INSERT INTO shop_store_stock (store_id, product_id, stock, low_stock) "
                "SELECT :main, id, stock, low_stock FROM shop_products"
            ),
            {"main": main},
        )

    with op.batch_alter_table("shop_stock_moves", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_id", sa.Integer(), nullable=True))
    if main is not None:
        conn.execute(sa.text("UPDATE shop_stock_moves SET store_id = :main"), {"main": main})
    with op.batch_alter_table("shop_stock_moves", schema=None) as batch_op:
        batch_op.alter_column("store_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_shop_stock_moves_store_id_stores"), "stores", ["store_id"], ["id"]
        )
        batch_op.create_index(
            "ix_shop_stock_moves_store_product", ["store_id", "product_id", "id"], unique=False
        )

    with op.batch_alter_table("shop_products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_shop_products_stock_nonnegative"), type_="check")
        batch_op.drop_column("stock")


def downgrade():
    with op.batch_alter_table("shop_products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stock", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_check_constraint(op.f("ck_shop_products_stock_nonnegative"), "stock >= 0")
    # Back to one pool: the group's total of each product.
    op.execute(
        "UPDATE shop_products SET stock = (SELECT coalesce(sum(s.stock), 0) "
        "FROM shop_store_stock s WHERE s.product_id = shop_products.id)"
    )
    with op.batch_alter_table("shop_stock_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_stock_moves_store_product")
        batch_op.drop_constraint(
            batch_op.f("fk_shop_stock_moves_store_id_stores"), type_="foreignkey"
        )
        batch_op.drop_column("store_id")
    with op.batch_alter_table("shop_store_stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_store_stock_product_id"))
    op.drop_table("shop_store_stock")
