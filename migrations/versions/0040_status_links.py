"""status_links: the time the advisor promised the car back, shown on the repair status link

Revision ID: 0040_status_links
Revises: 0046_bilingual_catalogue
Create Date: 2026-12-03 16:10:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base


# revision identifiers, used by Alembic.
revision = '0040_status_links'
down_revision = '0046_bilingual_catalogue'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promised_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('promised_at')
