"""bilingual_catalogue: English names beside the Chinese originals of shop categories,
products (and their description), the product names kept on order lines, and maintenance
plans and their items (and their description)

Revision ID: 0046_bilingual_catalogue
Revises: 0039_after_hours
Create Date: 2026-12-03 16:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0046_bilingual_catalogue'
down_revision = '0039_after_hours'
branch_labels = None
depends_on = None

COLUMNS = {
    'shop_categories': [('name_en', sa.String(length=80))],
    'shop_products': [('name_en', sa.String(length=120)), ('description_en', sa.Text())],
    'shop_order_lines': [('name_en', sa.String(length=120))],
    'maintenance_plans': [('name_en', sa.String(length=80))],
    'maintenance_plan_items': [('name_en', sa.String(length=80)), ('description_en', sa.Text())],
}


def upgrade():
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, type_ in columns:
                batch_op.add_column(sa.Column(name, type_, server_default='', nullable=False))


def downgrade():
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _type in reversed(columns):
                batch_op.drop_column(name)
