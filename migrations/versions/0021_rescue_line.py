"""rescue_line: the store's 24-hour roadside rescue line, called from the SOS page in one tap

Revision ID: 0021_rescue_line
Revises: 0013_image_access
Create Date: 2026-12-03 05:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_rescue_line'
down_revision = '0020_crm'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('rescue_phone', sa.String(length=32), server_default='', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('rescue_phone')
