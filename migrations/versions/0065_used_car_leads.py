"""used_car_leads: a buyer's inquiry about a listed used car is a CRM lead (source used_car)
that remembers the car; a trade-in valuation asked on the portal is a lead too (trade_in)

Revision ID: 0065_used_car_leads
Revises: 0062_rfm_customer_value
Create Date: 2026-12-04 07:20:00

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0065_used_car_leads"
down_revision = "0062_rfm_customer_value"
branch_labels = None
depends_on = None

SOURCES_OLD = (
    "source IN ('portal', 'phone', 'walk_in', 'import', 'referral', "
    "'autohome', 'dongchedi', 'yiche', 'campaign')"
)
SOURCES_NEW = (
    "source IN ('portal', 'phone', 'walk_in', 'import', 'referral', "
    "'autohome', 'dongchedi', 'yiche', 'campaign', 'used_car', 'trade_in')"
)


def upgrade():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_car_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_crm_leads_used_car_id_used_car_requests"),
            "used_car_requests",
            ["used_car_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_crm_leads_used_car_id"), ["used_car_id"], unique=False)
        batch_op.drop_constraint(op.f("ck_crm_leads_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_leads_source_known"), SOURCES_NEW)


def downgrade():
    op.execute("UPDATE crm_leads SET source = 'portal' WHERE source IN ('used_car', 'trade_in')")
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_leads_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_leads_source_known"), SOURCES_OLD)
        batch_op.drop_index(batch_op.f("ix_crm_leads_used_car_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_crm_leads_used_car_id_used_car_requests"), type_="foreignkey"
        )
        batch_op.drop_column("used_car_id")
