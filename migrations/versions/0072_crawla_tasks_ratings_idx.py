"""crawla_tasks_ratings_idx: crm_tasks on (store_id, done_at) and ratings on created_at
(with the advisor and the stars included, PostgreSQL). The daily activity report counted a
store's tasks done on a day and those closed after it by reading every task of the store
(485k at 1M customers: 300 ms each, two statements); the CSI page's ratings of the last year,
per advisor and the newest 30, read every rating (545 ms and 224 ms for the group admin)

Revision ID: 0072_crawla_tasks_ratings_idx
Revises: 0071_crawla_analytics_snapshots
Create Date: 2026-12-04 19:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0072_crawla_tasks_ratings_idx"
down_revision = "0071_crawla_analytics_snapshots"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("crm_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_crm_tasks_store_done", ["store_id", "done_at"], unique=False)
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ratings_created",
            ["created_at"],
            unique=False,
            postgresql_include=["advisor_id", "service_stars", "advisor_stars"],
        )


def downgrade():
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_created")
    with op.batch_alter_table("crm_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_tasks_store_done")
