"""import_jobs: the catalog's imports (products, stock counts, price lists) are applied by the
worker as import jobs too

Revision ID: 0062_jobs2_catalog_jobs
Revises: 0062_jobs2_import_lease
Create Date: 2026-12-04 02:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0062_jobs2_catalog_jobs"
down_revision = "0062_jobs2_import_lease"
branch_labels = None
depends_on = None

KINDS_OLD = "kind IN ('customers', 'leads')"
KINDS_NEW = "kind IN ('customers', 'leads', 'products', 'stock', 'prices')"


def _kinds(check: str) -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_import_jobs_import_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_import_jobs_import_kind"), check)


def upgrade():
    _kinds(KINDS_NEW)


def downgrade():
    op.execute("DELETE FROM import_jobs WHERE kind IN ('products', 'stock', 'prices')")
    _kinds(KINDS_OLD)
