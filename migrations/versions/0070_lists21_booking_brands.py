"""lists21_booking_brands: a booking keeps its car's brand (bookings.brand_id), set when it is
made, so a manufacturer's officer counts their brand's bookings on a column instead of
matching each car's make text on every read; filled for existing bookings from their cars'
makes, as portal.services.brands reads them

Revision ID: 0070_lists21_booking_brands
Revises: 0072_crawla_tasks_ratings_idx
Create Date: 2026-12-04 19:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0070_lists21_booking_brands"
down_revision = "0072_crawla_tasks_ratings_idx"
branch_labels = None
depends_on = None


def _key(text):
    return (text or "").strip().lower()


def _brand_keys(conn):
    """Every brand's names as compared (code, Chinese, English), longest first."""
    keys = []
    for brand_id, code, name, name_en in conn.execute(
        sa.text("SELECT id, code, name, name_en FROM brands")
    ):
        keys += [(_key(t), brand_id) for t in (code, name, name_en) if _key(t)]
    return sorted(keys, key=lambda pair: (-len(pair[0]), pair[0]))


def _make_brands(conn):
    """Return {make as the database compares it: brand id} for every make entered on a car
    that starts with a brand's name (the longest name wins). The makes are few: they are
    matched here, and the bookings are updated by one statement."""
    keys = _brand_keys(conn)
    if not keys:
        return {}
    found = {}
    makes = conn.execute(sa.text("SELECT DISTINCT lower(trim(brand)) FROM vehicles"))
    for (make,) in makes:
        said = _key(make)
        brand_id = next((b for key, b in keys if said.startswith(key)), None)
        if make is not None and brand_id is not None:
            found[make] = brand_id
    return found


BOOKINGS = sa.table("bookings", sa.column("vehicle_id"), sa.column("brand_id"))
VEHICLES = sa.table("vehicles", sa.column("id"), sa.column("brand"))


def _fill(conn):
    """Set each booking's brand from its car's make, in one UPDATE over the bookings."""
    found = _make_brands(conn)
    if not found:
        return
    make = sa.func.lower(sa.func.trim(VEHICLES.c.brand))
    brand = sa.select(sa.case(found, value=make)).where(VEHICLES.c.id == BOOKINGS.c.vehicle_id)
    branded = sa.select(VEHICLES.c.id).where(make.in_(sorted(found)))
    conn.execute(
        BOOKINGS.update()
        .where(BOOKINGS.c.brand_id.is_(None), BOOKINGS.c.vehicle_id.in_(branded))
        .values(brand_id=brand.scalar_subquery())
    )


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_brand_id_brands"),
            "brands",
            ["brand_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _fill(op.get_bind())
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bookings_brand_store_created", ["brand_id", "store_id", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_brand_store_created")
        batch_op.drop_constraint(batch_op.f("fk_bookings_brand_id_brands"), type_="foreignkey")
        batch_op.drop_column("brand_id")
