"""store_daily_stats and store_daily_stats_spans: each store's figures per local day, kept by
the daily-stats job, and the days they cover; the group's comparison reads closed days there

Revision ID: 0065_rollups_store_daily_stats
Revises: 0065_queue_pending_index
Create Date: 2026-12-04 06:54:38

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0065_rollups_store_daily_stats"
down_revision = "0065_queue_pending_index"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "store_daily_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("came", sa.Integer(), nullable=False),
        sa.Column("no_show", sa.Integer(), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("contacted", sa.Integer(), nullable=False),
        sa.Column("contact_seconds", sa.BigInteger(), nullable=False),
        sa.Column("surveys", sa.Integer(), nullable=False),
        sa.Column("nps_answers", sa.Integer(), nullable=False),
        sa.Column("promoters", sa.Integer(), nullable=False),
        sa.Column("detractors", sa.Integer(), nullable=False),
        sa.Column("csi_sum", sa.BigInteger(), nullable=False),
        sa.Column("csi_answers", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("sales_fen", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("vetted", sa.Integer(), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            (
                "bookings >= 0 AND came >= 0 AND no_show >= 0 AND leads >= 0 AND "
                "won >= 0 AND contacted >= 0 AND surveys >= 0 AND nps_answers >= 0 AND "
                "promoters >= 0 AND detractors >= 0 AND csi_sum >= 0 AND "
                "csi_answers >= 0 AND complaints >= 0 AND orders >= 0 AND "
                "vetted >= 0 AND jobs >= 0 AND revenue_fen >= 0"
            ),
            name=op.f("ck_store_daily_stats_counts_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_daily_stats_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_daily_stats")),
        sa.UniqueConstraint("store_id", "day", name=op.f("uq_store_daily_stats_store_id_day")),
    )
    op.create_table(
        "store_daily_stats_spans",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("computed_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "first_day <= last_day", name=op.f("ck_store_daily_stats_spans_days_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_daily_stats_spans_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_store_daily_stats_spans")),
    )


def downgrade():
    op.drop_table("store_daily_stats_spans")
    op.drop_table("store_daily_stats")
