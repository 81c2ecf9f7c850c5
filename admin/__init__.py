"""The back office: Flask-Admin wiring, staff workflow views and dashboards."""

from __future__ import annotations

from flask import Flask, g
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin.accounts import OwnerAdmin, StaffAdmin, UnlockView
from admin.advisors import AdvisorView, NoticeView
from admin.base import StaffHomeView
from admin.core import AuditAdmin, StoreAdmin, VehicleAdmin
from admin.finance import LoanAdmin, PolicyAdmin
from admin.usedcars import UsedCarLeadAdmin, UsedCarReviewView
from portal.extensions import db
from portal.models import (
    AuditEvent,
    InsurancePolicy,
    Loan,
    Store,
    UsedCarLead,
    User,
    Vehicle,
)


def init_admin(app: Flask) -> Admin:
    """Build the back office for this app (one Admin per app, never module-level)."""
    admin = Admin(
        app,
        name="M4S",
        index_view=StaffHomeView(name=_l("Home"), url="/admin", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="admin/m4s_base.html", fluid=True),
        csp_nonce_generator=lambda: g.get("csp_nonce", ""),
    )
    admin.add_view(UnlockView(name=_l("Unlock requests"), endpoint="unlocks", category=_l("Staff")))
    admin.add_view(
        StaffAdmin(User, db, name=_l("Staff accounts"), endpoint="staff", category=_l("Staff"))
    )
    admin.add_view(AdvisorView(name=_l("Advisors"), endpoint="advisors", category=_l("Staff")))
    admin.add_view(NoticeView(name=_l("Store notices"), endpoint="notices", category=_l("Staff")))
    admin.add_view(
        OwnerAdmin(User, db, name=_l("Owners"), endpoint="owners", category=_l("Customers"))
    )
    admin.add_view(
        VehicleAdmin(
            Vehicle, db, name=_l("Vehicles"), endpoint="vehicles_admin", category=_l("Customers")
        )
    )
    admin.add_view(
        UsedCarReviewView(
            name=_l("Vetting queue"), endpoint="usedcar_review", category=_l("Used cars")
        )
    )
    admin.add_view(
        UsedCarLeadAdmin(
            UsedCarLead,
            db,
            name=_l("Buyer leads"),
            endpoint="usedcar_leads",
            category=_l("Used cars"),
        )
    )
    admin.add_view(
        LoanAdmin(Loan, db, name=_l("Car loans"), endpoint="loans", category=_l("Finance"))
    )
    admin.add_view(
        PolicyAdmin(
            InsurancePolicy,
            db,
            name=_l("Insurance policies"),
            endpoint="policies",
            category=_l("Finance"),
        )
    )
    admin.add_view(StoreAdmin(Store, db, name=_l("Stores"), endpoint="stores"))
    admin.add_view(AuditAdmin(AuditEvent, db, name=_l("Audit log"), endpoint="audit"))
    return admin
