"""export_lists: an export of any back-office list remembers the list (kind up to 40
characters, "list:<endpoint>") and the search, filters and order it showed

Revision ID: 0043_export_lists
Revises: 0042_customer_profile
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0043_export_lists'
down_revision = '0042_customer_profile'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.alter_column(
            'kind', existing_type=sa.String(length=20), type_=sa.String(length=40),
            existing_nullable=False,
        )
        batch_op.add_column(
            sa.Column('list_args', sa.String(length=2000), server_default='', nullable=False)
        )


def downgrade():
    op.execute("DELETE FROM export_jobs WHERE kind LIKE 'list:%'")
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_column('list_args')
        batch_op.alter_column(
            'kind', existing_type=sa.String(length=40), type_=sa.String(length=20),
            existing_nullable=False,
        )
