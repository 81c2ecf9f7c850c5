"""The back office: Flask-Admin wiring, staff workflow views and dashboards."""

from __future__ import annotations

from typing import NamedTuple

from flask import Flask, g
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin import charts, daily_stats, display, list_export, shop  # noqa: F401 (its command)
from admin.accounts import OwnerAdmin, StaffAdmin, UnlockView
from admin.advisors import AdvisorView, NoticeView
from admin.analytics import AnalyticsView
from admin.api_tokens import ApiTokenView
from admin.base import StaffHomeView, StaffModelView, refuse_broken_return_url
from admin.bookings import (
    QueueView,
    ReviewedBookingAdmin,
    StoreDayAdmin,
)
from admin.calls import CallConsoleView, TaskApprovalsView, TaskRulesView, TodayView
from admin.campaigns import CampaignView, SegmentView
from admin.catalog_import_views import CatalogImportView
from admin.core import AuditAdmin, BrandAdmin, StoreAdmin, VehicleAdmin
from admin.crm import CustomerView, LeadSpeedView, LeadsView
from admin.customer_profile import TierView
from admin.customer_value import CustomerValueView
from admin.export_views import ExportView
from admin.finance import LoanAdmin, PolicyAdmin
from admin.group import GroupDashboardView
from admin.help import HelpView
from admin.import_views import ImportView
from admin.inspection_templates import InspectionTemplateAdmin
from admin.inspections import InspectionFunnelView, InspectionView
from admin.job_cards import MyJobsView
from admin.labels import ROLE_LABELS, code_label
from admin.lead_import_views import LeadImportView
from admin.maintenance import PlanAdmin
from admin.my_store import MyStoreView
from admin.outbox import OutboxView
from admin.pipeline import DriveCalendarView
from admin.privacy_policy import PrivacyPolicyView
from admin.quality import ComplaintAnalyticsView, ComplaintsView, SurveyResultsView
from admin.quotes import QuoteView
from admin.recalls import RecallView
from admin.rescue import RescueQueueView, RescueStatsView
from admin.routing import RoutingView
from admin.sales_board import SalesBoardView
from admin.sales_funnel import SalesFunnelView
from admin.sales_orders import SalesOrderView
from admin.shop_sales import SalesView
from admin.showroom import ActivityReportView, InvitationsView, TomorrowView
from admin.staff_jobs import StaffJobView
from admin.usedcars import UsedCarBuyersView, UsedCarLeadAdmin, UsedCarReviewView
from admin.video import CameraAdmin, VideoAnalyticsView, VideoQueueView, VideoSessionAdmin
from admin.video_devices import DevicesView
from admin.webhooks import WebhookView
from admin.workshop import WorkshopView
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Booking,
    Brand,
    InspectionTemplate,
    InsurancePolicy,
    Loan,
    MaintenancePlan,
    Store,
    StoreDay,
    UsedCarLead,
    User,
    Vehicle,
)
from portal.models.accounts import (
    ADMIN,
    ADVISOR,
    AGENT,
    GROUP_ROLES,
    HQ,
    MANAGER,
    MANUFACTURER,
    REGION,
    TECHNICIAN,
)
from shop.models import Category, Discount, Placement, Product
from workshop_video.models import Camera, VideoSession

ALL = (ADVISOR, MANAGER, ADMIN)  # the store's staff; call-centre agents see their own pages
EVERYONE = (*ALL, AGENT)
MANAGERS = (MANAGER, ADMIN)
# The stores' figures side by side, never a person's data.
GROUP_VIEW = (ADMIN, HQ, REGION, MANUFACTURER)


class Page(NamedTuple):
    """One back-office page: its view class, model (None for a custom page), menu place, roles."""

    view: type
    model: type | None
    name: str
    category: str | None
    endpoint: str
    roles: tuple[str, ...]


BOOKINGS, RESCUE, STORE, VIDEO = _l("Bookings"), _l("Rescue"), _l("Store"), _l("Video")
STAFF, CUSTOMERS, USED_CARS = _l("Staff"), _l("Customers"), _l("Used cars")
FINANCE, SHOP = _l("Finance"), _l("Shop")
NEW_CARS = _l("New-car sales")
MARKETING = _l("Marketing")
CALL_CENTRE = _l("Call centre")
SERVICE_QUALITY = _l("Service quality")

