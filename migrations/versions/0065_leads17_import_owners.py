"""lead imports: the new leads each advisor was given so far, saved with each batch, so that a
resumed import tells every advisor of all the job's rows

Revision ID: 0065_leads17_import_owners
Revises: 0065_parts19_line_authors
Create Date: 2026-12-04 07:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0065_leads17_import_owners"
down_revision = "0065_parts19_line_authors"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owners", sa.Text(), server_default="{}", nullable=False))


def downgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("owners")
