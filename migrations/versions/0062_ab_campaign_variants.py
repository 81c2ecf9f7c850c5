"""campaign A/B tests: a campaign's share of the reached audience that gets variant B, each
message's variant (one message per campaign, channel and variant), and each member's variant
(none for the holdout)

Revision ID: 0062_ab_campaign_variants
Revises: 0061_leadjobs_import_jobs
Create Date: 2026-12-04 02:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0062_ab_campaign_variants"
down_revision = "0061_leadjobs_import_jobs"
branch_labels = None
depends_on = None

VARIANTS = "variant IN ('a', 'b')"


def upgrade():
    with op.batch_alter_table("crm_campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("variant_b_pct", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_crm_campaigns_variant_b_range"), "variant_b_pct >= 0 AND variant_b_pct <= 90"
        )
    with op.batch_alter_table("crm_campaign_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("variant", sa.String(length=1), server_default="a", nullable=False)
        )
        batch_op.drop_constraint(
            op.f("uq_crm_campaign_messages_campaign_id_channel"), type_="unique"
        )
        batch_op.create_unique_constraint(
            op.f("uq_crm_campaign_messages_campaign_id_channel_variant"),
            ["campaign_id", "channel", "variant"],
        )
        batch_op.create_check_constraint(op.f("ck_crm_campaign_messages_variant_known"), VARIANTS)
    with op.batch_alter_table("crm_campaign_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variant", sa.String(length=1), nullable=True))
        batch_op.create_check_constraint(op.f("ck_crm_campaign_members_variant_known"), VARIANTS)
    # Campaigns sent before A/B tests: everyone reached got the one text there was, variant A.
    op.execute(
        "UPDATE crm_campaign_members SET variant = 'a' WHERE holdout = "
        + ("false" if op.get_bind().dialect.name == "postgresql" else "0")
    )


def downgrade():
    op.execute("DELETE FROM crm_campaign_messages WHERE variant = 'b'")
    with op.batch_alter_table("crm_campaign_members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_campaign_members_variant_known"), type_="check")
        batch_op.drop_column("variant")
    with op.batch_alter_table("crm_campaign_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_campaign_messages_variant_known"), type_="check")
        batch_op.drop_constraint(
            op.f("uq_crm_campaign_messages_campaign_id_channel_variant"), type_="unique"
        )
        batch_op.create_unique_constraint(
            op.f("uq_crm_campaign_messages_campaign_id_channel"), ["campaign_id", "channel"]
        )
        batch_op.drop_column("variant")
    with op.batch_alter_table("crm_campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_campaigns_variant_b_range"), type_="check")
        batch_op.drop_column("variant_b_pct")
