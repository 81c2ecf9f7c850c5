"""api_mileage: a mileage reading can come from an integration through the API

Revision ID: 0051_api_mileage
Revises: 0050_routing_language
Create Date: 2026-12-03 17:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0051_api_mileage'
down_revision = '0050_routing_language'
branch_labels = None
depends_on = None


def _source_check(values: str) -> None:
    with op.batch_alter_table('mileage_readings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_mileage_readings_source_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_mileage_readings_source_known'), f"source IN ({values})"
        )


def upgrade():
    _source_check("'owner', 'staff', 'service', 'api'")


def downgrade():
    op.execute("UPDATE mileage_readings SET source = 'service' WHERE source = 'api'")
    _source_check("'owner', 'staff', 'service'")