# The menu, in order. A new view is one row here (other packages' views included).
PAGES: tuple[Page, ...] = (
    Page(TodayView, None, _l("Today"), None, "today", EVERYONE),
    Page(MyJobsView, None, _l("My jobs"), None, "my_jobs", (TECHNICIAN,)),
    Page(QueueView, None, _l("Booking queue"), BOOKINGS, "queue", ALL),
    Page(WorkshopView, None, _l("Workshop board"), BOOKINGS, "workshop", ALL),
    Page(
        StaffJobView, None, _l("Phone and walk-in jobs"), BOOKINGS, "staff_jobs", (ADVISOR, MANAGER)
    ),
    Page(ReviewedBookingAdmin, Booking, _l("Reviewed bookings"), BOOKINGS, "reviewed", ALL),
    Page(AnalyticsView, None, _l("Repair analytics"), BOOKINGS, "booking_analytics", MANAGERS),
    # Technicians record the inspections of their own jobs; the store's staff send them.
    Page(InspectionView, None, _l("Inspections"), BOOKINGS, "inspections", (*ALL, TECHNICIAN)),
    Page(
        InspectionTemplateAdmin,
        InspectionTemplate,
        _l("Inspection templates"),
        BOOKINGS,
        "inspection_templates",
        MANAGERS,
    ),
    Page(
        InspectionFunnelView, None, _l("Inspection funnel"), BOOKINGS, "inspection_funnel", MANAGERS
    ),
    Page(RescueQueueView, None, _l("Rescue queue"), RESCUE, "rescue_queue", ALL),
    Page(RescueStatsView, None, _l("Rescue timings"), RESCUE, "rescue_stats", MANAGERS),
    Page(StoreDayAdmin, StoreDay, _l("Holidays and exceptions"), STORE, "store_days", MANAGERS),
    Page(MyStoreView, None, _l("Bays and hours"), STORE, "my_store", (MANAGER,)),
    Page(PlanAdmin, MaintenancePlan, _l("Maintenance plans"), STORE, "plans", MANAGERS),
    Page(DevicesView, None, _l("Devices"), VIDEO, "video_devices", MANAGERS),
    Page(VideoQueueView, None, _l("Video requests"), VIDEO, "video_queue", ALL),
    Page(VideoSessionAdmin, VideoSession, _l("Viewing records"), VIDEO, "video_sessions", ALL),
    Page(VideoAnalyticsView, None, _l("Trust analytics"), VIDEO, "video_trust", MANAGERS),
    Page(CameraAdmin, Camera, _l("Cameras"), VIDEO, "cameras", MANAGERS),
    Page(UnlockView, None, _l("Unlock requests"), STAFF, "unlocks", ALL),
    Page(StaffAdmin, User, _l("Staff accounts"), STAFF, "staff", MANAGERS),
    Page(AdvisorView, None, _l("Advisors"), STAFF, "advisors", ALL),
    Page(NoticeView, None, _l("Store notices"), STAFF, "notices", ALL),
    Page(OwnerAdmin, User, _l("Owners"), CUSTOMERS, "owners", ALL),
    Page(VehicleAdmin, Vehicle, _l("Vehicles"), CUSTOMERS, "vehicles_admin", ALL),
    Page(UsedCarReviewView, None, _l("Vetting queue"), USED_CARS, "usedcar_review", ALL),
    Page(UsedCarBuyersView, None, _l("Buyer leads"), USED_CARS, "usedcar_buyers", ALL),
    Page(
        UsedCarLeadAdmin,
        UsedCarLead,
        _l("Earlier buyer inquiries"),
        USED_CARS,
        "usedcar_leads",
        ALL,
    ),
    Page(LoanAdmin, Loan, _l("Car loans"), FINANCE, "loans", ALL),
    Page(PolicyAdmin, InsurancePolicy, _l("Insurance policies"), FINANCE, "policies", ALL),
    Page(StoreAdmin, Store, _l("Stores"), None, "stores", (ADMIN,)),
    Page(BrandAdmin, Brand, _l("Brands"), None, "brands", (ADMIN,)),
    Page(AuditAdmin, AuditEvent, _l("Audit log"), None, "audit", MANAGERS),
    Page(LeadsView, None, _l("Leads"), NEW_CARS, "leads", ALL),
    Page(CustomerView, None, _l("Customer records"), NEW_CARS, "crm_customers", ALL),
    Page(LeadSpeedView, None, _l("Speed to lead"), NEW_CARS, "lead_speed", MANAGERS),
    Page(TierView, None, _l("Customer tiers"), NEW_CARS, "customer_tiers", (MANAGER,)),
    Page(RoutingView, None, _l("Duty roster and routing"), NEW_CARS, "routing_rules", (MANAGER,)),
    Page(SegmentView, None, _l("Segments"), MARKETING, "segments", MANAGERS),
    Page(CampaignView, None, _l("Campaigns"), MARKETING, "campaigns", MANAGERS),
    Page(RecallView, None, _l("Recalls"), MARKETING, "recalls", MANAGERS),
    Page(CustomerValueView, None, _l("Customer value"), MARKETING, "customer_value", MANAGERS),
    Page(DriveCalendarView, None, _l("Test drives"), NEW_CARS, "test_drives", ALL),
    Page(QuoteView, None, _l("Quotes"), NEW_CARS, "quotes", ALL),
    Page(SalesOrderView, None, _l("Car orders"), NEW_CARS, "sales_orders", ALL),
    Page(SalesBoardView, None, _l("Sales board"), NEW_CARS, "sales_board", MANAGERS),
    Page(SalesFunnelView, None, _l("Sales funnel"), NEW_CARS, "sales_funnel", MANAGERS),
    Page(CallConsoleView, None, _l("Call console"), CALL_CENTRE, "calls", EVERYONE),
    Page(TaskApprovalsView, None, _l("Task approvals"), CALL_CENTRE, "task_approvals", MANAGERS),
    Page(TaskRulesView, None, _l("Task rules"), CALL_CENTRE, "task_rules", (MANAGER,)),
    Page(ComplaintsView, None, _l("Complaints"), SERVICE_QUALITY, "complaints", ALL),
    Page(
        ComplaintAnalyticsView,
        None,
        _l("Complaint analytics"),
        SERVICE_QUALITY,
        "complaint_analytics",
        MANAGERS,
    ),
    Page(SurveyResultsView, None, _l("Satisfaction (CSI)"), SERVICE_QUALITY, "csi", MANAGERS),
    Page(InvitationsView, None, _l("Reception"), CALL_CENTRE, "invitations", EVERYONE),
    Page(TomorrowView, None, _l("Tomorrow's plan"), CALL_CENTRE, "tomorrow", EVERYONE),
    Page(
        ActivityReportView,
        None,
        _l("Daily activity report"),
        CALL_CENTRE,
        "activity_report",
        EVERYONE,
    ),
    Page(shop.OrdersView, None, _l("Orders"), SHOP, "shop_orders", ALL),
    Page(SalesView, None, _l("Sales"), SHOP, "shop_sales", MANAGERS),
    Page(shop.StockView, None, _l("Stock"), SHOP, "shop_stock", MANAGERS),
    Page(shop.ProductAdmin, Product, _l("Products"), SHOP, "shop_products", MANAGERS),
    Page(CatalogImportView, None, _l("Import the catalog"), SHOP, "catalog_imports", MANAGERS),
    Page(shop.CategoryAdmin, Category, _l("Categories"), SHOP, "shop_categories", MANAGERS),
    Page(shop.DiscountAdmin, Discount, _l("Discounts"), SHOP, "shop_discounts", MANAGERS),
    Page(
        shop.PlacementAdmin, Placement, _l("Hot and recommended"), SHOP, "shop_placements", MANAGERS
    ),  # fmt: skip
    Page(OutboxView, None, _l("Outbox and jobs"), None, "outbox", (ADMIN,)),
    Page(ApiTokenView, None, _l("API tokens"), None, "api_tokens", (ADMIN,)),
    Page(PrivacyPolicyView, None, _l("Privacy policy"), None, "privacy_policy", (ADMIN,)),
    Page(ExportView, None, _l("List exports"), None, "exports", ALL),
    Page(ImportView, None, _l("Import customers"), CUSTOMERS, "imports", MANAGERS),
    Page(LeadImportView, None, _l("Import platform leads"), NEW_CARS, "lead_imports", MANAGERS),
    Page(WebhookView, None, _l("Webhooks"), STORE, "webhooks", MANAGERS),
    Page(GroupDashboardView, None, _l("Store comparison"), None, "group_dashboard", GROUP_VIEW),
    Page(HelpView, None, _l("Help"), None, "manual", (*EVERYONE, *GROUP_ROLES, TECHNICIAN)),
)


