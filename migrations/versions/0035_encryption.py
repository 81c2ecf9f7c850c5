"""encryption: rescue coordinates and loan terms encrypted at rest (PIPL sensitive information)

Existing plaintext values are encrypted in place, in batches, under the current key of
M4S_DATA_KEYS: each column gets an encrypted twin, the rows are filled, the plaintext column is
dropped and the twin takes its name. Range checks on these columns move into the services
(the database cannot compare ciphertexts). The downgrade decrypts them back.

Revision ID: 0035_encryption
Revises: 0022_admin_speed
Create Date: 2026-12-03 12:10:00

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

import portal.models.base
from portal import data_keys

# revision identifiers, used by Alembic.
revision = '0035_encryption'
down_revision = '0031_webhooks'
branch_labels = None
depends_on = None

BATCH = 1000
RESCUE_COLUMNS = {'latitude': sa.Float(), 'longitude': sa.Float()}
LOAN_COLUMNS = {'principal_fen': sa.Integer(), 'annual_rate_bp': sa.Integer()}
PRECISE = "latitude IS NOT NULL AND location_coarsened_at IS NULL"
RESCUE_CHECKS = {
    'latitude_range': "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
    'longitude_range': "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
}
KEPT_CHECKS = {
    'coordinates_paired': "(latitude IS NULL) = (longitude IS NULL)",
    'has_location': "latitude IS NOT NULL OR address <> ''",
}
LOAN_CHECKS = {
    'principal_positive': "principal_fen > 0",
    'rate_range': "annual_rate_bp >= 0 AND annual_rate_bp <= 3600",
}


def _convert(name, columns, suffix, encrypting):
    """Fill each column's twin (column + suffix) from it, converted, in batches of rows by id."""
    conn = op.get_bind()
    pairs = [
        (sa.column(c, sa.Text()), sa.column(c + suffix, t)) if not encrypting
        else (sa.column(c, t), sa.column(c + suffix, sa.Text()))
        for c, t in columns.items()
    ]
    table = sa.table(name, sa.column('id', sa.Integer()), *(col for pair in pairs for col in pair))
    convert = _encrypt if encrypting else _decrypt
    first = next(iter(columns))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, *(table.c[c] for c in columns))
            .where(table.c.id > last, table.c[first].is_not(None))
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            values = {c + suffix: convert(name, c, row[i + 1]) for i, c in enumerate(columns)}
            conn.execute(sa.update(table).where(table.c.id == row[0]).values(**values))
        last = rows[-1][0]


def _encrypt(name, column, value):
    keys = current_app.config['DATA_KEYS']
    text = repr(float(value)) if column in RESCUE_COLUMNS else str(int(value))
    return data_keys.encrypt(text, keys)


def _decrypt(name, column, token):
    keys = current_app.config['DATA_KEYS']
    text = data_keys.decrypt(token, f'{name}.{column}', keys)
    return float(text) if column in RESCUE_COLUMNS else int(text)


def _swap(name, columns, checks_dropped, checks_kept, suffix, new_type, nullable):
    """Add each column's twin, fill it, drop the original, and give the twin its name."""
    with op.batch_alter_table(name, schema=None) as batch_op:
        for check in (*checks_dropped, *checks_kept):
            batch_op.drop_constraint(op.f(f'ck_{name}_{check}'), type_='check')
        for column in columns:
            batch_op.add_column(sa.Column(f'{column}{suffix}', new_type(column), nullable=True))
    _convert(name, columns, suffix, encrypting=suffix == '_enc')
    with op.batch_alter_table(name, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_column(column)
            batch_op.alter_column(
                f'{column}{suffix}', new_column_name=column, nullable=nullable,
                existing_type=new_type(column),
            )
        for check, condition in checks_kept.items():
            batch_op.create_check_constraint(op.f(f'ck_{name}_{check}'), condition)


def upgrade():
    with op.batch_alter_table('rescues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_coarsened_at', portal.models.base.UTCDateTime(timezone=True), nullable=True))
    _swap('rescues', RESCUE_COLUMNS, RESCUE_CHECKS, KEPT_CHECKS, '_enc', lambda c: sa.Text(), True)
    _swap('loans', LOAN_COLUMNS, LOAN_CHECKS, {}, '_enc', lambda c: sa.Text(), False)
    op.create_index(
        'ix_rescues_precise_location', 'rescues', ['created_at'], unique=False,
        sqlite_where=sa.text(PRECISE), postgresql_where=sa.text(PRECISE),
    )


def downgrade():
    op.drop_index(
        'ix_rescues_precise_location', table_name='rescues',
        sqlite_where=sa.text(PRECISE), postgresql_where=sa.text(PRECISE),
    )

    _swap('loans', LOAN_COLUMNS, {}, {}, '_plain', LOAN_COLUMNS.get, False)
    with op.batch_alter_table('loans', schema=None) as batch_op:
        for check, condition in LOAN_CHECKS.items():
            batch_op.create_check_constraint(op.f(f'ck_loans_{check}'), condition)
    _swap('rescues', RESCUE_COLUMNS, {}, KEPT_CHECKS, '_plain', RESCUE_COLUMNS.get, True)
    with op.batch_alter_table('rescues', schema=None) as batch_op:
        for check, condition in RESCUE_CHECKS.items():
            batch_op.create_check_constraint(op.f(f'ck_rescues_{check}'), condition)
        batch_op.drop_column('location_coarsened_at')
