"""Keyset pages for long lists: newest first (or oldest first for a queue), the next page by
a cursor, never OFFSET."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Select, and_, case, false, or_

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


@dataclass(frozen=True)
class Key:
    """One column of a list's order: an expression and its direction.

    A column that may be NULL must follow a key that sorts its NULL rows apart (``null_last``),
    so that each engine's own place for NULLs never matters."""

    expr: Any
    desc: bool = False


def null_last(col) -> Key:
    """Return the key that puts the rows whose col is NULL after the others (0, then 1)."""
    return Key(case((col.is_(None), 1), else_=0))


def _after(keys: list[Key], marks, id_col, before: int, id_desc: bool):
    """Return the condition of the rows after the cursor row (its keys `marks`, its id
    `before`) in the order keys, then id."""
    terms, same = [], []
    for key, mark in zip(keys, marks, strict=True):
        if mark is None:  # NULL is alone in its group (see null_last): nothing sorts after it
            terms.append(and_(*same, false()))
            same.append(key.expr.is_(None))
            continue
        terms.append(and_(*same, key.expr < mark if key.desc else key.expr > mark))
        same.append(key.expr == mark)
    terms.append(and_(*same, id_col < before if id_desc else id_col > before))
    return or_(*terms)


def order_by_keys(stmt: Select, keys: list[Key], id_col, *, id_desc: bool = False) -> Select:
    """Return stmt ordered by keys, then id."""
    order = [k.expr.desc() if k.desc else k.expr.asc() for k in keys]
    return stmt.order_by(*order, id_col.desc() if id_desc else id_col.asc())


def after_row(
    stmt: Select, keys: list[Key], id_col, row_id: int, *, id_desc: bool = False
) -> Any | None:
    """Return the condition of the rows after the row `row_id` of stmt in the order of keys,
    then id; None if stmt has no such row (it is then no position)."""
    mark = db.session.execute(
        stmt.with_only_columns(*(k.expr for k in keys)).where(id_col == row_id).limit(1)
    ).first()
    return None if mark is None else _after(keys, tuple(mark), id_col, row_id, id_desc)


def keys_page(
    stmt: Select,
    keys: list[Key],
    id_col,
    before: int | None,
    *,
    size: int,
    id_desc: bool = False,
    cursor_stmt: Select | None = None,
    rows: bool = False,
) -> Page:
    """Return the page of `stmt` in the order of `keys`, then id, after the cursor `before`
    (the id of the last row of the page before: a position only, None for the first page).

    Like keyset_page, for lists sorted by several columns (a flag, a due time, a priority), and
    callable outside a request (a view passes ``cursor_arg("cursor")``). The cursor row is
    looked up through `cursor_stmt` (default: `stmt`), scoped like `stmt`: a row the user may
    not see is no cursor, and the page then starts at the first row (page.before is None). With
    rows=True the page holds the statement's rows (tuples, the first column the entity)."""
    ordered = order_by_keys(stmt, keys, id_col, id_desc=id_desc)
    if before is not None:
        after = after_row(
            cursor_stmt if cursor_stmt is not None else stmt, keys, id_col, before, id_desc=id_desc
        )
        if after is None:
            before = None
        else:
            ordered = ordered.where(after)
    ordered = ordered.limit(size + 1)
    found = list(db.session.execute(ordered).all() if rows else db.session.scalars(ordered))
    more = len(found) > size
    found = found[:size]
    last = (found[-1][0] if rows else found[-1]) if found else None
    return Page(found, before, last.id if more else None)
