"""delivery_surveys: a CSI survey belongs to a workshop job or to a new-car delivery; survey
questions per kind; a complaint category for deliveries

Revision ID: 0047_delivery_surveys
Revises: 0045_group_roles
Create Date: 2026-12-03 16:50:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0047_delivery_surveys"
down_revision = "0045_group_roles"
branch_labels = None
depends_on = None

CATEGORIES_NEW = (
    "category IN ('quality', 'price', 'waiting', 'attitude', 'parts', 'delivery', 'other')"
)
CATEGORIES_OLD = "category IN ('quality', 'price', 'waiting', 'attitude', 'parts', 'other')"
ONE_SUBJECT = (
    "(kind = 'service' AND booking_id IS NOT NULL AND sales_order_id IS NULL)"
    " OR (kind = 'delivery' AND sales_order_id IS NOT NULL AND booking_id IS NULL)"
)
KINDS = "kind IN ('service', 'delivery')"


def upgrade():
    with op.batch_alter_table("crm_surveys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="service", nullable=False)
        )
        batch_op.add_column(sa.Column("sales_order_id", sa.Integer(), nullable=True))
        batch_op.alter_column("booking_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_crm_surveys_sales_order_id"), ["sales_order_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_crm_surveys_sales_order_id_crm_orders"),
            "crm_orders",
            ["sales_order_id"],
            ["id"],
        )
        batch_op.create_check_constraint(op.f("ck_crm_surveys_kind_known"), KINDS)
        batch_op.create_check_constraint(op.f("ck_crm_surveys_one_subject"), ONE_SUBJECT)

    with op.batch_alter_table("crm_survey_questions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="service", nullable=False)
        )
        batch_op.create_check_constraint(op.f("ck_crm_survey_questions_kind_known"), KINDS)

    with op.batch_alter_table("crm_complaints", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_complaints_category_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_complaints_category_known"), CATEGORIES_NEW)


def downgrade():
    op.execute("UPDATE crm_complaints SET category = 'other' WHERE category = 'delivery'")
    op.execute(
        "UPDATE crm_complaints SET survey_id = NULL WHERE survey_id IN"
        " (SELECT id FROM crm_surveys WHERE kind = 'delivery')"
    )
    op.execute("DELETE FROM crm_surveys WHERE kind = 'delivery'")  # no place for them before
    op.execute("DELETE FROM crm_survey_questions WHERE kind = 'delivery'")
    with op.batch_alter_table("crm_complaints", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_complaints_category_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_complaints_category_known"), CATEGORIES_OLD)

    with op.batch_alter_table("crm_survey_questions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_survey_questions_kind_known"), type_="check")
        batch_op.drop_column("kind")

    with op.batch_alter_table("crm_surveys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_surveys_one_subject"), type_="check")
        batch_op.drop_constraint(op.f("ck_crm_surveys_kind_known"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_crm_surveys_sales_order_id_crm_orders"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_crm_surveys_sales_order_id"), type_="unique")
        batch_op.alter_column("booking_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("sales_order_id")
        batch_op.drop_column("kind")
