"""brand22_brands: car brands, the brands each store sells, and manufacturer officers (a
brand's DMS officer, who compares the stores selling their brand)

Revision ID: 0065_brand22_brands
Revises: 0065_rollups_store_daily_stats
Create Date: 2026-12-04 07:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0065_brand22_brands"
down_revision = "0065_rollups_store_daily_stats"
branch_labels = None
depends_on = None

ROLES_OLD = (
    "role IN ('owner', 'advisor', 'manager', 'admin', 'agent', 'hq', 'region', 'technician')"
)
ROLES_NEW = (
    "role IN ('owner', 'advisor', 'manager', 'admin', 'agent', 'hq', 'region', "
    "'technician', 'manufacturer')"
)
STORE_OLD = "role IN ('owner', 'admin', 'hq', 'region') OR store_id IS NOT NULL"
STORE_NEW = "role IN ('owner', 'admin', 'hq', 'region', 'manufacturer') OR store_id IS NOT NULL"
STORELESS_OLD = "role NOT IN ('hq', 'region') OR store_id IS NULL"
STORELESS_NEW = "role NOT IN ('hq', 'region', 'manufacturer') OR store_id IS NULL"


def _user_checks(roles: str, store: str, storeless: str) -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role_known"), roles)
        batch_op.drop_constraint(op.f("ck_users_staff_has_store"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_staff_has_store"), store)
        batch_op.drop_constraint(op.f("ck_users_group_role_storeless"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_group_role_storeless"), storeless)


def upgrade():
    op.create_table(
        "brands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.CheckConstraint("length(trim(code)) > 0", name=op.f("ck_brands_code_given")),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_brands_name_given")),
        sa.CheckConstraint("length(trim(name_en)) > 0", name=op.f("ck_brands_name_en_given")),
        sa.CheckConstraint("code = upper(code)", name=op.f("ck_brands_code_upper")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brands")),
        sa.UniqueConstraint("code", name=op.f("uq_brands_code")),
        sa.UniqueConstraint("name", name=op.f("uq_brands_name")),
        sa.UniqueConstraint("name_en", name=op.f("uq_brands_name_en")),
    )
    op.create_table(
        "store_brands",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_store_brands_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_brands_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "brand_id", name=op.f("pk_store_brands")),
    )
    op.create_index(
        "ix_store_brands_brand_store", "store_brands", ["brand_id", "store_id"], unique=False
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_brand_id"), ["brand_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_brand_id_brands"), "brands", ["brand_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_users_brand_of_manufacturer"),
            "(role = 'manufacturer') = (brand_id IS NOT NULL)",
        )
    _user_checks(ROLES_NEW, STORE_NEW, STORELESS_NEW)


def downgrade():
    op.execute("DELETE FROM users WHERE role = 'manufacturer'")  # no place for them before
    _user_checks(ROLES_OLD, STORE_OLD, STORELESS_OLD)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_brand_of_manufacturer"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_users_brand_id_brands"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_brand_id"))
        batch_op.drop_column("brand_id")
    op.drop_index("ix_store_brands_brand_store", table_name="store_brands")
    op.drop_table("store_brands")
    op.drop_table("brands")
