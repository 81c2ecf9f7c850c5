"""import_jobs: the apply step of a checked customer or platform lead import, run by the
worker in committed batches with its progress, counts and refused rows; one job per kept file

Revision ID: 0061_leadjobs_import_jobs
Revises: 0060_alipay_payment_methods
Create Date: 2026-12-03 22:40:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0061_leadjobs_import_jobs"
down_revision = "0061_parts_inspection_parts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("upload", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("vehicles", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("ck_import_jobs_import_status"),
        ),
        sa.CheckConstraint(
            "kind IN ('customers', 'leads')", name=op.f("ck_import_jobs_import_kind")
        ),
        sa.CheckConstraint("done_rows >= 0", name=op.f("ck_import_jobs_import_done_rows")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_import_jobs_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_jobs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
        sa.UniqueConstraint("upload", name=op.f("uq_import_jobs_upload")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_import_jobs_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_import_jobs_store_id_id", ["store_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_jobs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "import_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("values", sa.String(length=4000), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_failures_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_failures")),
    )
    with op.batch_alter_table("import_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_failures_job_id"), ["job_id"], unique=False)


def downgrade():
    with op.batch_alter_table("import_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_failures_job_id"))
    op.drop_table("import_failures")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_user_id"))
        batch_op.drop_index("ix_import_jobs_store_id_id")
        batch_op.drop_index("ix_import_jobs_status_id")
    op.drop_table("import_jobs")
