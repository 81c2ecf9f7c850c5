"""lifecycle_marks: how far each lifecycle rule has looked at each store (no gaps after downtime)

Revision ID: 0060_lifecycle_marks
Revises: 0060_leadcsv_platform_leads
Create Date: 2026-12-03 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0060_lifecycle_marks'
down_revision = '0060_leadcsv_platform_leads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_lifecycle_marks',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=24), nullable=False),
    sa.Column('covered_through', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_crm_lifecycle_marks_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'rule', name=op.f('pk_crm_lifecycle_marks'))
    )


def downgrade():
    op.drop_table('crm_lifecycle_marks')
