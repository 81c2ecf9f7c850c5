"""catalog_scheduled_prices: list prices from a price list's date on, applied by the worker

Revision ID: 0061_catalog_scheduled_prices
Revises: 0060_alipay_payment_methods
Create Date: 2026-12-03 22:30:00

"""
import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0061_catalog_scheduled_prices'
down_revision = '0060_alipay_payment_methods'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'shop_scheduled_prices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('price_fen', sa.Integer(), nullable=False),
        sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('applied_at', UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            'price_fen >= 0', name=op.f('ck_shop_scheduled_prices_price_nonnegative')
        ),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['users.id'], name=op.f('fk_shop_scheduled_prices_actor_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['product_id'],
            ['shop_products.id'],
            name=op.f('fk_shop_scheduled_prices_product_id_shop_products'),
        ),
        sa.ForeignKeyConstraint(
            ['store_id'], ['stores.id'], name=op.f('fk_shop_scheduled_prices_store_id_stores')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_scheduled_prices')),
        sa.UniqueConstraint(
            'product_id', 'starts_at', name=op.f('uq_shop_scheduled_prices_product_id_starts_at')
        ),
    )
    with op.batch_alter_table('shop_scheduled_prices', schema=None) as batch_op:
        batch_op.create_index(
            'ix_shop_scheduled_prices_due', ['applied_at', 'starts_at'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_shop_scheduled_prices_product_id'), ['product_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('shop_scheduled_prices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_scheduled_prices_product_id'))
        batch_op.drop_index('ix_shop_scheduled_prices_due')
    op.drop_table('shop_scheduled_prices')
