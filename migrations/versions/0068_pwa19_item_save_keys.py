"""pwa19_item_save_keys: the keys of inspection item saves sent from a technician's phone, so
a save retried after the connection dropped is recorded once

Revision ID: 0068_pwa19_item_save_keys
Revises: 0068_lists21_order_store_created
Create Date: 2026-12-04 13:50:00

"""

import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0068_pwa19_item_save_keys"
down_revision = "0068_lists21_order_store_created"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inspection_item_saves",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("saved_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inspection_items.id"],
            name=op.f("fk_inspection_item_saves_item_id_inspection_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inspection_item_saves")),
    )
    op.create_index(op.f("ix_inspection_item_saves_item_id"), "inspection_item_saves", ["item_id"])


def downgrade():
    op.drop_index(op.f("ix_inspection_item_saves_item_id"), table_name="inspection_item_saves")
    op.drop_table("inspection_item_saves")
