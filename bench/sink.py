"""Stream rows given as tuples into one table: COPY on PostgreSQL, executemany elsewhere.

The group generator makes tens of millions of rows; building a dict per row and running each
value through SQLAlchemy's bind processors costs more than making the row. A Sink takes plain
tuples in the order of its columns, fills every other column that has a Python-side default
(COPY never runs those), and writes in batches, so memory stays bounded whatever the size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Connection, Table

from portal.models.encrypted import ENCRYPTED_TYPES

BATCH = 20_000


def _python_defaults(table: Table, given: tuple[str, ...]) -> dict[str, Any]:
    """Return the Python-side defaults of the columns not given (COPY would leave them NULL)."""
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.name in given or col.default is None or col.server_default is not None:
            continue
        default = col.default
        if default.is_scalar:
            out[col.name] = default.arg
        elif default.is_callable and not col.nullable:
            out[col.name] = default.arg(None)  # utcnow, dict, list: SQLAlchemy wraps them
    return out


class Sink:
    """Rows of one table waiting for the next batch write; count says how many were written."""

    def __init__(
        self,
        conn: Connection,
        table: Table,
        columns: str | Iterable[str],
        parents: Iterable[Sink] = (),
    ) -> None:
        cols = tuple(columns.split()) if isinstance(columns, str) else tuple(columns)
        unknown = [c for c in cols if c not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {unknown}")
        self.conn, self.table, self.count = conn, table, 0
        self.parents = tuple(parents)  # flushed first: foreign keys are checked at once
        self.defaults = _python_defaults(table, cols)
        self.columns = cols + tuple(self.defaults)
        self.postgres = conn.dialect.name == "postgresql"
        self.rows: list[tuple] = []
        tail = tuple(self.defaults.values())
        json_at = [i for i, c in enumerate(self.columns) if isinstance(table.c[c].type, JSON)]
        # Encrypted columns (portal/models/encrypted.py): COPY bypasses the type, so encrypt here.
        self.encrypted = [
            (i, table.c[c].type)
            for i, c in enumerate(cols)
            if isinstance(table.c[c].type, ENCRYPTED_TYPES)
        ]
        if self.postgres:
            tail = tuple(
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in tail
            )
            json_at = [i for i in json_at if i < len(cols)]
        self.tail, self.json_at = tail, json_at

    def add(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        for parent in self.parents:
            parent.flush()
        rows, self.rows = self.rows, []
        if self.postgres:
            self._copy(rows)
        else:
            names = self.columns
            self.conn.execute(
                self.table.insert(), [dict(zip(names, r + self.tail, strict=True)) for r in rows]
            )
        self.count += len(rows)

    def _copy(self, rows: list[tuple]) -> None:
        if self.encrypted:
            rows = [self._encrypt(row) for row in rows]
        quote = self.conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in self.columns)
        sql = f"COPY {quote(self.table.name)} ({names}) FROM STDIN"
        raw = self.conn.connection.driver_connection
        json_at, tail = self.json_at, self.tail
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        if row[i] is not None:
                            row[i] = json.dumps(row[i], ensure_ascii=False)
                    row = tuple(row)
                copy.write_row(row + tail)

    def _encrypt(self, row: tuple) -> tuple:
        out = list(row)
        for i, kind in self.encrypted:
            out[i] = kind.process_bind_param(out[i], self.conn.dialect)
        return tuple(out)


def close(*sinks: Sink) -> dict[str, int]:
    """Flush the sinks in order (parents before children); return the rows written per table."""
    out: dict[str, int] = {}
    for sink in sinks:
        sink.flush()
        out[sink.table.name] = out.get(sink.table.name, 0) + sink.count
    return out
