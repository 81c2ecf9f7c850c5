"""lifecycle_rules: the trade-in task kind, each car's warranty end, each loan's end date, the
indexes the lifecycle rules read by date, and the position of a task in its owner's plan

Revision ID: 0044_lifecycle_rules
Revises: 0041_staff_jobs
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0044_lifecycle_rules'
down_revision = '0041_staff_jobs'
branch_labels = None
depends_on = None

KINDS_OLD = ("'first_contact', 'follow_up', 'appointment_confirm', 'post_service', 'renewal', "
             "'maintenance_due', 'complaint_callback', 'no_show'")
KINDS_NEW = KINDS_OLD + ", 'trade_in'"


def _add_months(day, months):
    import calendar
    from datetime import date

    years, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def upgrade():
    with op.batch_alter_table('crm_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('plan_position', sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f('ck_crm_tasks_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_crm_tasks_kind_known'), f"kind IN ({KINDS_NEW})")

    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warranty_ends_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_vehicles_store_purchase_date', ['store_id', 'purchase_date'], unique=False)
        batch_op.create_index('ix_vehicles_store_warranty_ends_on', ['store_id', 'warranty_ends_on'], unique=False)

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_loans_store_ends_on', ['store_id', 'ends_on'], unique=False)

    with op.batch_alter_table('mileage_readings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mileage_readings_recorded_at'), ['recorded_at'], unique=False)

    with op.batch_alter_table('maintenance_due_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_due_events_opened_at'), ['opened_at'], unique=False)

    # Existing cars: the statutory minimum warranty (三包, 3 years) from their purchase; loans:
    # start plus term, clamped to the month's end like the model's hook.
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        op.execute(
            "UPDATE vehicles SET warranty_ends_on = (purchase_date + interval '3 years')::date "
            "WHERE purchase_date IS NOT NULL"
        )
        op.execute(
            "UPDATE loans SET ends_on = (start_date + make_interval(months => term_months))::date"
        )
        return
    vehicles = sa.table('vehicles', sa.column('id'), sa.column('purchase_date', sa.Date()),
                        sa.column('warranty_ends_on', sa.Date()))
    for vid, bought in conn.execute(
        sa.select(vehicles.c.id, vehicles.c.purchase_date).where(vehicles.c.purchase_date.is_not(None))
    ).all():
        conn.execute(vehicles.update().where(vehicles.c.id == vid).values(warranty_ends_on=_add_months(bought, 36)))
    loans = sa.table('loans', sa.column('id'), sa.column('start_date', sa.Date()),
                     sa.column('term_months'), sa.column('ends_on', sa.Date()))
    for lid, start, term in conn.execute(sa.select(loans.c.id, loans.c.start_date, loans.c.term_months)).all():
        conn.execute(loans.update().where(loans.c.id == lid).values(ends_on=_add_months(start, term)))


def downgrade():
    with op.batch_alter_table('maintenance_due_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_due_events_opened_at'))

    with op.batch_alter_table('mileage_readings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mileage_readings_recorded_at'))

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index('ix_loans_store_ends_on')
        batch_op.drop_column('ends_on')

    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.drop_index('ix_vehicles_store_warranty_ends_on')
        batch_op.drop_index('ix_vehicles_store_purchase_date')
        batch_op.drop_column('warranty_ends_on')

    op.execute("UPDATE crm_tasks SET kind = 'follow_up' WHERE kind = 'trade_in'")
    with op.batch_alter_table('crm_tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_crm_tasks_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_crm_tasks_kind_known'), f"kind IN ({KINDS_OLD})")
        batch_op.drop_column('plan_position')
        batch_op.drop_column('plan_day')
