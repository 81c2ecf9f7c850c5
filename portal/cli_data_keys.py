"""flask m4s data-key | rotate-data-keys: keys of the personal information encrypted at rest."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import Table, Text, column, select, table, update

from portal import data_keys
from portal.cli import m4s
from portal.extensions import db
from portal.models.base import Base
from portal.models.encrypted import ENCRYPTED_TYPES
from portal.services import audit


def encrypted_columns() -> list[tuple[str, list[str]]]:
    """Return every table with encrypted columns, and those columns' names."""
    found = []
    for tbl in Base.metadata.sorted_tables:
        names = [c.name for c in tbl.columns if isinstance(c.type, ENCRYPTED_TYPES)]
        if names:
            found.append((tbl.name, names))
    return found


def _raw(name: str, columns: list[str]):
    """The table with its encrypted columns as plain text: the tokens, not the values."""
    return table(name, column("id"), *(column(c, Text()) for c in columns))


def rotate_table(name: str, columns: list[str], batch: int, echo=click.echo) -> dict[str, int]:
    """Re-encrypt one table's values under the current key, a batch per transaction."""
    raw: Table = _raw(name, columns)
    counts = {"rows": 0, "values": 0, "rotated": 0, "changed_meanwhile": 0}
    last = 0
    while True:
        rows = db.session.execute(
            select(raw.c.id, *(raw.c[c] for c in columns))
            .where(raw.c.id > last)
            .order_by(raw.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return counts
        for row in rows:
            counts["rows"] += 1
            for position, col in enumerate(columns, start=1):
                token = row[position]
                if token is None:
                    continue
                counts["values"] += 1
                if data_keys.is_current(token):
                    continue
                # Compare-and-swap: a value the app rewrote meanwhile is already under the
                # current key, and must not be overwritten with the old one re-encrypted.
                done = db.session.execute(
                    update(raw)
                    .where(raw.c.id == row[0], raw.c[col] == token)
                    .values({col: data_keys.rotate(token, f"{name}.{col}")})
                )
                counts["rotated" if done.rowcount == 1 else "changed_meanwhile"] += 1
        db.session.commit()
        last = rows[-1][0]
        echo(f"{name}: {counts['rows']} rows read, {counts['rotated']} values re-encrypted")


def rotate_all(batch: int = 500, echo=click.echo) -> dict[str, dict[str, int]]:
    """Re-encrypt every encrypted column under the current key; audit the run."""
    done = {name: rotate_table(name, cols, batch, echo) for name, cols in encrypted_columns()}
    audit.record("data_keys_rotated", tables=done, keys=len(current_app.config["DATA_KEYS"]))
    db.session.commit()
    return done


@m4s.command("data-key")
def data_key() -> None:
    """Print a new random key for M4S_DATA_KEYS."""
    click.echo(data_keys.new_key())


@m4s.command("rotate-data-keys")
@click.option("--batch", type=click.IntRange(1, 100_000), default=500, show_default=True)
def rotate_data_keys(batch: int) -> None:
    """Re-encrypt the personal information kept encrypted under the first key of M4S_DATA_KEYS."""
    try:
        done = rotate_all(batch)
    except data_keys.DataKeyError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    total = sum(c["rotated"] for c in done.values())
    click.echo(f"Done: {total} values re-encrypted under the current key.")
