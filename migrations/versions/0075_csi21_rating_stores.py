"""csi21_rating_stores: a rating keeps its booking's store (ratings.store_id, filled for the
existing ratings from their bookings) with an index of a store's ratings by time (advisor and
stars included on PostgreSQL). A store manager's CSI page found the store's ratings of the last
year by hashing every booking of the store (400k at the 1M group's largest store: 420 ms)

Revision ID: 0075_csi21_rating_stores
Revises: 0074_reviewed21_sort_indexes
Create Date: 2026-12-04 20:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0075_csi21_rating_stores"
down_revision = "0074_reviewed21_sort_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ratings_store_id_stores"), "stores", ["store_id"], ["id"]
        )
    op.execute(
        "UPDATE ratings SET store_id = "
        "(SELECT bookings.store_id FROM bookings WHERE bookings.id = ratings.booking_id)"
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ratings_store_created",
            ["store_id", "created_at"],
            unique=False,
            postgresql_include=["advisor_id", "service_stars", "advisor_stars"],
        )


def downgrade():
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_store_created")
        batch_op.drop_constraint(batch_op.f("fk_ratings_store_id_stores"), type_="foreignkey")
        batch_op.drop_column("store_id")
