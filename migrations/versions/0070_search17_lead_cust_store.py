"""search17_lead_cust_store: each lead carries its customer's store (backfilled), kept equal
by a foreign key (customer_id, customer_store_id) -> users (id, store_id) ON UPDATE CASCADE, and
a partial index holds the leads whose customer is not the store's own: the customer search by a
short name reads those instead of every lead of the store

Revision ID: 0070_search17_lead_cust_store
Revises: 0070_lists21_booking_brands
Create Date: 2026-12-04 18:45:00

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0070_search17_lead_cust_store"
down_revision = "0070_lists21_booking_brands"
branch_labels = None
depends_on = None

ELSEWHERE = "customer_store_id IS NULL OR customer_store_id <> store_id"


def upgrade():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_store_id", sa.Integer(), nullable=True))
    # One set-based statement over every lead (2M in the group dataset), before the index and
    # the foreign key exist, so neither is maintained row by row.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE crm_leads SET customer_store_id = users.store_id FROM users "
            "WHERE users.id = crm_leads.customer_id AND users.store_id IS NOT NULL"
        )
    else:
        op.execute(
            "UPDATE crm_leads SET customer_store_id = "
            "(SELECT users.store_id FROM users WHERE users.id = crm_leads.customer_id)"
        )
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_crm_leads_customer_store",
            "users",
            ["customer_id", "customer_store_id"],
            ["id", "store_id"],
            onupdate="CASCADE",
        )
        batch_op.create_index(
            "ix_crm_leads_store_visitors",
            ["store_id", "customer_id"],
            unique=False,
            sqlite_where=sa.text(ELSEWHERE),
            postgresql_where=sa.text(ELSEWHERE),
        )


def downgrade():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_leads_store_visitors")
        batch_op.drop_constraint("fk_crm_leads_customer_store", type_="foreignkey")
        batch_op.drop_column("customer_store_id")
