"""What the back office's keyset-paged lists share: the store picker, a stale cursor's word, and
the page of a list of a store's records, the newest first.

The used-car vetting list, the buyer leads and the shop orders page 50 rows at a time by keyset
(portal.paging.keyset_page), forward (?cursor=) and back (?back=); those who see every store
narrow them with ?store=, and a cursor that names no row any more shows the first page with a
warning instead of an error."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin.listing import count_label
from portal import access
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from portal.paging import BACK_PARAM, Page, cursor_arg, keyset_page


def bad_cursor(page: Page, params: tuple[str, ...] = ("cursor", BACK_PARAM)) -> str | None:
    """Return the message for a cursor (?cursor=, ?back= unless named) that is no number or
    names no row of the list, else None."""
    unreadable = any(request.args.get(p) and cursor_arg(p) is None for p in params)
    return bad_cursor_text() if page.stale or unreadable else None


def bad_cursor_text() -> str:
    """Return what a list says when its cursor names no row of it."""
    return _("That page of the list no longer exists; this is the first page.")


def store_choices() -> list[tuple[int, str]]:
    """Return (id, name) of every store, for those who see several; none for store staff."""
    if not access.sees_all_stores(current_user):
        return []
    return list(db.session.execute(select(Store.id, Store.name).order_by(Store.name, Store.id)))


def chosen_store(stores: list[tuple[int, str]]) -> int | None:
    """Return the store an admin narrowed the list to (?store=), None for every store."""
    store_id = int_arg(request.args.get("store"), minimum=1)
    return store_id if store_id in {s[0] for s in stores} else None


def newest_page(model, size: int, loads=(), sort_col=None) -> dict:
    """Return what a page of a store-scoped list, the newest first, shows (segments, campaigns,
    recalls, car orders): one page after ?cursor= or back from ?back= (a row of the stores I
    see, else the first page with a warning), the list's count (bounded, never a COUNT(*) of a
    big table), and the store picker of those who see every store (?store=). The order is
    sort_col (default: the id), then id: a column the table's (store_id, sort_col) index
    holds."""
    stores = store_choices()
    store_id = chosen_store(stores)
    stmt = access.chosen_store_scope(select(model), model.store_id, current_user, store_id)
    page = keyset_page(
        stmt.options(*loads),
        model.id if sort_col is None else sort_col,
        model.id,
        size=size,
        param="cursor",
        cursor_stmt=stmt,
    )
    return {
        "rows": page.items,
        "page": page,
        "page_size": size,
        "count": count_label(stmt.with_only_columns(model.id)),
        "cursor_error": bad_cursor(page),
        "pick_stores": stores,
        "store_id": store_id,
    }
