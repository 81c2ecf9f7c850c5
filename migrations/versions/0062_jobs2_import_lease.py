"""import_jobs: the worker's lease (heartbeat_at, renewed with each committed batch) and the
number of claims, so that a job whose worker died is claimed again and resumes, a few times

Revision ID: 0062_jobs2_import_lease
Revises: 0064_recall_lists
Create Date: 2026-12-04 02:00:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0062_jobs2_import_lease"
down_revision = "0064_recall_lists"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_check_constraint(op.f("ck_import_jobs_import_attempts"), "attempts >= 0")
    # A job running now was claimed once; its lease starts when it started.
    op.execute(
        "UPDATE import_jobs SET heartbeat_at = started_at, attempts = 1 WHERE status = 'running'"
    )


def downgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_import_jobs_import_attempts"), type_="check")
        batch_op.drop_column("attempts")
        batch_op.drop_column("heartbeat_at")
