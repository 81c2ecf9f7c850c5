"""Keyset pages for long lists: newest first (or oldest first for a queue), the next page by
a cursor, never OFFSET."""

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
    """One page of rows and the cursor of the next page, if any."""

    items: list[Any]
    before: int | None  # the cursor this page started from (None: the first page)
    next_before: int | None  # the cursor of the next page (None: this is the last one)


def cursor_arg(name: str = "before") -> int | None:
    """Return the cursor of this request (?before= unless named), or None when absent or out
    of bounds."""
    return int_arg(request.args.get(name), minimum=1)


def keyset_page(
    stmt: Select,
    sort_col,
    id_col,
    *,
    size: int | None = None,
    oldest_first: bool = False,
    param: str = "before",
    cursor_stmt: Select | None = None,
) -> Page:
    """Return the page of `stmt` (newest first by sort_col, then id; or oldest first) after
    this request's cursor.

    The cursor row is looked up through `cursor_stmt` (default: `stmt` itself), which must be
    scoped like `stmt`: a row the user may not see is no cursor. A queue passes its scoped
    statement without the "still waiting" condition, so a cursor row decided meanwhile still
    marks the place."""
    size = size or PAGE_SIZE
    before = cursor_arg(param)
    if oldest_first:
        ordered = stmt.order_by(sort_col.asc(), id_col.asc())
    else:
        ordered = stmt.order_by(sort_col.desc(), id_col.desc())
    if before is not None:
        mark = db.session.execute(
            (cursor_stmt if cursor_stmt is not None else stmt)
            .with_only_columns(sort_col)
            .where(id_col == before)
            .limit(1)
        ).scalar_one_or_none()
        if mark is None:
            before = None
        elif oldest_first:
            ordered = ordered.where(or_(sort_col > mark, and_(sort_col == mark, id_col > before)))
        else:
            ordered = ordered.where(or_(sort_col < mark, and_(sort_col == mark, id_col < before)))
    rows = list(db.session.scalars(ordered.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, before, rows[-1].id if more else None)
