"""coupons: a campaign's coupon offer, the owners' single-use codes, the order's discount

Revision ID: 0060_coupons_offers
Revises: 0053_delivery_checks
Create Date: 2026-12-03 19:09:29.308905

"""
from alembic import op
import sqlalchemy as sa
import portal.models.base


# revision identifiers, used by Alembic.
revision = '0060_coupons_offers'
down_revision = '0053_delivery_checks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shop_coupon_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('amount_off_fen', sa.Integer(), nullable=True),
    sa.Column('percent_off', sa.Integer(), nullable=True),
    sa.Column('cap_fen', sa.Integer(), nullable=True),
    sa.Column('min_order_fen', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(amount_off_fen IS NOT NULL AND percent_off IS NULL AND amount_off_fen > 0) OR (amount_off_fen IS NULL AND percent_off IS NOT NULL AND percent_off >= 1 AND percent_off <= 99)', name=op.f('ck_shop_coupon_offers_one_kind')),
    sa.CheckConstraint('cap_fen IS NULL OR cap_fen > 0', name=op.f('ck_shop_coupon_offers_cap_positive')),
    sa.CheckConstraint('min_order_fen >= 0', name=op.f('ck_shop_coupon_offers_min_nonnegative')),
    sa.CheckConstraint('valid_to >= valid_from', name=op.f('ck_shop_coupon_offers_dates_ordered')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_shop_coupon_offers_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_coupon_offers'))
    )
    with op.batch_alter_table('shop_coupon_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_coupon_offers_store_id'), ['store_id'], unique=False)

    op.create_table('shop_coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('issued_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('redeemed_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['offer_id'], ['shop_coupon_offers.id'], name=op.f('fk_shop_coupons_offer_id_shop_coupon_offers')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_orders.id'], name=op.f('fk_shop_coupons_order_id_shop_orders')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_shop_coupons_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_coupons')),
    sa.UniqueConstraint('code', name=op.f('uq_shop_coupons_code')),
    sa.UniqueConstraint('offer_id', 'owner_id', name=op.f('uq_shop_coupons_offer_id_owner_id')),
    sa.UniqueConstraint('order_id', name=op.f('uq_shop_coupons_order_id'))
    )
    with op.batch_alter_table('shop_coupons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_coupons_owner_id'), ['owner_id'], unique=False)

    with op.batch_alter_table('crm_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_crm_campaigns_offer_id'), ['offer_id'])
        batch_op.create_foreign_key(batch_op.f('fk_crm_campaigns_offer_id_shop_coupon_offers'), 'shop_coupon_offers', ['offer_id'], ['id'])

    with op.batch_alter_table('shop_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_fen', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('coupon_code', sa.String(length=24), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_shop_orders_discount_nonnegative'), 'discount_fen >= 0'
        )



def downgrade():
    with op.batch_alter_table('shop_orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_shop_orders_discount_nonnegative'), type_='check')
        batch_op.drop_column('coupon_code')
        batch_op.drop_column('discount_fen')

    with op.batch_alter_table('crm_campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_crm_campaigns_offer_id_shop_coupon_offers'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_crm_campaigns_offer_id'), type_='unique')
        batch_op.drop_column('offer_id')

    with op.batch_alter_table('shop_coupons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_coupons_owner_id'))

    op.drop_table('shop_coupons')
    with op.batch_alter_table('shop_coupon_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_coupon_offers_store_id'))

    op.drop_table('shop_coupon_offers')
