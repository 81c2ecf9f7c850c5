"""quotes: a trade-in value, a finance option, and the signed link sent to the customer with
their one answer on it (I accept / call me)

Revision ID: 0066_leads17_quote_links
Revises: 0065_leads17_import_owners
Create Date: 2026-12-04 07:10:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0066_leads17_quote_links"
down_revision = "0065_leads17_import_owners"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("crm_quotes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trade_in_fen", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("trade_in_car", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("finance_down_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("finance_months", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("finance_monthly_fen", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("sent_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("answer", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("answer_note", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("answered_at", portal.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            op.f("ck_crm_quotes_trade_in_valid"), "trade_in_fen >= 0 AND trade_in_fen <= total_fen"
        )
        batch_op.create_check_constraint(
            op.f("ck_crm_quotes_finance_valid"),
            "(finance_months IS NULL AND finance_down_fen IS NULL AND finance_monthly_fen IS NULL)"
            " OR (finance_months BETWEEN 6 AND 84 AND finance_down_fen >= 0"
            " AND finance_monthly_fen > 0)",
        )
        batch_op.create_check_constraint(op.f("ck_crm_quotes_answer_known"), "answer IS NULL OR answer IN ('accept', 'call')")


def downgrade():
    with op.batch_alter_table("crm_quotes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crm_quotes_answer_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_crm_quotes_finance_valid"), type_="check")
        batch_op.drop_constraint(op.f("ck_crm_quotes_trade_in_valid"), type_="check")
        for column in (
            "answered_at", "answer_note", "answer", "sent_at", "finance_monthly_fen",
            "finance_months", "finance_down_fen", "trade_in_car", "trade_in_fen",
        ):  # fmt: skip
            batch_op.drop_column(column)
