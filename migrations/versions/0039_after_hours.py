"""after_hours: per-store closed weekdays and the first-contact target in minutes, so a lead
that arrives while the store is closed is due at the next opening

Revision ID: 0039_after_hours
Revises: 0033_showroom_handoff
Create Date: 2026-12-03 13:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0039_after_hours'
down_revision = '0038_pickup_holds'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('closed_weekdays', sa.String(length=7), server_default='', nullable=False)
        )
        batch_op.add_column(
            sa.Column('first_contact_minutes', sa.Integer(), server_default='5', nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_stores_first_contact_minutes_range'),
            'first_contact_minutes BETWEEN 1 AND 240',
        )


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stores_first_contact_minutes_range'), type_='check')
        batch_op.drop_column('first_contact_minutes')
        batch_op.drop_column('closed_weekdays')
