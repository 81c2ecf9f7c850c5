"""search17_users_store_name: the store-and-name index on users also holds the role and the
id, so the customer search reads a store's names without visiting the table

Revision ID: 0067_search17_users_store_name
Revises: 0065_brand22_brands
Create Date: 2026-12-04 12:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0067_search17_users_store_name"
down_revision = "0065_brand22_brands"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_users_store_name", table_name="users")
    op.create_index("ix_users_store_name", "users", ["store_id", "name", "role", "id"])


def downgrade():
    op.drop_index("ix_users_store_name", table_name="users")
    op.create_index("ix_users_store_name", "users", ["store_id", "name"])
