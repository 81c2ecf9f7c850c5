"""inspection_parts: the shop part an inspection item needs and what became of it (reserved,
on order, released, used), the parts' share of an approved job line, and the stock ledger's
"workshop" reason for units reserved for a job

Revision ID: 0061_parts_inspection_parts
Revises: 0060_alipay_payment_methods
Create Date: 2026-12-03 22:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0061_parts_inspection_parts"
down_revision = "0061_responders_responses"
branch_labels = None
depends_on = None

REASONS = "'initial', 'sale', 'release', 'adjust', 'return'"


def _reasons(check: str) -> None:
    with op.batch_alter_table("shop_stock_moves", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_shop_stock_moves_reason_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_shop_stock_moves_reason_known"), check)


def upgrade():
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("part_quantity", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.add_column(sa.Column("part_state", sa.String(length=10), nullable=True))
        batch_op.create_index(batch_op.f("ix_inspection_items_product_id"), ["product_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_inspection_items_product_id_shop_products"),
            "shop_products",
            ["product_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_inspection_items_part_quantity_positive"), "part_quantity > 0"
        )
        batch_op.create_check_constraint(
            op.f("ck_inspection_items_part_state_known"),
            "part_state IS NULL OR (product_id IS NOT NULL AND decision <> 'pending' AND "
            "part_state IN ('reserved', 'on_order', 'released', 'used'))",
        )
    with op.batch_alter_table("job_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("part_fen", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_job_lines_part_within_price"), "part_fen >= 0 AND part_fen <= price_fen"
        )
    _reasons(f"reason IN ({REASONS}, 'workshop')")


def downgrade():
    _reasons(f"reason IN ({REASONS})")
    with op.batch_alter_table("job_lines", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_job_lines_part_within_price"), type_="check")
        batch_op.drop_column("part_fen")
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_inspection_items_part_state_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_inspection_items_part_quantity_positive"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_inspection_items_product_id_shop_products"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_inspection_items_product_id"))
        batch_op.drop_column("part_state")
        batch_op.drop_column("part_quantity")
        batch_op.drop_column("product_id")
