"""reviewed21_sort_indexes: the reviewed bookings of every store sorted by the day booked for
or by the decision read a page through a partial index of the decided bookings
(slot_start, id) and (decided_at, id); the group admin's list sorted all 6M decided bookings of
the 1M group for a page of 50 (680 ms)

Revision ID: 0074_reviewed21_sort_indexes
Revises: 0073_crawlb_admin_search
Create Date: 2026-12-04 20:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0074_reviewed21_sort_indexes"
down_revision = "0073_crawlb_admin_search"
branch_labels = None
depends_on = None

DECIDED = "decided_at IS NOT NULL"


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        for name, column in (
            ("ix_bookings_decided_slot", "slot_start"),
            ("ix_bookings_decided_at", "decided_at"),
        ):
            batch_op.create_index(
                name,
                [column, "id"],
                unique=False,
                postgresql_where=sa.text(DECIDED),
                sqlite_where=sa.text(DECIDED),
            )


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_decided_at")
        batch_op.drop_index("ix_bookings_decided_slot")
