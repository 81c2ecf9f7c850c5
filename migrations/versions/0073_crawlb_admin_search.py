"""crawlb_admin_search: the back office's search boxes read an index instead of every row.
Car loans by the lender's name and insurance policies by the insurer's name from its start (a
prefix index, varchar_pattern_ops on PostgreSQL); reviewed bookings by words of the owner's
description or the decision's note (pg_trgm). At 1M customers the policies' search scanned
2.6M policies for '%text%' (2 s) and the reviewed bookings' 6M bookings (4 s).

Revision ID: 0073_crawlb_admin_search
Revises: 0070_stock19_store_stock
Create Date: 2026-12-04 19:05:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0073_crawlb_admin_search"
down_revision = "0070_stock19_store_stock"
branch_labels = None
depends_on = None


def upgrade():
    trgm_ops = "gin_trgm_ops"
    if op.get_bind().dialect.name == "postgresql":
        # The extension (0022_admin_speed) may live in another schema than ours.
        schema = op.get_bind().exec_driver_sql(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        ).scalar()
        trgm_ops = f"{schema}.gin_trgm_ops"
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loans_lender_prefix",
            ["lender"],
            unique=False,
            postgresql_ops={"lender": "varchar_pattern_ops"},
        )
    with op.batch_alter_table("insurance_policies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_insurance_policies_insurer_prefix",
            ["insurer"],
            unique=False,
            postgresql_ops={"insurer": "varchar_pattern_ops"},
        )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        for column in ("description", "decision_note"):
            batch_op.create_index(
                f"ix_bookings_{column}_trgm",
                [column],
                unique=False,
                postgresql_using="gin",
                postgresql_ops={column: trgm_ops},
            )


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_decision_note_trgm")
        batch_op.drop_index("ix_bookings_description_trgm")
    with op.batch_alter_table("insurance_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_insurance_policies_insurer_prefix")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_lender_prefix")
