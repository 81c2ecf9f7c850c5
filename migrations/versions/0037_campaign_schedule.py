"""campaign schedule: a draft campaign's send_at, started by the worker

Revision ID: 0037_campaign_schedule
Revises: 0033_showroom_handoff
Create Date: 2026-12-03 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base


# revision identifiers, used by Alembic.
revision = '0037_campaign_schedule'
down_revision = '0033_showroom_handoff'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crm_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_crm_campaigns_status_send_at', ['status', 'send_at'], unique=False)


def downgrade():
    with op.batch_alter_table('crm_campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_campaigns_status_send_at')
        batch_op.drop_column('send_at')