def build_view(page: Page):
    """Instantiate one page's view with its menu place and the roles that may open it."""
    place = {"name": page.name, "category": page.category, "endpoint": page.endpoint}
    view = page.view(page.model, db, **place) if page.model else page.view(**place)
    view.roles = page.roles
    return view


def init_admin(app: Flask) -> Admin:
    """Build the back office for this app (one Admin per app, never module-level)."""
    home = StaffHomeView(name=_l("Home"), url="/admin", endpoint="admin")
    # The group's roles are sent on to their dashboard, technicians to their jobs.
    home.roles = (*EVERYONE, *GROUP_ROLES, TECHNICIAN)
    admin = Admin(
        app,
        name="M4S",
        index_view=home,
        theme=Bootstrap4Theme(base_template="admin/m4s_base.html", fluid=True),
        csp_nonce_generator=lambda: g.get("csp_nonce", ""),
    )
    app.before_request(refuse_broken_return_url)
    charts.init_app(app)
    views = [build_view(page) for page in PAGES]
    for view in views:
        admin.add_view(view)
    list_export.register(app, [v for v in views if isinstance(v, StaffModelView)])
    shop.add_home_panels()
    app.jinja_env.globals["code_label"] = code_label
    app.jinja_env.globals["role_label"] = lambda role: ROLE_LABELS.get(role, role)
    app.jinja_env.filters["storetime"] = display.storetime
    app.jinja_env.filters["storeday"] = display.storeday
    return admin
