"""crawla_analytics_snapshots: the repair analytics of the default period (90 days) of every
store and of all stores, computed hourly by the worker and keyed by their complete input; the
group admin's page counted them live at 1M customers in 15 s (medians, top customers, repeat
repairs and their attribution cannot be summed from daily rollups)

Revision ID: 0071_crawla_analytics_snapshots
Revises: 0070_tasks21_live_tasks
Create Date: 2026-12-04 19:20:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0071_crawla_analytics_snapshots"
down_revision = "0070_tasks21_live_tasks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "analytics_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("repeat_days", sa.Integer(), nullable=False),
        sa.Column("computed_at", portal.models.base.UTCDateTime(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_snapshots")),
        sa.UniqueConstraint(
            "scope",
            "first_day",
            "last_day",
            "timezone",
            "repeat_days",
            name=op.f("uq_analytics_snapshots_input"),
        ),
    )


def downgrade():
    op.drop_table("analytics_snapshots")
