"""What the audit log's coded columns mean to staff: every action code and every record type.

A service writes a short code (`booking_accepted`) with `portal.services.audit.record`; the
audit page shows the label instead, and links the record when the back office has a page for
it. A new action code adds one line to ACTION_LABELS (tests/admin/test_audit_labels.py finds
every code the code base can write and fails on one without a label).
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portal.models.accounts import OWNER

ACTION_LABELS = {
    # Sign-in and accounts
    "register": _l("Owner registered"),
    "register_existing_login": _l("Registration with a number already registered"),
    "login": _l("Signed in"),
    "login_failed": _l("Sign-in failed"),
    "login_failed_repeat": _l("Repeated failed sign-ins"),
    "login_refused_locked": _l("Sign-in refused: account locked"),
    "logout": _l("Signed out"),
    "session_expired": _l("Session expired"),
    "session_revoked": _l("Signed out on another device"),
    "password_changed": _l("Password changed"),
    "password_reset_requested": _l("Password reset requested"),
    "password_reset_unknown": _l("Password reset for an unknown account"),
    "account_locked": _l("Account locked"),
    "account_unlocked": _l("Account unlocked"),
    "unlock_approved": _l("Unlock approved"),
    "unlock_break_glass": _l("Emergency unlock (break-glass)"),
    "unlock_operator": _l("Unlocked by the operator"),
    "staff_device_added": _l("New sign-in device"),
    "staff_device_locked": _l("Sign-in device locked"),
    "totp_enrolled": _l("Authenticator app set up"),
    "totp_ok": _l("Authenticator code accepted"),
    "totp_failed": _l("Wrong authenticator code"),
    "totp_refused_paused": _l("Authenticator code refused: too many tries"),
    "totp_recovery_code_used": _l("Recovery code used"),
    "totp_removed": _l("Authenticator app removed"),
    "staff_created": _l("Staff account created"),
    "staff_activated": _l("Staff account enabled"),
    "staff_deactivated": _l("Staff account disabled"),
    "api_token_created": _l("API token created"),
    "api_token_revoked": _l("API token revoked"),
    "data_keys_rotated": _l("Data encryption keys rotated"),
    # Privacy and consent
    "policy_published": _l("Privacy policy published"),
    "policy_accepted": _l("Privacy policy accepted"),
    "privacy_export": _l("Personal data downloaded"),
    "erasure_requested": _l("Account deletion requested"),
    "erasure_cancelled": _l("Account deletion cancelled"),
    "account_erased": _l("Account deleted"),
    "marketing_consent_given": _l("Agreed to marketing messages"),
    "marketing_consent_withdrawn": _l("Withdrew from marketing messages"),
    # Customers
    "customer_registered": _l("Customer registered by staff"),
    "customer_register_existing": _l("Customer already registered"),
    "customers_reassigned": _l("Customers handed to another advisor"),
    "customers_imported": _l("Customers imported"),
    "customers_merged": _l("Customer records merged"),
    "customer_contact_changed": _l("Customer contact details changed"),
    "customer_profile_changed": _l("Customer profile changed"),
    "customer_relation_added": _l("Customer relation added"),
    "customer_relation_removed": _l("Customer relation removed"),
    "customer_tier_added": _l("Customer tier added"),
    "customer_tier_changed": _l("Customer tier changed"),
    "customer_tier_removed": _l("Customer tier removed"),
    "value_band_added": _l("Customer value band added"),
    "value_band_changed": _l("Customer value band changed"),
    "value_band_removed": _l("Customer value band removed"),
    "vehicle_warranty_set": _l("Warranty end entered"),
    "open_work_reassigned": _l("A leaver's open work handed over"),
    # Workshop
    "booking_entered": _l("Booking entered by staff"),
    "booking_accepted": _l("Booking accepted"),
    "booking_rejected": _l("Booking declined"),
    "booking_proposed": _l("New time proposed"),
    "booking_completed": _l("Repair completed"),
    "technician_assigned": _l("Technician assigned"),
    "job_line_added": _l("Job line entered by the technician"),
    "job_line_priced": _l("Price set on a job line"),
    "inspection_finished": _l("Inspection finished by the technician"),
    "inspection_line_withdrawn": _l("Inspection item withdrawn"),
    "inspection_part_arrived": _l("Part arrived"),
    "rescue_claimed": _l("Rescue claimed"),
    "rescue_dispatched": _l("Rescue vehicle dispatched"),
    "rescue_resolved": _l("Rescue closed"),
    "rescue_reassigned": _l("Rescue reassigned"),
    "rescue_location_coarsened": _l("Rescue location blurred"),
    "video_camera_assigned": _l("Camera assigned to a viewing"),
    "video_trust_follow_up": _l("Follow-up on a viewing logged"),
    # New-car sales and call centre
    "lead_phone_revealed": _l("Lead's phone number shown"),
    "lead_lost_approved": _l("Lost lead approved"),
    "lead_lost_refused": _l("Lost lead refused"),
    "lead_reassigned": _l("Lead reassigned"),
    "leads_imported": _l("Leads imported"),
    "quote_approved": _l("Discount approved"),
    "quote_refused": _l("Discount refused"),
    "task_approved": _l("Task request approved"),
    "task_refused": _l("Task request refused"),
    "duty_shift_added": _l("Duty shift added"),
    "duty_shift_removed": _l("Duty shift removed"),
    "routing_rule_added": _l("Lead routing rule added"),
    "routing_rule_removed": _l("Lead routing rule removed"),
    "complaint_opened": _l("Complaint registered"),
    "complaint_acknowledged": _l("Complaint acknowledged"),
    "complaint_resolved": _l("Complaint resolved"),
    "complaint_confirmed": _l("Customer confirmed the resolution"),
    "complaint_reopened": _l("Complaint reopened"),
    "complaint_sla_changed": _l("Complaint deadlines changed"),
    # Used cars
    "usedcar_under_review": _l("Used car: review started"),
    "usedcar_changes_requested": _l("Used car: changes requested"),
    "usedcar_rejected": _l("Used car: rejected"),
    "usedcar_approved": _l("Used car: approved"),
    "usedcar_listed": _l("Used car: listed"),
    "usedcar_sold": _l("Used car: sold"),
    "usedcar_withdrawn": _l("Used car: withdrawn"),
    "usedcar_submitted": _l("Used car: submitted"),
    "usedcar_flag_resolved": _l("Used car: warning cleared"),
    # Finance
    "loan_recorded": _l("Car loan recorded"),
    "loan_paid_off": _l("Car loan paid off"),
    "loan_cancelled": _l("Car loan cancelled"),
    "policy_recorded": _l("Insurance policy recorded"),
    # Shop
    "shop_order_paid": _l("Order paid"),
    "shop_order_ready": _l("Order ready for pickup"),
    "shop_order_shipped": _l("Order shipped"),
    "shop_order_completed": _l("Order completed"),
    "shop_order_cancel": _l("Order cancelled"),
    "shop_order_refund": _l("Order refunded"),
    "shop_order_autorefund": _l("Order refunded automatically"),
    "payment_mismatch": _l("Payment does not match the order"),
    "shop_stock_adjust": _l("Stock adjusted"),
    "shop_stock_count": _l("Stock counted"),
    "shop_stock_threshold": _l("Low-stock threshold changed"),
    "shop_products_imported": _l("Products imported"),
    "shop_stock_imported": _l("Stock counts imported"),
    "shop_prices_imported": _l("Prices imported"),
    # Store and system
    "store_hours_changed": _l("Bays and hours changed"),
    "notice_published": _l("Store notice published"),
    "outbox_retry": _l("Failed message sent again"),
    "webhook_created": _l("Webhook added"),
    "webhook_secret_rotated": _l("Webhook secret renewed"),
    "webhook_switched": _l("Webhook switched on or off"),
    "webhook_pinged": _l("Webhook test sent"),
    "webhook_replayed": _l("Webhook events sent again"),
}

# The record types an event can point at (the target's class name), and the back-office page
# of one record when there is one: (label, endpoint, name of the id argument).
RECORD_TYPES: dict[str, tuple] = {
    "Booking": (_l("Booking"), "workshop.card", "booking_id"),
    "Lead": (_l("Lead"), "leads.show", "lead_id"),
    "Quote": (_l("Quote"), "quotes.show", "quote_id"),
    "Complaint": (_l("Complaint"), "complaints.show", "complaint_id"),
    "Order": (_l("Shop order"), "shop_orders.detail", "order_id"),
    "Product": (_l("Product"), "shop_stock.ledger", "product_id"),
    "UsedCarRequest": (_l("Used car"), "usedcar_review.show", "car_id"),
    "WebhookEndpoint": (_l("Webhook"), "webhooks.detail", "endpoint_id"),
    "Notice": (_l("Store notice"), "notices.show", "notice_id"),
    "Vehicle": (_l("Vehicle"), "vehicles_admin.details_view", "id"),
    "Loan": (_l("Car loan"), "loans.details_view", "id"),
    "InsurancePolicy": (_l("Insurance policy"), "policies.details_view", "id"),
    "User": (_l("Account"), None, None),  # a customer's card or a staff account: see below
    "Store": (_l("Store"), None, None),
    "Brand": (_l("Brand"), None, None),
    "Rescue": (_l("Rescue"), None, None),
    "ApiToken": (_l("API token"), None, None),
    "StaffDevice": (_l("Sign-in device"), None, None),
    "CustomerTier": (_l("Customer tier"), None, None),
    "ValueBand": (_l("Customer value band"), None, None),
    "DutyShift": (_l("Duty shift"), None, None),
    "RoutingRule": (_l("Lead routing rule"), None, None),
    "Task": (_l("Task"), None, None),
    "PolicyVersion": (_l("Privacy policy"), None, None),
    "VideoSession": (_l("Viewing"), None, None),
    "TrustFollowUp": (_l("Viewing follow-up"), None, None),
    "Camera": (_l("Camera"), None, None),
    "StoreDay": (_l("Holiday or exception"), None, None),
    "MaintenancePlan": (_l("Maintenance plan"), None, None),
    "InspectionTemplate": (_l("Inspection template"), None, None),
    "Category": (_l("Product category"), None, None),
    "Discount": (_l("Discount"), None, None),
    "Placement": (_l("Shop placement"), None, None),
    "UsedCarLead": (_l("Earlier buyer inquiry"), None, None),
}
# Rows added or edited through a back-office model page (admin/base.py writes
# admin_create_<table> / admin_update_<table>), by table.
EDITED_TABLES = {
    "users": _l("staff account"),
    "stores": _l("store"),
    "store_days": _l("holiday or exception"),
    "maintenance_plans": _l("maintenance plan"),
    "inspection_templates": _l("inspection template"),
    "cameras": _l("camera"),
    "loans": _l("car loan"),
    "insurance_policies": _l("insurance policy"),
    "shop_products": _l("product"),
    "shop_categories": _l("product category"),
    "shop_discounts": _l("discount"),
    "shop_placements": _l("shop placement"),
    "bookings": _l("booking"),
    "video_sessions": _l("viewing"),
    "vehicles": _l("vehicle"),
    "used_car_leads": _l("earlier buyer inquiry"),
    "audit_events": _l("audit event"),
    "brands": _l("brand"),
}
for _table_name, _what in EDITED_TABLES.items():
    ACTION_LABELS[f"admin_create_{_table_name}"] = _l(
        "Added in the back office: %(what)s", what=_what
    )
    ACTION_LABELS[f"admin_update_{_table_name}"] = _l(
        "Edited in the back office: %(what)s", what=_what
    )


def action_label(code: str) -> str:
    """Return what an action code means, in the current language (never the bare code)."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else _("Other action (%(code)s)", code=code)


def action_choices() -> list[tuple[str, object]]:
    """Return the (code, label) options of the action filter, as staff read them."""
    return list(ACTION_LABELS.items())


def record_type_label(type_name: str) -> str:
    """Return the record type as staff say it ("" for an event about no record)."""
    if not type_name:
        return ""
    known = RECORD_TYPES.get(type_name)
    return str(known[0]) if known else _("Record")


def record_link(type_name: str, record_id: int | None, role: str | None = None) -> Markup:
    """Return the record as "Booking #12", linked to its back-office page when it has one.

    A `User` is a customer (their card) or a staff member (their account), told by `role`.
    """
    if not type_name or record_id is None:
        return Markup("")
    text = f"{record_type_label(type_name)} #{record_id}"
    endpoint, arg = RECORD_TYPES.get(type_name, (None, None, None))[1:]
    if type_name == "User" and role is not None:
        if role == OWNER:
            text = f"{_('Customer')} #{record_id}"
            endpoint, arg = "crm_customers.show", "customer_id"
        else:
            text = f"{_('Staff account')} #{record_id}"
            endpoint, arg = "staff.details_view", "id"
    if endpoint is None:
        return escape(text)
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **{arg: record_id}), text)
