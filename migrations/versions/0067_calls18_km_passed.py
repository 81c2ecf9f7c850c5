"""mileage_readings: a partial index of the readings at or over 100,000 km by car and time,
so the trade-in rule finds each of a store's cars' first such reading with one probe instead
of reading every reading of the group in its window

Revision ID: 0067_calls18_km_passed
Revises: 0067_analytics21_daily_counts
Create Date: 2026-12-04 12:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0067_calls18_km_passed"
down_revision = "0067_analytics21_daily_counts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mileage_readings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mileage_readings_km_passed",
            ["vehicle_id", "recorded_at"],
            unique=False,
            sqlite_where=sa.text("km >= 100000"),
            postgresql_where=sa.text("km >= 100000"),
        )


def downgrade():
    with op.batch_alter_table("mileage_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_mileage_readings_km_passed")
