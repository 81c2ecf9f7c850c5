"""dash22_leads_created: the leads of a period across every store, by created_at, with the
store, first contact and arrival beside it (INCLUDE, PostgreSQL): the group comparison
dashboard counted today's leads and took the period's median time to first contact with a
sequential scan of every lead (1M customers, 2M leads: 150 ms and 370 ms of a 600 ms page)

Revision ID: 0070_dash22_leads_created
Revises: 0069_clip19_item_clips
Create Date: 2026-12-04 19:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0070_dash22_leads_created"
down_revision = "0069_clip19_item_clips"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_leads_created",
            ["created_at"],
            unique=False,
            postgresql_include=["store_id", "first_contact_at", "arrived_at", "brand_id"],
        )


def downgrade():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_leads_created")
