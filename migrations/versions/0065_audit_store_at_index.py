"""audit_events: an index on (store_id, at, id), so a store's audit log reads its newest page and
each older keyset page from the index, not by walking every store's events by time.

Revision ID: 0065_audit_store_at_index
Revises: 0066_leads17_quote_links
Create Date: 2026-12-04 07:05:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0065_audit_store_at_index"
down_revision = "0066_leads17_quote_links"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_store_at", ["store_id", "at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_store_at")
