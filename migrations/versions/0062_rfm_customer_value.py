"""crm_value_bands and crm_customer_values: customer value (RFM) over 24 months, computed
nightly by the customer-value job, in bands a store's managers edit (the job seeds the default
four for a store that has none)

Revision ID: 0062_rfm_customer_value
Revises: 0062_today_live_tasks_undone
Create Date: 2026-12-04 01:56:02

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0062_rfm_customer_value"
down_revision = "0062_today_live_tasks_undone"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "crm_value_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(length=30), nullable=False),
        sa.Column("name_en", sa.String(length=30), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("recency_min_days", sa.Integer(), nullable=True),
        sa.Column("recency_max_days", sa.Integer(), nullable=True),
        sa.Column("frequency_min", sa.Integer(), nullable=False),
        sa.Column("spend_min_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("name_zh <> ''", name=op.f("ck_crm_value_bands_name_present")),
        sa.CheckConstraint(
            "frequency_min >= 0", name=op.f("ck_crm_value_bands_frequency_nonnegative")
        ),
        sa.CheckConstraint(
            "position BETWEEN 1 AND 99", name=op.f("ck_crm_value_bands_position_range")
        ),
        sa.CheckConstraint(
            "recency_max_days IS NULL OR recency_max_days BETWEEN 0 AND 730",
            name=op.f("ck_crm_value_bands_recency_max_range"),
        ),
        sa.CheckConstraint(
            "recency_min_days IS NULL OR recency_max_days IS NULL "
            "OR recency_min_days <= recency_max_days",
            name=op.f("ck_crm_value_bands_recency_ordered"),
        ),
        sa.CheckConstraint(
            "recency_min_days IS NULL OR recency_min_days BETWEEN 0 AND 730",
            name=op.f("ck_crm_value_bands_recency_min_range"),
        ),
        sa.CheckConstraint("spend_min_fen >= 0", name=op.f("ck_crm_value_bands_spend_nonnegative")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_crm_value_bands_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_value_bands")),
        sa.UniqueConstraint("store_id", "name_zh", name="uq_crm_value_bands_store_name_zh"),
    )
    with op.batch_alter_table("crm_value_bands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_value_bands_store_id"), ["store_id"], unique=False)

    op.create_table(
        "crm_customer_values",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("last_paid_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_fen", sa.BigInteger(), nullable=False),
        sa.Column("band_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "frequency >= 0", name=op.f("ck_crm_customer_values_frequency_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["band_id"],
            ["crm_value_bands.id"],
            name=op.f("fk_crm_customer_values_band_id_crm_value_bands"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["users.id"],
            name=op.f("fk_crm_customer_values_customer_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_crm_customer_values_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_crm_customer_values")),
    )
    with op.batch_alter_table("crm_customer_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_customer_values_store_band", ["store_id", "band_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("crm_customer_values", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_customer_values_store_band")

    op.drop_table("crm_customer_values")
    with op.batch_alter_table("crm_value_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_value_bands_store_id"))

    op.drop_table("crm_value_bands")
