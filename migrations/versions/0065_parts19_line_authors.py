"""job card line authors: who entered each labour and parts line (staff at the job card, or
a technician on their phone, who may remove only their own)

Revision ID: 0065_parts19_line_authors
Revises: 0065_used_car_leads
Create Date: 2026-12-04 07:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0065_parts19_line_authors"
down_revision = "0065_used_car_leads"
branch_labels = None
depends_on = None

TABLES = ("job_labour_lines", "job_part_lines")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("added_by_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_added_by_id_users"), "users", ["added_by_id"], ["id"]
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_added_by_id_users"), type_="foreignkey")
            batch_op.drop_column("added_by_id")
