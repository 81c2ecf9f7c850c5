"""mileage_readings: a partial index of the readings at or over 100,000 km by time (and car),
so the nightly trade-in rule reads the group's passing readings of a window once per run,
index only, instead of probing every car of every store

Revision ID: 0070_calls18_km_window
Revises: 0070_search17_lead_cust_store
Create Date: 2026-12-04 18:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0070_calls18_km_window"
down_revision = "0070_search17_lead_cust_store"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mileage_readings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mileage_readings_km_window",
            ["recorded_at", "vehicle_id"],
            unique=False,
            sqlite_where=sa.text("km >= 100000"),
            postgresql_where=sa.text("km >= 100000"),
        )


def downgrade():
    with op.batch_alter_table("mileage_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_mileage_readings_km_window")
