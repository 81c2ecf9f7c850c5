"""store_daily_counts: each store's repairs by fault, model and part and its bookings by
status and rejection reason per local day, kept by the daily-stats job for the repair
analytics (admin/analytics_rollups.py)

Revision ID: 0067_analytics21_daily_counts
Revises: 0067_fold17_used_car_lead_fold
Create Date: 2026-12-04 12:35:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0067_analytics21_daily_counts"
down_revision = "0067_fold17_used_car_lead_fold"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "store_daily_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("key2", sa.String(length=60), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "n >= 0 AND quantity >= 0", name=op.f("ck_store_daily_counts_counts_nonnegative")
        ),
        sa.CheckConstraint(
            "kind IN ('fault', 'model', 'part', 'status', 'reason')",
            name=op.f("ck_store_daily_counts_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_daily_counts_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_daily_counts")),
        sa.UniqueConstraint(
            "store_id",
            "day",
            "kind",
            "key",
            "key2",
            name=op.f("uq_store_daily_counts_store_id_day_kind_key_key2"),
        ),
    )


def downgrade():
    op.drop_table("store_daily_counts")
