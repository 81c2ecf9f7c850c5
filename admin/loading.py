"""Fill in the relations a list shows for rows a service already loaded, one query each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from portal.extensions import db


def preload(model: type, rows: Iterable[Any], *loaders: Any) -> None:
    """Load the loaders' relations of these rows (selectinload options) for the whole list.

    A list page otherwise loads one owner, store or profile per row as the template reads it.
    Rows already in the session keep their state; only relations not loaded yet are filled."""
    ids = [row.id for row in rows]
    if ids:
        db.session.scalars(select(model).where(model.id.in_(ids)).options(*loaders)).all()
