"""routing_language: a routing rule can send the leads of customers who speak a language
(Chinese or English) to an advisor who speaks it

Revision ID: 0050_routing_language
Revises: 0049_store_sla
Create Date: 2026-12-03 17:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0050_routing_language'
down_revision = '0049_store_sla'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crm_routing_rules', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('language', sa.String(length=10), server_default='', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('crm_routing_rules', schema=None) as batch_op:
        batch_op.drop_column('language')
