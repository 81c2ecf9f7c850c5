"""tech_job_cards: technicians, their assignment to jobs, job cards' labour and parts lines,
and the service items' technician and product

Revision ID: 0060_tech_job_cards
Revises: 0060_lifecycle_marks
Create Date: 2026-12-03 19:20:00

"""

import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0060_tech_job_cards"
down_revision = '0060_lifecycle_marks'
branch_labels = None
depends_on = None

ROLES_OLD = "role IN ('owner', 'advisor', 'manager', 'admin', 'agent', 'hq', 'region')"
ROLES_NEW = (
    "role IN ('owner', 'advisor', 'manager', 'admin', 'agent', 'hq', 'region', 'technician')"
)


def _roles(check: str) -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role_known"), check)


def upgrade():
    _roles(ROLES_NEW)
    op.create_table(
        "booking_technicians",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_technicians_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["users.id"], name=op.f("fk_booking_technicians_technician_id_users")
        ),
        sa.PrimaryKeyConstraint("booking_id", "technician_id", name=op.f("pk_booking_technicians")),
    )
    op.create_index(
        "ix_booking_technicians_technician",
        "booking_technicians",
        ["technician_id", "booking_id"],
        unique=False,
    )
    op.create_table(
        "job_labour_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=200), nullable=False),
        sa.Column("hours_tenths", sa.Integer(), nullable=False),
        sa.Column("rate_fen", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "hours_tenths BETWEEN 1 AND 999", name=op.f("ck_job_labour_lines_hours_range")
        ),
        sa.CheckConstraint("rate_fen >= 0", name=op.f("ck_job_labour_lines_rate_nonnegative")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_job_labour_lines_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["users.id"], name=op.f("fk_job_labour_lines_technician_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_labour_lines")),
    )
    op.create_index(op.f("ix_job_labour_lines_booking_id"), "job_labour_lines", ["booking_id"])
    op.create_index(
        op.f("ix_job_labour_lines_technician_id"), "job_labour_lines", ["technician_id"]
    )
    op.create_table(
        "job_part_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("part_no", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_job_part_lines_quantity_positive")),
        sa.CheckConstraint("unit_price_fen >= 0", name=op.f("ck_job_part_lines_price_nonnegative")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_job_part_lines_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["shop_products.id"],
            name=op.f("fk_job_part_lines_product_id_shop_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_part_lines")),
    )
    op.create_index(op.f("ix_job_part_lines_booking_id"), "job_part_lines", ["booking_id"])
    op.create_index(op.f("ix_job_part_lines_product_id"), "job_part_lines", ["product_id"])
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("technician_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_service_items_technician_id"), ["technician_id"])
        batch_op.create_index(batch_op.f("ix_service_items_product_id"), ["product_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_service_items_technician_id_users"), "users", ["technician_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_service_items_product_id_shop_products"),
            "shop_products",
            ["product_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_service_items_product_id_shop_products"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_service_items_technician_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_service_items_product_id"))
        batch_op.drop_index(batch_op.f("ix_service_items_technician_id"))
        batch_op.drop_column("product_id")
        batch_op.drop_column("technician_id")
    op.drop_table("job_part_lines")
    op.drop_table("job_labour_lines")
    op.drop_table("booking_technicians")
    # Technicians' accounts end with the role: deactivated advisors, so history keeps its people.
    op.execute("UPDATE users SET role = 'advisor', is_active = false WHERE role = 'technician'")
    _roles(ROLES_OLD)
