"""Keyset pages for long lists: newest first (or oldest first for a queue), the next page by
a cursor and the previous one by a cursor back, never OFFSET.

A page after the cursor `before` (?cursor=, ?before=) holds the rows that follow that row in
the list's order; a page back from `back` (?back=) holds the rows that precede that row: the
same order reversed (every key's direction flipped, the comparisons inverted), then the rows
turned round. A page reached either way has the same `before`, so a list shows it the same."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import request
from sqlalchemy import Select, and_, case, false, or_

from portal.extensions import db
from portal.inputs import int_arg

PAGE_SIZE = 20
BACK_PARAM = "back"  # the query argument of the cursor back to the previous page


@dataclass(frozen=True)
class Page:
    """One page of rows, where it starts and the cursors of the pages next to it."""

    items: list[Any]
    before: int | None  # the row just before this page, its cursor (None: the first page)
    next_before: int | None  # the cursor of the next page (None: this is the last one)
    back: int | None = None  # the cursor back to the previous page (None: this is the first)
    stale: bool = False  # the cursor asked for is no row of the list: this is the first page


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
    back_param: str = BACK_PARAM,
    cursor_stmt: Select | None = None,
) -> Page:
    """Return the page of `stmt` (newest first by sort_col, then id; or oldest first) after
    this request's cursor (?before= unless named), or back from its ?back= cursor.

    The cursor row is looked up through `cursor_stmt` (default: `stmt` itself), which must be
    scoped like `stmt`: a row the user may not see is no cursor. A queue passes its scoped
    statement without the "still waiting" condition, so a cursor row decided meanwhile still
    marks the place."""
    newest_first = not oldest_first
    keys = [] if sort_col is id_col else [Key(sort_col, desc=newest_first)]
    return keys_page(
        stmt,
        keys,
        id_col,
        cursor_arg(param),
        size=size or PAGE_SIZE,
        id_desc=newest_first,
        cursor_stmt=cursor_stmt,
        back=cursor_arg(back_param),
    )


@dataclass(frozen=True)
class Key:
    """One column of a list's order: an expression and its direction.

    A column that may be NULL must follow a key that sorts its NULL rows apart (``null_last``),
    so that each engine's own place for NULLs never matters."""

    expr: Any
    desc: bool = False

    def reversed(self) -> Key:
        """Return the same column in the other direction."""
        return Key(self.expr, not self.desc)


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
        stmt.with_only_columns(id_col, *(k.expr for k in keys)).where(id_col == row_id).limit(1)
    ).first()
    return None if mark is None else _after(keys, tuple(mark)[1:], id_col, row_id, id_desc)


def _fetch(ordered: Select, size: int, rows: bool) -> list:
    """Return up to size + 1 rows of the ordered statement (one more tells whether there are
    more): entities, or whole rows with rows=True."""
    ordered = ordered.limit(size + 1)
    return list(db.session.execute(ordered).all() if rows else db.session.scalars(ordered))


def _id(found, rows: bool) -> int:
    return (found[0] if rows else found).id


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
    back: int | None = None,
) -> Page:
    """Return the page of `stmt` in the order of `keys`, then id, after the cursor `before`
    (the id of the last row of the page before: a position only, None for the first page),
    or, given `back` (the id of the first row of the page after), the page before that row.

    Like keyset_page, for lists sorted by several columns (a flag, a due time, a priority), and
    callable outside a request (a view passes ``cursor_arg("cursor")`` and
    ``cursor_arg("back")``). The cursor row is looked up through `cursor_stmt` (default:
    `stmt`), scoped like `stmt`: a row the user may not see is no cursor, and the page then
    starts at the first row (page.before is None, page.stale). With rows=True the page holds
    the statement's rows (tuples, the first column the entity)."""
    lookup = cursor_stmt if cursor_stmt is not None else stmt
    if back is not None:
        backwards = [k.reversed() for k in keys]
        earlier = after_row(lookup, backwards, id_col, back, id_desc=not id_desc)
        if earlier is not None:
            reverse = order_by_keys(stmt, backwards, id_col, id_desc=not id_desc)
            found = _fetch(reverse.where(earlier), size, rows)
            if len(found) > size:  # a full page, and a row before it: not the first page
                items = found[:size][::-1]
                last, first = _id(items[-1], rows), _id(items[0], rows)
                return Page(items, _id(found[size], rows), last, first)
            # Fewer rows than a page before it: the first page, filled from the top.
        top = keys_page(stmt, keys, id_col, None, size=size, id_desc=id_desc, rows=rows)
        return top if earlier is not None else replace(top, stale=True)
    ordered = order_by_keys(stmt, keys, id_col, id_desc=id_desc)
    stale = False
    if before is not None:
        after = after_row(lookup, keys, id_col, before, id_desc=id_desc)
        if after is None:
            before, stale = None, True
        else:
            ordered = ordered.where(after)
    found = _fetch(ordered, size, rows)
    more = len(found) > size
    found = found[:size]
    return Page(
        found,
        before,
        _id(found[-1], rows) if more else None,
        _id(found[0], rows) if before is not None and found else None,
        stale,
    )
