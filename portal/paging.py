"""Keyset pages for the owner's long lists: newest first, "older" by a cursor, never OFFSET."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Select, and_, or_

from portal.extensions import db
from portal.inputs import int_arg

PAGE_SIZE = 20


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursor of the next (older) page, if any."""

    items: list[Any]
    before: int | None  # the cursor this page started from (None: the newest page)
    next_before: int | None  # the cursor of the next page (None: this is the last one)


def cursor_arg() -> int | None:
    """Return the ?before= cursor of this request, or None when absent or out of bounds."""
    return int_arg(request.args.get("before"), minimum=1)


def keyset_page(stmt: Select, sort_col, id_col, *, size: int | None = None) -> Page:
    """Return the page of `stmt` (newest first by sort_col, then id) after this request's cursor."""
    size = size or PAGE_SIZE
    before = cursor_arg()
    ordered = stmt.order_by(sort_col.desc(), id_col.desc())
    if before is not None:
        # The cursor row is looked up through the same scoped statement: a foreign id is no cursor.
        mark = db.session.execute(
            stmt.with_only_columns(sort_col).where(id_col == before).limit(1)
        ).scalar_one_or_none()
        if mark is None:
            before = None
        else:
            ordered = ordered.where(or_(sort_col < mark, and_(sort_col == mark, id_col < before)))
    rows = list(db.session.scalars(ordered.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, before, rows[-1].id if more else None)
