"""staff_jobs: a booking's source (the owner's app, a phone call or a walk-in), so bookings
that staff enter for customers are told apart in the queue, the board and the analytics

Revision ID: 0041_staff_jobs
Revises: 0040_status_links
Create Date: 2026-12-03 16:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0041_staff_jobs'
down_revision = '0040_status_links'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('source', sa.String(length=8), server_default='app', nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_bookings_source_known'), "source IN ('app', 'phone', 'walk_in')"
        )


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bookings_source_known'), type_='check')
        batch_op.drop_column('source')
