"""alipay_payment_methods: how an online order was paid (card, Alipay, WeChat Pay) and
whether its unpaid payment is processing or failed

Revision ID: 0060_alipay_payment_methods
Revises: 0060_tech_job_cards
Create Date: 2026-12-03 19:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0060_alipay_payment_methods'
down_revision = '0060_tech_job_cards'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shop_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_method', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('payment_state', sa.String(length=12), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_shop_orders_payment_method_known'),
            "payment_method IS NULL OR (payment = 'stripe' AND "
            "payment_method IN ('card', 'alipay', 'wechat_pay'))",
        )
        batch_op.create_check_constraint(
            op.f('ck_shop_orders_payment_state_known'),
            "payment_state IS NULL OR (payment = 'stripe' AND "
            "payment_state IN ('processing', 'failed'))",
        )


def downgrade():
    with op.batch_alter_table('shop_orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_shop_orders_payment_state_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_shop_orders_payment_method_known'), type_='check')
        batch_op.drop_column('payment_state')
        batch_op.drop_column('payment_method')
