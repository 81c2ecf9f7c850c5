"""Cursor pages: keyset on the id (newest first), so page 10,000 costs what page 1 does."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, Field
from sqlalchemy import Select

from api.problems import ApiProblem, FieldProblem
from portal.extensions import db
from portal.inputs import MAX_ID


class PageQuery(BaseModel):
    """Where a list page starts and how long it is."""

    cursor: str | None = Field(
        None, max_length=200, description="next_cursor of the previous page; omit for the first"
    )
    limit: int = Field(50, ge=1, le=100, description="Items per page")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="m4s-api-cursor")


def encode(kind: str, last_id: int) -> str:
    """Return an opaque cursor that continues a list of this kind after this id."""
    return _serializer().dumps([kind, last_id])


def decode(kind: str, cursor: str | None) -> int | None:
    """Return the id a cursor continues after (None: the first page); refuse a foreign cursor."""
    if not cursor:
        return None
    try:
        found, last_id = _serializer().loads(cursor)
    except (BadSignature, ValueError, TypeError):
        found, last_id = None, None
    if found != kind or not isinstance(last_id, int) or not 0 < last_id <= MAX_ID:
        raise ApiProblem(
            400,
            _("This cursor is not valid for this list."),
            [FieldProblem(field="cursor", message=_("Pass next_cursor from the previous page."))],
        )
    return last_id


def page(stmt: Select, id_column: Any, kind: str, query: PageQuery) -> tuple[list, str | None]:
    """Return one page of the select's rows (newest id first) and the next page's cursor."""
    after = decode(kind, query.cursor)
    if after is not None:
        stmt = stmt.where(id_column < after)
    rows = list(db.session.scalars(stmt.order_by(id_column.desc()).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return rows, encode(kind, rows[-1].id) if more else None
