"""Translated labels of every coded column the back office shows: one table, model by model.

StaffModelView turns a model's entries into Flask-Admin `column_choices`, so list cells,
details, exports and filter options all show the label instead of the stored code. A new
model with a status column adds one line to `_table()`.
"""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l

from portal.models.accounts import (
    ADMIN,
    ADVISOR,
    AGENT,
    HQ,
    MANAGER,
    MANUFACTURER,
    OWNER,
    REGION,
    TECHNICIAN,
)

ROLE_LABELS = {
    ADVISOR: _l("Advisor"),
    MANAGER: _l("Manager"),
    ADMIN: _l("Administrator"),
    AGENT: _l("Call-centre agent"),
    HQ: _l("Group headquarters"),
    REGION: _l("Regional manager"),
    TECHNICIAN: _l("Technician"),
    MANUFACTURER: _l("Manufacturer (brand officer)"),
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

# Headers (and filter and form labels) of the model views' plain columns, by column name: a
# view's own column_labels win. Without them Flask-Admin shows the English attribute name
# ("Locked At") in every language.
COLUMN_LABELS = {
    "name": _l("Name"),
    "role": _l("Role"),
    "phone": _l("Mobile number"),
    "email": _l("Email"),
    "is_active": _l("Active"),
    "locked_at": _l("Locked since"),
    "last_login_at": _l("Last sign-in"),
    "created_at": _l("Created"),
    "store": _l("Store"),
    "advisor": _l("Advisor"),
    "owner": _l("Owner"),
    "plate": _l("Plate number"),
    "vin": _l("VIN"),
    "brand": _l("Brand"),
    "series": _l("Series"),
    "model_year": _l("Model year"),
    "current_km": _l("Mileage (km)"),
    "at": _l("Time"),
    "actor": _l("By"),
    "action": _l("Action"),
    "target_type": _l("Record type"),
    "target_id": _l("Record ID"),
    "ip": _l("IP address"),
    "sku": _l("SKU"),
    "stock": _l("Stock"),
    "category": _l("Category"),
    "product": _l("Product"),
    "position": _l("Sort order"),
    "kind": _l("Kind"),
    "value": _l("Value"),
    "starts_at": _l("Starts"),
    "ends_at": _l("Ends"),
    "day": _l("Day"),
    "closed": _l("Closed all day"),
    "opens_at": _l("Opens"),
    "closes_at": _l("Closes"),
    "bays": _l("Bays"),
    "note": _l("Note"),
    "address": _l("Address"),
    "timezone": _l("Time zone"),
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
