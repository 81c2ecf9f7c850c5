"""brand22_brand_rows: the brand on the rows a manufacturer's officer counts (leads, surveys,
complaints, sales orders, used cars), filled for existing rows where it can be told; and a
brand's English name unique whatever its case (brands.name_en_key)

Revision ID: 0067_brand22_brand_rows
Revises: 0067_calls18_km_passed
Create Date: 2026-12-04 12:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0067_brand22_brand_rows"
down_revision = "0067_calls18_km_passed"
branch_labels = None
depends_on = None

# table -> (index name, index columns after brand_id)
ROWS = {
    "crm_leads": ("ix_crm_leads_brand_store_created", ["store_id", "created_at"]),
    "crm_surveys": ("ix_crm_surveys_brand_store_answered", ["store_id", "answered_at"]),
    "crm_complaints": ("ix_crm_complaints_brand_store_created", ["store_id", "created_at"]),
    "crm_orders": ("ix_crm_orders_brand_store_signed", ["store_id", "signed_at"]),
    "used_car_requests": ("ix_used_car_requests_brand_store", ["store_id"]),
}


def _key(text):
    return (text or "").strip().lower()


def _brand_keys(conn):
    """Every brand's names as compared (code, Chinese, English), longest first, as the app's
    portal.services.brands matches them."""
    keys = []
    for brand_id, code, name, name_en in conn.execute(
        sa.text("SELECT id, code, name, name_en FROM brands")
    ):
        keys += [(_key(t), brand_id) for t in (code, name, name_en) if _key(t)]
    return sorted(keys, key=lambda pair: (-len(pair[0]), pair[0]))


def _fill_by_text(conn, keys, table, rows_of_text):
    """Set table.brand_id where it is unset and a text of the row starts with a brand's name.

    rows_of_text selects the ids of table's rows whose text column `said` starts with :key."""
    for key, brand_id in keys:  # the longest first: a longer name wins
        conn.execute(
            sa.text(
                f"UPDATE {table} SET brand_id = :brand WHERE brand_id IS NULL "
                f"AND id IN ({rows_of_text})"
            ),
            {"brand": brand_id, "key": key, "n": len(key)},
        )


def _starts(column):
    return f"substr(lower(trim({column})), 1, :n) = :key"


ONE_BRAND_STORES = "SELECT store_id FROM store_brands GROUP BY store_id HAVING count(*) = 1"


def _fill_by_store(conn, table):
    """Set table.brand_id where it is unset to the store's brand, for stores selling one."""
    conn.execute(
        sa.text(
            f"UPDATE {table} SET brand_id = (SELECT min(sb.brand_id) FROM store_brands sb "
            f"WHERE sb.store_id = {table}.store_id) "
            f"WHERE brand_id IS NULL AND store_id IN ({ONE_BRAND_STORES})"
        )
    )


def _fill(conn):
    keys = _brand_keys(conn)
    if not keys:
        return
    booked_car = (
        "SELECT b.id FROM bookings b JOIN vehicles v ON v.id = b.vehicle_id "
        f"WHERE {_starts('v.brand')}"
    )
    _fill_by_text(conn, keys, "used_car_requests",
                  f"SELECT id FROM used_car_requests WHERE {_starts('brand')}")  # fmt: skip
    _fill_by_text(conn, keys, "crm_orders",
                  "SELECT o.id FROM crm_orders o JOIN crm_quotes q ON q.id = o.quote_id "
                  f"WHERE {_starts('q.brand')}")  # fmt: skip
    _fill_by_store(conn, "crm_orders")
    _fill_by_text(conn, keys, "crm_leads",
                  f"SELECT id FROM crm_leads WHERE {_starts('model_interest')}")  # fmt: skip
    _fill_by_store(conn, "crm_leads")
    _fill_by_text(conn, keys, "crm_leads",
                  f"SELECT lead_id FROM crm_quotes WHERE {_starts('brand')}")  # fmt: skip
    _fill_by_text(conn, keys, "crm_surveys",
                  f"SELECT id FROM crm_surveys WHERE booking_id IN ({booked_car})")  # fmt: skip
    conn.execute(
        sa.text(
            "UPDATE crm_surveys SET brand_id = (SELECT o.brand_id FROM crm_orders o "
            "WHERE o.id = crm_surveys.sales_order_id) "
            "WHERE brand_id IS NULL AND sales_order_id IS NOT NULL"
        )
    )
    _fill_by_text(conn, keys, "crm_complaints",
                  f"SELECT id FROM crm_complaints WHERE booking_id IN ({booked_car})")  # fmt: skip
    conn.execute(
        sa.text(
            "UPDATE crm_complaints SET brand_id = (SELECT s.brand_id FROM crm_surveys s "
            "WHERE s.id = crm_complaints.survey_id) "
            "WHERE brand_id IS NULL AND survey_id IS NOT NULL"
        )
    )


def upgrade():
    conn = op.get_bind()
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en_key", sa.String(length=60), nullable=True))
    for brand_id, name_en in conn.execute(sa.text("SELECT id, name_en FROM brands")).all():
        conn.execute(
            sa.text("UPDATE brands SET name_en_key = :k WHERE id = :id"),
            {"k": _key(name_en), "id": brand_id},
        )
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.alter_column("name_en_key", existing_type=sa.String(length=60), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_brands_name_en_key"), ["name_en_key"])
    for table, (index, columns) in ROWS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_brand_id_brands"),
                "brands",
                ["brand_id"],
                ["id"],
                ondelete="SET NULL",
            )
            batch_op.create_index(index, ["brand_id", *columns], unique=False)
    _fill(conn)


def downgrade():
    for table, (index, _columns) in ROWS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_brand_id_brands"), type_="foreignkey")
            batch_op.drop_column("brand_id")
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_brands_name_en_key"), type_="unique")
        batch_op.drop_column("name_en_key")
