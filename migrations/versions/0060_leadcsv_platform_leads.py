"""platform_leads: leads imported from Autohome, Dongchedi and Yiche exports keep the
platform as their source and its lead id (unique per store, source and id), and the time
they reached us beside the platform's creation time

Revision ID: 0060_leadcsv_platform_leads
Revises: 0060_coupons_offers
Create Date: 2026-12-03 19:30:00

"""

from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0060_leadcsv_platform_leads"
down_revision = "0060_coupons_offers"
branch_labels = None
depends_on = None

SOURCES_OLD = "source IN ('portal', 'phone', 'walk_in', 'import', 'referral')"
SOURCES_NEW = (
    "source IN ('portal', 'phone', 'walk_in', 'import', 'referral', "
    "'autohome', 'dongchedi', 'yiche')"
)
PLATFORMS = "source IN ('autohome', 'dongchedi', 'yiche')"


def upgrade():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("arrived_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(op.f("ck_crm_leads_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_leads_source_known"), SOURCES_NEW)

    op.create_table(
        "crm_platform_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column(
            "submitted_at", portal.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("imported_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(PLATFORMS, name=op.f("ck_crm_platform_leads_source_known")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["crm_leads.id"], name=op.f("fk_crm_platform_leads_lead_id_crm_leads")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_crm_platform_leads_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_platform_leads")),
        sa.UniqueConstraint(
            "store_id",
            "source",
            "external_id",
            name=op.f("uq_crm_platform_leads_store_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("crm_platform_leads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_platform_leads_lead_id"), ["lead_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("crm_platform_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_platform_leads_lead_id"))
    op.drop_table("crm_platform_leads")
    op.execute("UPDATE crm_leads SET source = 'import' WHERE source IN ('autohome', 'dongchedi', 'yiche')")
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_leads_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_leads_source_known"), SOURCES_OLD)
        batch_op.drop_column("arrived_at")
