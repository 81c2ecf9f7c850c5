"""Used cars: owners' sell requests, the vetting workflow, plausibility flags and buyer leads."""

from portal.services.usedcars.market import (
    listed_brands,
    search_listed,
    tell_seller_of_inquiry,
)
from portal.services.usedcars.submissions import edit_and_resubmit, submit_request, withdraw
from portal.services.usedcars.vetting import (
    approve,
    check_plausibility,
    list_car,
    mark_sold,
    reject,
    request_changes,
    resolve_flag,
    start_review,
)
from portal.services.usedcars.workflow import (
    ALLOWED,
    CHECK_ITEMS,
    EVENT_TEXT,
    FLAG_LABELS,
    PAGE_SIZE,
    STATUS_LABELS,
    listed_request,
    my_requests,
    owned_request,
    staff_request,
)
from portal.services.usedcars.workflow import (
    _move as _move,
)

__all__ = [
    "ALLOWED",
    "CHECK_ITEMS",
    "EVENT_TEXT",
    "FLAG_LABELS",
    "PAGE_SIZE",
    "STATUS_LABELS",
    "approve",
    "check_plausibility",
    "edit_and_resubmit",
    "list_car",
    "listed_brands",
    "listed_request",
    "mark_sold",
    "my_requests",
    "owned_request",
    "reject",
    "request_changes",
    "resolve_flag",
    "search_listed",
    "staff_request",
    "start_review",
    "submit_request",
    "tell_seller_of_inquiry",
    "withdraw",
]
