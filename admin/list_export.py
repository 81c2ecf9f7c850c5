"""Any back-office model list as an export source: the rows the list shows, as it shows them.

A StaffModelView's export reads the list's own query (admin/base.py: store scope through
portal/access.py, then the search, the filters and the order of the URL) and its own columns
and formatters, so a colleague's customer's phone is as masked in the file as on the page and
a new list can be exported without a line of its own. The worker runs a large export as the
staff member who asked (a request context signed in as a snapshot of them), so the same rule
reads the same person whether the file is written in the request or in the background.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_login import login_user
from markupsafe import Markup
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from admin import listing
from portal.extensions import db

KIND = "list:"  # ExportJob.kind of a list's export: "list:<endpoint>"
MAX_ARGS = 2000  # characters of a list's query string an export remembers (ExportJob.list_args)
BATCH = 1000  # rows loaded at a time


def register(app, views) -> None:
    """Remember the app's exportable lists by endpoint (the worker finds them here)."""
    app.extensions["m4s_lists"] = {v.endpoint: v for v in views}


def view_of(kind: str):
    """Return the list view an export kind names, or None."""
    if not kind.startswith(KIND):
        return None
    return current_app.extensions.get("m4s_lists", {}).get(kind[len(KIND) :])


def kind_of(view) -> str:
    """Return the export kind of a list view."""
    return KIND + view.endpoint


def _filter_args(view) -> dict:
    """Map each of the view's filter URL keys to (index, filter), as its list reads them."""
    found = getattr(view, "m4s_filter_args", None)
    if found is None:
        filters = view.get_filters() or []
        found = {view.get_filter_arg(i, flt): (i, flt) for i, flt in enumerate(filters)}
        view.m4s_filter_args = found
    return found


def list_state(view, args: MultiDict) -> tuple:
    """Return (sort column, descending, search, filters) of a list URL's query string; a
    filter value the list would refuse is left out, as the list leaves it out."""
    by_key = _filter_args(view)
    filters = []
    for arg, value in args.items(multi=True):
        pos, sep, key = arg[3:].partition("_")
        if not arg.startswith("flt") or not sep or key not in by_key:
            continue
        index, flt = by_key[key]
        if flt.validate(value):
            filters.append((pos, (index, str(flt.name), value)))
    filters = [f for _pos, f in sorted(filters, key=lambda item: item[0])]
    columns = view.get_list_columns()
    sort = args.get("sort", type=int)
    sort_column = columns[sort][0] if sort is not None and 0 <= sort < len(columns) else None
    search = (args.get("search") or "").strip() or None
    return sort_column, args.get("desc", type=int), search, filters or None


def ordered_ids(view, args: MultiDict, limit: int | None = None) -> list:
    """Return the ids of the rows the list shows over all its pages, in its order."""
    sort_column, desc, search, filters = list_state(view, args)
    _none, query = view.get_list(0, sort_column, desc, search, filters, execute=False, page_size=0)
    ids = query.with_entities(inspect(view.model).primary_key[0])
    if limit is not None:
        ids = ids.limit(limit)
    return list(dict.fromkeys(row[0] for row in ids))  # a joined filter may repeat a row


def header(view) -> list[str]:
    """Return the list's column titles in the current language."""
    return [str(label) for _name, label in view.get_export_columns()]


def cell(value):
    """Return a formatted value as a spreadsheet cell: text, a number, or empty."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value.striptags()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float | Decimal | str):
        return value
    return str(value)


def rows(view, ids: list, release: bool = False) -> Iterator[list]:
    """Yield the rows of these ids as the list formats them, a batch at a time; with release,
    each batch leaves the session once written (the worker's long exports)."""
    pk = inspect(view.model).primary_key[0]
    names = [name for name, _label in view.get_export_columns()]
    relations = listing.shown_relations(view.model, names)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        stmt = select(view.model).where(pk.in_(chunk))
        stmt = stmt.options(*(selectinload(getattr(view.model, r)) for r in relations))
        by_id = {getattr(r, pk.key): r for r in db.session.scalars(stmt)}
        for row_id in chunk:
            if row_id in by_id:
                yield [cell(view.get_export_value(by_id[row_id], name)) for name in names]
        if release:
            db.session.expunge_all()


@contextmanager
def acting_as(view, viewer, args: str):
    """Run the block as a request to the list's URL, signed in as the viewer (a snapshot that
    outlives the worker's commits), so the list's scope, filters and masking read them."""
    path = view.url.rstrip("/") + "/"
    with current_app.test_request_context(path + ("?" + args if args else "")):
        login_user(viewer, force=True)
        yield
