"""Translated labels of every coded column the back office shows: one table, model by model.

StaffModelView turns a model's entries into Flask-Admin `column_choices`, so list cells,
details, exports and filter options all show the label instead of the stored code. A new
model with a status column adds one line to `_table()`.
"""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l

from portal.models.accounts import ADMIN, ADVISOR, AGENT, HQ, MANAGER, OWNER, REGION, TECHNICIAN

ROLE_LABELS = {
    ADVISOR: _l("Advisor"),
    MANAGER: _l("Manager"),
    ADMIN: _l("Administrator"),
    AGENT: _l("Call-centre agent"),
    HQ: _l("Group headquarters"),
    REGION: _l("Regional manager"),
    TECHNICIAN: _l("Technician"),
}
ORDER_STATUS_LABELS = {
    "pending": _l("Waiting for payment"),
    "paid": _l("Paid"),
    "ready": _l("Ready for pickup"),
    "shipped": _l("Shipped"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "refunded": _l("Refunded"),
}
DISCOUNT_KIND_LABELS = {"percent": _l("Percent off"), "fixed": _l("Fen off")}
PLACEMENT_KIND_LABELS = {"hot": _l("Hot"), "recommended": _l("Recommended")}
LEAD_STATUS_LABELS = {
    "new": _l("New lead"),
    "contacted": _l("Contacted"),
    "closed": _l("Closed lead"),
}
STOCK_REASON_LABELS = {
    "initial": _l("Opening stock"),
    "sale": _l("Sold"),
    "release": _l("Hold released"),
    "adjust": _l("Stock count or correction"),
    "return": _l("Returned"),
    "workshop": _l("Used in the workshop"),
}
OUTBOX_CHANNEL_LABELS = {
    "email": _l("Email"),
    "sms": _l("SMS"),
    "wechat": _l("WeChat"),
    "inapp": _l("In-app"),
    "webhook": _l("Webhook"),
}
UNLOCK_STATUS_LABELS = {
    "open": _l("Awaiting approval"),
    "applied": _l("Unlocked"),
    "broken_glass": _l("Unlocked by break-glass"),
}


@cache
def _table() -> dict:
    """Map each model class to {column: {code: label}} (built on first use: no import cycle)."""
    from admin.video import END_REASON, SESSION_STATUS
    from admin.video_devices import CAMERA_STATUS
    from portal.models import (
        Booking,
        InsurancePolicy,
        Loan,
        OutboxMessage,
        Rescue,
        UnlockRequest,
        UsedCarLead,
        UsedCarRequest,
        User,
    )
    from portal.services import bookings, finance, rescue, usedcars
    from shop.models import Discount, Order, Placement, StockMove
    from workshop_video.models import Camera, VideoSession

    return {
        Booking: {"status": bookings.STATUS_LABELS, "decision_reason": bookings.REASON_LABELS},
        Camera: {"status": CAMERA_STATUS},
        Discount: {"kind": DISCOUNT_KIND_LABELS},
        InsurancePolicy: {"coverage": finance.COVERAGE_LABELS},
        Loan: {"status": finance.LOAN_STATUS_LABELS},
        Order: {"status": ORDER_STATUS_LABELS},
        OutboxMessage: {"channel": OUTBOX_CHANNEL_LABELS},
        Placement: {"kind": PLACEMENT_KIND_LABELS},
        Rescue: {"status": rescue.STATUS_LABELS, "problem": rescue.PROBLEM_LABELS},
        StockMove: {"reason": STOCK_REASON_LABELS},
        UnlockRequest: {"status": UNLOCK_STATUS_LABELS},
        UsedCarLead: {"status": LEAD_STATUS_LABELS},
        UsedCarRequest: {"status": usedcars.STATUS_LABELS},
        User: {"role": {OWNER: _l("Owner"), **ROLE_LABELS}},
        VideoSession: {"status": SESSION_STATUS, "end_reason": END_REASON},
    }


def column_labels_of(model) -> dict[str, dict]:
    """Return {column: {code: translated label}} for the coded columns of this model."""
    return _table().get(model, {})


def column_choices_of(model) -> dict[str, list[tuple[str, object]]]:
    """Return Flask-Admin `column_choices` (code, lazy label) for this model's coded columns."""
    return {col: list(labels.items()) for col, labels in column_labels_of(model).items()}


def code_label(record, column: str = "status") -> str:
    """Return the translated label of a record's coded column (the code itself if unknown)."""
    code = getattr(record, column)
    return str(column_labels_of(type(record)).get(column, {}).get(code, code))
