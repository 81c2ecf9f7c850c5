"""campaign_responses: a campaign send remembers its first click; the responses of recipients
(details left on the offer page, SMS replies, TD, bookings after a click) with the lead each
became; "campaign" is a lead source

Revision ID: 0061_responders_responses
Revises: 0060_alipay_payment_methods
Create Date: 2026-12-03 22:40:00

"""

from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0061_responders_responses"
down_revision = "0061_catalog_scheduled_prices"
branch_labels = None
depends_on = None

SOURCES_OLD = (
    "source IN ('portal', 'phone', 'walk_in', 'import', 'referral', "
    "'autohome', 'dongchedi', 'yiche')"
)
SOURCES_NEW = (
    "source IN ('portal', 'phone', 'walk_in', 'import', 'referral', "
    "'autohome', 'dongchedi', 'yiche', 'campaign')"
)
KINDS = "kind IN ('details', 'reply', 'booking', 'unsubscribe')"


def upgrade():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_leads_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_leads_source_known"), SOURCES_NEW)
    with op.batch_alter_table("crm_campaign_sends", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clicked_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "crm_campaign_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("inbound_key", sa.String(length=80), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f("ck_crm_campaign_responses_kind_known")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["crm_campaigns.id"],
            name=op.f("fk_crm_campaign_responses_campaign_id_crm_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_crm_campaign_responses_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["crm_campaign_sends.id"],
            name=op.f("fk_crm_campaign_responses_send_id_crm_campaign_sends"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["crm_leads.id"], name=op.f("fk_crm_campaign_responses_lead_id_crm_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_campaign_responses")),
        sa.UniqueConstraint("inbound_key", name=op.f("uq_crm_campaign_responses_inbound_key")),
    )
    with op.batch_alter_table("crm_campaign_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_campaign_responses_campaign_kind", ["campaign_id", "kind"], unique=False
        )
        batch_op.create_index(
            "ix_crm_campaign_responses_customer", ["customer_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("crm_campaign_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_campaign_responses_customer")
        batch_op.drop_index("ix_crm_campaign_responses_campaign_kind")
    op.drop_table("crm_campaign_responses")
    with op.batch_alter_table("crm_campaign_sends", schema=None) as batch_op:
        batch_op.drop_column("clicked_at")
    op.execute("UPDATE crm_leads SET source = 'portal' WHERE source = 'campaign'")
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_leads_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_leads_source_known"), SOURCES_OLD)
