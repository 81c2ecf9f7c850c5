"""crm: customer merges, duty roster, routing rules, first-contact escalations

Revision ID: 0032_customer_merge
Revises: 0022_admin_speed
Create Date: 2026-12-03 12:10:00

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base


# revision identifiers, used by Alembic.
revision = '0032_customer_merge'
down_revision = '0030_vehicle_store'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_customer_merges',
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.CheckConstraint('merged_id <> survivor_id', name=op.f('ck_crm_customer_merges_not_itself')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_crm_customer_merges_actor_id_users')),
    sa.ForeignKeyConstraint(['merged_id'], ['users.id'], name=op.f('fk_crm_customer_merges_merged_id_users')),
    sa.ForeignKeyConstraint(['survivor_id'], ['users.id'], name=op.f('fk_crm_customer_merges_survivor_id_users')),
    sa.PrimaryKeyConstraint('merged_id', name=op.f('pk_crm_customer_merges'))
    )
    with op.batch_alter_table('crm_customer_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_customer_merges_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('crm_duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('advisor_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_crm_duty_shifts_weekday_range')),
    sa.CheckConstraint('start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440', name=op.f('ck_crm_duty_shifts_minutes_in_order')),
    sa.ForeignKeyConstraint(['advisor_id'], ['users.id'], name=op.f('fk_crm_duty_shifts_advisor_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_crm_duty_shifts_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_duty_shifts')),
    sa.UniqueConstraint('advisor_id', 'weekday', 'start_minute', name='uq_crm_duty_shifts_slot')
    )
    with op.batch_alter_table('crm_duty_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_crm_duty_shifts_store_weekday', ['store_id', 'weekday'], unique=False)

    op.create_table('crm_routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('model_contains', sa.String(length=40), nullable=False),
    sa.Column('advisor_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('position >= 1', name=op.f('ck_crm_routing_rules_position_positive')),
    sa.ForeignKeyConstraint(['advisor_id'], ['users.id'], name=op.f('fk_crm_routing_rules_advisor_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_crm_routing_rules_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_routing_rules'))
    )
    with op.batch_alter_table('crm_routing_rules', schema=None) as batch_op:
        batch_op.create_index('ix_crm_routing_rules_store_position', ['store_id', 'position'], unique=False)

    op.create_table('crm_task_escalations',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_id', sa.Integer(), nullable=True),
    sa.Column('to_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['from_id'], ['users.id'], name=op.f('fk_crm_task_escalations_from_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['crm_tasks.id'], name=op.f('fk_crm_task_escalations_task_id_crm_tasks')),
    sa.ForeignKeyConstraint(['to_id'], ['users.id'], name=op.f('fk_crm_task_escalations_to_id_users')),
    sa.PrimaryKeyConstraint('task_id', 'level', name=op.f('pk_crm_task_escalations'))
    )


def downgrade():
    op.drop_table('crm_task_escalations')
    with op.batch_alter_table('crm_routing_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_routing_rules_store_position')
    op.drop_table('crm_routing_rules')
    with op.batch_alter_table('crm_duty_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_duty_shifts_store_weekday')
    op.drop_table('crm_duty_shifts')
    with op.batch_alter_table('crm_customer_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_customer_merges_survivor_id'))
    op.drop_table('crm_customer_merges')
