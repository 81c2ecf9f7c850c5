"""lists21b_quote_store_status: one index for the quotes awaiting a manager's decision in a
store, oldest first (crm_quotes.store_id, status, id): the quotes page's first list read every
quote of the store's history to find the few waiting (EXPLAIN on PostgreSQL: a bitmap scan of
the store's quotes, filtered by status, then sorted)

Revision ID: 0069_lists21b_quote_store_status
Revises: 0069_tech19_inspection_finished
Create Date: 2026-12-04 15:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0069_lists21b_quote_store_status"
down_revision = "0069_tech19_inspection_finished"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("crm_quotes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_quotes_store_status_id", ["store_id", "status", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("crm_quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_quotes_store_status_id")
