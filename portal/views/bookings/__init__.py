"""The owner's repair bookings: book into free slots, follow, change, cancel, rate."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("bookings", __name__)

# The route modules register on bp when imported.
from portal.views.bookings import edit, feeds, pages  # noqa: E402, F401
from portal.views.bookings.pages import (  # noqa: E402, F401 (used by the back office)
    FAULT_LABELS,
    fault_category_label,
    service_type_label,
)
from portal.views.bookings.picker import parse_slot  # noqa: E402, F401 (used by the back office)
