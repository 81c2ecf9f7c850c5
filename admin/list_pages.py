"""What the back office's keyset-paged lists share: the store picker and a stale cursor's word.

The used-car vetting list, the buyer leads and the shop orders page 50 rows at a time by keyset
(portal.paging.keyset_page); those who see every store narrow them with ?store=, and a cursor
that names no row any more shows the first page with a warning instead of an error."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import access
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from portal.paging import Page


def bad_cursor(page: Page) -> str | None:
    """Return the message for a ?cursor= that names no row of the list, else None."""
    if request.args.get("cursor") and page.before is None:
        return _("That page of the list no longer exists; this is the first page.")
    return None


def store_choices() -> list[tuple[int, str]]:
    """Return (id, name) of every store, for those who see several; none for store staff."""
    if not access.sees_all_stores(current_user):
        return []
    return list(db.session.execute(select(Store.id, Store.name).order_by(Store.name, Store.id)))


def chosen_store(stores: list[tuple[int, str]]) -> int | None:
    """Return the store an admin narrowed the list to (?store=), None for every store."""
    store_id = int_arg(request.args.get("store"), minimum=1)
    return store_id if store_id in {s[0] for s in stores} else None
