"""showroom handoff: invitations, check-in, no-shows, call logs

Revision ID: 0033_showroom_handoff
Revises: 0022_admin_speed
Create Date: 2026-12-03 11:56:01.706028

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base


# revision identifiers, used by Alembic.
revision = '0033_showroom_handoff'
down_revision = '0029_complaints'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_call_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_crm_call_logs_actor_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_crm_call_logs_store_id_stores')),
    sa.ForeignKeyConstraint(['task_id'], ['crm_tasks.id'], name=op.f('fk_crm_call_logs_task_id_crm_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_call_logs'))
    )
    with op.batch_alter_table('crm_call_logs', schema=None) as batch_op:
        batch_op.create_index('ix_crm_call_logs_actor_at', ['actor_id', 'at'], unique=False)
        batch_op.create_index('ix_crm_call_logs_store_at', ['store_id', 'at'], unique=False)

    op.create_table('crm_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('advisor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('starts_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('arrived_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.Column('missed_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recovery_task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('visit', 'test_drive')", name=op.f('ck_crm_invitations_kind_known')),
    sa.CheckConstraint("status <> 'arrived' OR arrived_at IS NOT NULL", name=op.f('ck_crm_invitations_arrival_timed')),
    sa.CheckConstraint("status IN ('invited', 'arrived', 'no_show', 'cancelled')", name=op.f('ck_crm_invitations_status_known')),
    sa.ForeignKeyConstraint(['advisor_id'], ['users.id'], name=op.f('fk_crm_invitations_advisor_id_users')),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_crm_invitations_agent_id_users')),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['users.id'], name=op.f('fk_crm_invitations_checked_in_by_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_crm_invitations_customer_id_users')),
    sa.ForeignKeyConstraint(['lead_id'], ['crm_leads.id'], name=op.f('fk_crm_invitations_lead_id_crm_leads')),
    sa.ForeignKeyConstraint(['recovery_task_id'], ['crm_tasks.id'], name=op.f('fk_crm_invitations_recovery_task_id_crm_tasks')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_crm_invitations_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_invitations'))
    )
    with op.batch_alter_table('crm_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_crm_invitations_advisor_starts', ['advisor_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_crm_invitations_agent_starts', ['agent_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_crm_invitations_status_starts', ['status', 'starts_at'], unique=False)
        batch_op.create_index('ix_crm_invitations_store_starts', ['store_id', 'starts_at'], unique=False)
        batch_op.create_index('uq_crm_invitations_live_lead', ['lead_id'], unique=True, sqlite_where=sa.text("status = 'invited'"), postgresql_where=sa.text("status = 'invited'"))



def downgrade():
    with op.batch_alter_table('crm_invitations', schema=None) as batch_op:
        batch_op.drop_index('uq_crm_invitations_live_lead', sqlite_where=sa.text("status = 'invited'"), postgresql_where=sa.text("status = 'invited'"))
        batch_op.drop_index('ix_crm_invitations_store_starts')
        batch_op.drop_index('ix_crm_invitations_status_starts')
        batch_op.drop_index('ix_crm_invitations_agent_starts')
        batch_op.drop_index('ix_crm_invitations_advisor_starts')

    op.drop_table('crm_invitations')
    with op.batch_alter_table('crm_call_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_call_logs_store_at')
        batch_op.drop_index('ix_crm_call_logs_actor_at')

    op.drop_table('crm_call_logs')
