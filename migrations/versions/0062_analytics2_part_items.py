"""part_items: a partial covering index of the service items that are parts, by record, so the
repair analytics' parts lists read a period's part lines from the index alone (on PostgreSQL
it carries quantity, price, product, part number and description; SQLite gets the partial
index on record_id)

Revision ID: 0062_analytics2_part_items
Revises: 0062_jobs2_catalog_jobs
Create Date: 2026-12-04 02:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0062_analytics2_part_items"
down_revision = "0062_jobs2_catalog_jobs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_items_part_record",
            ["record_id"],
            unique=False,
            postgresql_include=[
                "quantity",
                "unit_price_fen",
                "product_id",
                "part_no",
                "description",
            ],
            postgresql_where=sa.text("kind = 'part'"),
            sqlite_where=sa.text("kind = 'part'"),
        )


def downgrade():
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.drop_index("ix_service_items_part_record")
