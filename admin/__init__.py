"""The back office: Flask-Admin wiring, staff workflow views and dashboards."""

from __future__ import annotations

from flask import Flask, g
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin.accounts import OwnerAdmin, StaffAdmin, UnlockView
from admin.advisors import AdvisorView, NoticeView
from admin.analytics import AnalyticsView
from admin.base import StaffHomeView
from admin.bookings import (
    MyStoreView,
    QueueView,
    ReviewedBookingAdmin,
    StoreDayAdmin,
    WorkshopView,
)
from admin.core import AuditAdmin, StoreAdmin, VehicleAdmin
from admin.finance import LoanAdmin, PolicyAdmin
from admin.maintenance import PlanAdmin
from admin.outbox import OutboxView
from admin.rescue import RescueQueueView, RescueStatsView
from admin.usedcars import UsedCarLeadAdmin, UsedCarReviewView
from admin.video import add_video_views
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Booking,
    InsurancePolicy,
    Loan,
    MaintenancePlan,
    Store,
    StoreDay,
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
    admin.add_view(QueueView(name=_l("Booking queue"), endpoint="queue", category=_l("Bookings")))
    admin.add_view(
        WorkshopView(name=_l("Workshop board"), endpoint="workshop", category=_l("Bookings"))
    )
    admin.add_view(
        ReviewedBookingAdmin(
            Booking, db, name=_l("Reviewed bookings"), endpoint="reviewed", category=_l("Bookings")
        )
    )
    admin.add_view(
        AnalyticsView(
            name=_l("Repair analytics"), endpoint="booking_analytics", category=_l("Bookings")
        )
    )
    admin.add_view(
        RescueQueueView(name=_l("Rescue queue"), endpoint="rescue_queue", category=_l("Rescue"))
    )
    admin.add_view(
        RescueStatsView(name=_l("Rescue timings"), endpoint="rescue_stats", category=_l("Rescue"))
    )
    admin.add_view(
        StoreDayAdmin(
            StoreDay,
            db,
            name=_l("Holidays and exceptions"),
            endpoint="store_days",
            category=_l("Store"),
        )
    )
    admin.add_view(
        MyStoreView(name=_l("Bays and hours"), endpoint="my_store", category=_l("Store"))
    )
    admin.add_view(
        PlanAdmin(
            MaintenancePlan,
            db,
            name=_l("Maintenance plans"),
            endpoint="plans",
            category=_l("Store"),
        )
    )
    add_video_views(admin)
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
    admin.add_view(OutboxView(name=_l("Outbox and jobs"), endpoint="outbox"))
    from admin import shop

    shop.register(admin)
    return admin
