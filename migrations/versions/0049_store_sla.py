"""store_sla: each store's complaint deadlines per severity (acknowledge within hours,
resolve within days); a store without rows keeps the group's defaults

Revision ID: 0049_store_sla
Revises: 0047_delivery_surveys
Create Date: 2026-12-03 16:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0049_store_sla'
down_revision = '0047_delivery_surveys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'crm_complaint_slas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('severity', sa.String(length=8), nullable=False),
        sa.Column('ack_hours', sa.Integer(), nullable=False),
        sa.Column('resolve_days', sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high')",
            name=op.f('ck_crm_complaint_slas_severity_known'),
        ),
        sa.CheckConstraint(
            'ack_hours BETWEEN 1 AND 168', name=op.f('ck_crm_complaint_slas_ack_hours_range')
        ),
        sa.CheckConstraint(
            'resolve_days BETWEEN 1 AND 60',
            name=op.f('ck_crm_complaint_slas_resolve_days_range'),
        ),
        sa.CheckConstraint(
            'ack_hours <= resolve_days * 24',
            name=op.f('ck_crm_complaint_slas_ack_before_resolve'),
        ),
        sa.ForeignKeyConstraint(
            ['store_id'], ['stores.id'], name=op.f('fk_crm_complaint_slas_store_id_stores')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_complaint_slas')),
        sa.UniqueConstraint(
            'store_id', 'severity', name=op.f('uq_crm_complaint_slas_store_id_severity')
        ),
    )


def downgrade():
    op.drop_table('crm_complaint_slas')
