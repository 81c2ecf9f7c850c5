"""call_centre: typed tasks from rules (once per cause), approvals, the agent role, screen pops

Revision ID: 0023_call_centre
Revises: 0025_api
Create Date: 2026-12-03 08:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = '0023_call_centre'
down_revision = '0025_api'
branch_labels = None
depends_on = None

KINDS = ("'first_contact', 'follow_up', 'appointment_confirm', 'post_service', 'renewal', "
         "'maintenance_due', 'complaint_callback', 'no_show'")
OUTCOMES = "'reached', 'no_answer', 'call_back', 'appointment', 'not_interested', 'cleared'"
ROLES_NEW = "role IN ('owner', 'advisor', 'manager', 'admin', 'agent')"
ROLES_OLD = "role IN ('owner', 'advisor', 'manager', 'admin')"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role_known'), ROLES_NEW)

    with op.batch_alter_table('crm_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default=sa.text('2'), nullable=False))
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='open', nullable=False))
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('overdue_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_task_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rule', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('cause', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('ask', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('ask_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('asked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))

    # Existing first-contact tasks: their lead's customer, and done when they were done.
    op.execute(
        "UPDATE crm_tasks SET customer_id = "
        "(SELECT customer_id FROM crm_leads WHERE crm_leads.id = crm_tasks.lead_id)"
    )
    op.execute("UPDATE crm_tasks SET status = 'done', outcome = 'reached' WHERE done_at IS NOT NULL")

    with op.batch_alter_table('crm_tasks', schema=None) as batch_op:
        batch_op.alter_column('customer_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('lead_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_crm_tasks_customer_id_users'), 'users', ['customer_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_crm_tasks_next_task_id_crm_tasks'), 'crm_tasks', ['next_task_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_crm_tasks_asked_by_id_users'), 'users', ['asked_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_crm_tasks_decided_by_id_users'), 'users', ['decided_by_id'], ['id'])
        batch_op.create_unique_constraint('uq_crm_tasks_rule_cause', ['rule', 'cause'])
        batch_op.create_check_constraint(op.f('ck_crm_tasks_kind_known'), f"kind IN ({KINDS})")
        batch_op.create_check_constraint(
            op.f('ck_crm_tasks_status_known'), "status IN ('open', 'awaiting', 'done', 'cancelled')"
        )
        batch_op.create_check_constraint(
            op.f('ck_crm_tasks_outcome_known'), f"outcome IS NULL OR outcome IN ({OUTCOMES})"
        )
        batch_op.create_check_constraint(op.f('ck_crm_tasks_priority_range'), "priority BETWEEN 1 AND 3")
        batch_op.create_check_constraint(op.f('ck_crm_tasks_attempts_nonnegative'), "attempts >= 0")
        batch_op.create_index(batch_op.f('ix_crm_tasks_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_crm_tasks_store_status_due', ['store_id', 'status', 'due_at'], unique=False)

    op.create_table('crm_task_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=24), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('days BETWEEN 1 AND 365', name=op.f('ck_crm_task_rules_days_range')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_crm_task_rules_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_task_rules')),
    sa.UniqueConstraint('store_id', 'rule', name='uq_crm_task_rules_store_rule')
    )
    op.create_table('crm_screen_pops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_crm_screen_pops_agent_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_screen_pops'))
    )
    with op.batch_alter_table('crm_screen_pops', schema=None) as batch_op:
        batch_op.create_index('ix_crm_screen_pops_agent_id', ['agent_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('crm_screen_pops', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_screen_pops_agent_id')
    op.drop_table('crm_screen_pops')
    op.drop_table('crm_task_rules')
    op.execute("DELETE FROM crm_tasks WHERE lead_id IS NULL")
    with op.batch_alter_table('crm_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_tasks_store_status_due')
        batch_op.drop_index(batch_op.f('ix_crm_tasks_customer_id'))
        batch_op.drop_constraint(op.f('ck_crm_tasks_attempts_nonnegative'), type_='check')
        batch_op.drop_constraint(op.f('ck_crm_tasks_priority_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_crm_tasks_outcome_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_crm_tasks_status_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_crm_tasks_kind_known'), type_='check')
        batch_op.drop_constraint('uq_crm_tasks_rule_cause', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_crm_tasks_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_crm_tasks_asked_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_crm_tasks_next_task_id_crm_tasks'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_crm_tasks_customer_id_users'), type_='foreignkey')
        batch_op.alter_column('lead_id', existing_type=sa.Integer(), nullable=False)
        for column in ('decided_at', 'decided_by_id', 'asked_by_id', 'ask_reason', 'ask', 'cause',
                       'rule', 'next_task_id', 'overdue_at', 'attempts', 'note', 'outcome',
                       'status', 'priority', 'customer_id'):
            batch_op.drop_column(column)

    op.execute("DELETE FROM users WHERE role = 'agent'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role_known'), ROLES_OLD)
