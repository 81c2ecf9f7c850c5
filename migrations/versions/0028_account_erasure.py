"""account_erasure: when an owner asked to delete their account (PIPL), erased after a grace period

Revision ID: 0028_account_erasure
Revises: 0021_rescue_line
Create Date: 2026-12-03 08:20:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = '0028_account_erasure'
down_revision = '0021_rescue_line'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erasure_requested_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_users_erasure_requested_at'), ['erasure_requested_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_erasure_requested_at'))
        batch_op.drop_column('erasure_requested_at')
