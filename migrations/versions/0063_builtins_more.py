"""built-in campaigns: policy renewal, a return visit after 12 months, birthdays; the
customer profile keeps the birthday they are sent on

Revision ID: 0063_builtins_more
Revises: 0062_ab_campaign_variants
Create Date: 2026-12-04 02:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0063_builtins_more"
down_revision = "0062_ab_campaign_variants"
branch_labels = None
depends_on = None

KEYS_OLD = "key IN ('maintenance_due')"
KEYS_NEW = "key IN ('maintenance_due', 'policy_renewal', 'return_visit', 'birthday')"


def upgrade():
    with op.batch_alter_table("crm_builtin_campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_builtin_campaigns_key_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_builtin_campaigns_key_known"), KEYS_NEW)
    with op.batch_alter_table("crm_customer_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birthday", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("crm_customer_profiles", schema=None) as batch_op:
        batch_op.drop_column("birthday")
    op.execute(
        "DELETE FROM crm_builtin_campaigns WHERE key IN "
        "('policy_renewal', 'return_visit', 'birthday')"
    )
    with op.batch_alter_table("crm_builtin_campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_builtin_campaigns_key_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crm_builtin_campaigns_key_known"), KEYS_OLD)
