"""policy_encryption: insurance policy numbers and premiums encrypted at rest (PIPL)

A policy's number and premium are sensitive personal information. Existing plaintext values
are encrypted in place, in batches, under the current key of M4S_DATA_KEYS, the way
0035_encryption did for loans. An encrypted number cannot be compared, so a keyed hash of it
(HMAC-SHA256 under M4S_LOOKUP_KEY) takes its place in the one-number-per-insurer constraint.
The premium's range check moves into the service. The downgrade decrypts them back.

Revision ID: 0052_policy_encryption
Revises: 0051_api_mileage
Create Date: 2026-12-03 19:20:00

"""

from alembic import op
import sqlalchemy as sa
from flask import current_app

from portal import data_keys

# revision identifiers, used by Alembic.
revision = "0052_policy_encryption"
down_revision = "0051_api_mileage"
branch_labels = None
depends_on = None

BATCH = 1000
TABLE = "insurance_policies"
PREMIUM_CHECK = "premium_fen >= 0"


def _rows(conn, table):
    """Yield the table's (id, number, premium) rows in batches by id."""
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, table.c.policy_number, table.c.premium_fen)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def upgrade():
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_insurance_policies_insurer_policy_number"), type_="unique"
        )
        batch_op.drop_constraint(op.f("ck_insurance_policies_premium_nonnegative"), type_="check")
        batch_op.add_column(sa.Column("policy_number_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("premium_fen_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("policy_number_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    keys, lookup = current_app.config["DATA_KEYS"], current_app.config["LOOKUP_KEY"]
    table = sa.table(
        TABLE,
        sa.column("id", sa.Integer()),
        sa.column("policy_number", sa.String()),
        sa.column("premium_fen", sa.Integer()),
        sa.column("policy_number_enc", sa.Text()),
        sa.column("premium_fen_enc", sa.Text()),
        sa.column("policy_number_hash", sa.String()),
    )
    for row_id, number, premium in _rows(conn, table):
        conn.execute(
            sa.update(table)
            .where(table.c.id == row_id)
            .values(
                policy_number_enc=data_keys.encrypt(number, keys),
                premium_fen_enc=data_keys.encrypt(str(int(premium)), keys),
                policy_number_hash=data_keys.lookup_hash(number.strip().upper(), lookup),
            )
        )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_column("policy_number")
        batch_op.drop_column("premium_fen")
        batch_op.alter_column(
            "policy_number_enc",
            new_column_name="policy_number",
            nullable=False,
            existing_type=sa.Text(),
        )
        batch_op.alter_column(
            "premium_fen_enc",
            new_column_name="premium_fen",
            nullable=False,
            existing_type=sa.Text(),
        )
        batch_op.alter_column(
            "policy_number_hash", nullable=False, existing_type=sa.String(length=64)
        )
        batch_op.create_unique_constraint(
            op.f("uq_insurance_policies_insurer_policy_number_hash"),
            ["insurer", "policy_number_hash"],
        )


def downgrade():
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_insurance_policies_insurer_policy_number_hash"), type_="unique"
        )
        batch_op.add_column(sa.Column("policy_number_plain", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("premium_fen_plain", sa.Integer(), nullable=True))
    conn = op.get_bind()
    keys = current_app.config["DATA_KEYS"]
    table = sa.table(
        TABLE,
        sa.column("id", sa.Integer()),
        sa.column("policy_number", sa.Text()),
        sa.column("premium_fen", sa.Text()),
        sa.column("policy_number_plain", sa.String()),
        sa.column("premium_fen_plain", sa.Integer()),
    )
    for row_id, token, premium in _rows(conn, table):
        conn.execute(
            sa.update(table)
            .where(table.c.id == row_id)
            .values(
                policy_number_plain=data_keys.decrypt(token, f"{TABLE}.policy_number", keys),
                premium_fen_plain=int(data_keys.decrypt(premium, f"{TABLE}.premium_fen", keys)),
            )
        )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_column("policy_number")
        batch_op.drop_column("premium_fen")
        batch_op.drop_column("policy_number_hash")
        batch_op.alter_column(
            "policy_number_plain",
            new_column_name="policy_number",
            nullable=False,
            existing_type=sa.String(length=40),
        )
        batch_op.alter_column(
            "premium_fen_plain",
            new_column_name="premium_fen",
            nullable=False,
            existing_type=sa.Integer(),
        )
        batch_op.create_check_constraint(
            op.f("ck_insurance_policies_premium_nonnegative"), PREMIUM_CHECK
        )
    # A constraint on a column renamed in the same batch is lost: add it once the names settle.
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_unique_constraint(
            op.f("uq_insurance_policies_insurer_policy_number"), ["insurer", "policy_number"]
        )
