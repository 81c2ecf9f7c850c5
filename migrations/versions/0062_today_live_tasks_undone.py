"""crm_tasks: a live task (open, awaiting) has no done_at, as a CHECK. Lists of a person's live
tasks (Today, the call queue) then filter on done_at IS NULL and read only those through
ix_crm_tasks_owner_open_due, not the owner's done tasks, which grow with history.

Revision ID: 0062_today_live_tasks_undone
Revises: 0062_analytics2_part_items
Create Date: 2026-12-04 02:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0062_today_live_tasks_undone"
down_revision = "0062_analytics2_part_items"
branch_labels = None
depends_on = None

LIVE_NOT_DONE = "status NOT IN ('open', 'awaiting') OR done_at IS NULL"


def upgrade():
    # No code path ever set done_at on a live task; clear any that a hand edit left.
    op.execute(
        "UPDATE crm_tasks SET done_at = NULL "
        "WHERE status IN ('open', 'awaiting') AND done_at IS NOT NULL"
    )
    with op.batch_alter_table("crm_tasks", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_crm_tasks_live_not_done"), LIVE_NOT_DONE)


def downgrade():
    with op.batch_alter_table("crm_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_tasks_live_not_done"), type_="check")
