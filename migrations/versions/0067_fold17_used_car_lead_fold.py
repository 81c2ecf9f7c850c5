"""fold17_used_car_lead_fold: earlier buyers' inquiries remember when they were folded into
the CRM, the lead they became or joined, or why they could not be

Revision ID: 0067_fold17_used_car_lead_fold
Revises: 0067_search17_users_store_name
Create Date: 2026-12-04 12:45:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0067_fold17_used_car_lead_fold"
down_revision = "0067_search17_users_store_name"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("used_car_leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("folded_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("fold_note", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_used_car_leads_lead_id_crm_leads"),
            "crm_leads",
            ["lead_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_used_car_leads_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            "ix_used_car_leads_unfolded",
            ["id"],
            unique=False,
            sqlite_where=sa.text("folded_at IS NULL"),
            postgresql_where=sa.text("folded_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("used_car_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_used_car_leads_unfolded")
        batch_op.drop_index(batch_op.f("ix_used_car_leads_lead_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_used_car_leads_lead_id_crm_leads"), type_="foreignkey"
        )
        batch_op.drop_column("fold_note")
        batch_op.drop_column("lead_id")
        batch_op.drop_column("folded_at")
