"""group_roles: headquarters and regional managers, who compare stores' figures; regions

Revision ID: 0045_group_roles
Revises: 0043_export_lists
Create Date: 2026-12-03 16:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0045_group_roles"
down_revision = "0043_export_lists"
branch_labels = None
depends_on = None

ROLES_NEW = "role IN ('owner', 'advisor', 'manager', 'admin', 'agent', 'hq', 'region')"
ROLES_OLD = "role IN ('owner', 'advisor', 'manager', 'admin', 'agent')"
STORE_NEW = "role IN ('owner', 'admin', 'hq', 'region') OR store_id IS NOT NULL"
STORE_OLD = "role IN ('owner', 'admin') OR store_id IS NOT NULL"


def upgrade():
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("name", name=op.f("uq_regions_name")),
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_stores_region_id"), ["region_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_stores_region_id_regions"), "regions", ["region_id"], ["id"]
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_region_id"), ["region_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_region_id_regions"), "regions", ["region_id"], ["id"]
        )
        batch_op.drop_constraint(op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role_known"), ROLES_NEW)
        batch_op.drop_constraint(op.f("ck_users_staff_has_store"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_staff_has_store"), STORE_NEW)
        batch_op.create_check_constraint(
            op.f("ck_users_group_role_storeless"),
            "role NOT IN ('hq', 'region') OR store_id IS NULL",
        )
        batch_op.create_check_constraint(
            op.f("ck_users_region_of_region"), "(role = 'region') = (region_id IS NOT NULL)"
        )


def downgrade():
    op.execute("DELETE FROM users WHERE role IN ('hq', 'region')")  # no place for them before
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_region_of_region"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_group_role_storeless"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_staff_has_store"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_staff_has_store"), STORE_OLD)
        batch_op.drop_constraint(op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role_known"), ROLES_OLD)
        batch_op.drop_constraint(batch_op.f("fk_users_region_id_regions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_region_id"))
        batch_op.drop_column("region_id")

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_stores_region_id_regions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_stores_region_id"))
        batch_op.drop_column("region_id")
    op.drop_table("regions")
