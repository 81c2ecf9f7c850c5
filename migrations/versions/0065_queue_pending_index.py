"""bookings: a partial index of the pending bookings by creation time, for the group's
booking queue read a page at a time (oldest first, keyset)

Revision ID: 0065_queue_pending_index
Revises: 0065_audit_store_at_index
Create Date: 2026-12-04 07:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0065_queue_pending_index"
down_revision = "0065_audit_store_at_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bookings_pending_created",
            ["created_at", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'submitted'"),
            postgresql_where=sa.text("status = 'submitted'"),
        )


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_pending_created")
