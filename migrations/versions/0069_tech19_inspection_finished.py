"""tech19_inspection_finished: when and by whom a technician finished recording an
inspection, so the advisor sees it is ready to check and send

Revision ID: 0069_tech19_inspection_finished
Revises: 0068_pwa19_item_save_keys
Create Date: 2026-12-04 15:30:00

"""

import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0069_tech19_inspection_finished"
down_revision = "0068_pwa19_item_save_keys"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_inspections_finished_by_id_users"), "users", ["finished_by_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_inspections_finished_by_id"), ["finished_by_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspections_finished_by_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_inspections_finished_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("finished_by_id")
        batch_op.drop_column("finished_at")
