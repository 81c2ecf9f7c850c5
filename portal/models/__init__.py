"""All models, imported here so that metadata and migrations see every table."""

from portal.models.accounts import (
    AdvisorProfile,
    LoginSession,
    PasswordHistory,
    PasswordResetToken,
    UnlockApproval,
    UnlockRequest,
    User,
)
from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.bookings import (
    Booking,
    BookingEvent,
    BookingPhoto,
    Notification,
    Rating,
    ServiceItem,
    ServiceRecord,
    SlotUsage,
    StoreDay,
)
from portal.models.channels import (
    ChannelPreference,
    ChannelToken,
    MarketingConsent,
    SmsLoginCode,
    WeChatBinding,
)
from portal.models.consents import ConsentRecord, PolicyVersion
from portal.models.devices import RecentLoginFailure, StaffDevice, StaffTotp, TotpRecoveryCode
from portal.models.finance import InsurancePolicy, Loan, PolicyReminder
from portal.models.inspections import (
    Inspection,
    InspectionClip,
    InspectionItem,
    InspectionItemSave,
    InspectionTemplate,
    InspectionUptake,
    JobLine,
    TemplateItem,
)
from portal.models.jobcards import BookingTechnician, JobLabourLine, JobPartLine
from portal.models.maintenance import (
    DueEvent,
    MaintenancePlan,
    MaintenanceReminder,
    PlanItem,
    ReminderCheck,
    UptakeStat,
    VehicleItemState,
)
from portal.models.media import Image
from portal.models.notices import Notice, NoticeRecipient
from portal.models.outbox import JobRun, OutboxMessage
from portal.models.rescue import Rescue, RescueEvent
from portal.models.stores import Brand, Region, Store, store_brands
from portal.models.usedcars import (
    UsedCarEvent,
    UsedCarFlag,
    UsedCarLead,
    UsedCarPhoto,
    UsedCarRequest,
    UsedCarTransition,
)
from portal.models.vehicles import MileageReading, Vehicle
from portal.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AdvisorProfile",
    "AuditEvent",
    "Base",
    "RecentLoginFailure",
    "StaffDevice",
    "StaffTotp",
    "TotpRecoveryCode",
    "Booking",
    "BookingEvent",
    "BookingPhoto",
    "ChannelPreference",
    "ChannelToken",
    "Notification",
    "Rating",
    "Rescue",
    "RescueEvent",
    "ServiceItem",
    "SmsLoginCode",
    "ServiceRecord",
    "SlotUsage",
    "StoreDay",
    "DueEvent",
    "Image",
    "Inspection",
    "InspectionClip",
    "InspectionItem",
    "InspectionItemSave",
    "InspectionTemplate",
    "InspectionUptake",
    "JobLine",
    "BookingTechnician",
    "JobLabourLine",
    "JobPartLine",
    "TemplateItem",
    "MaintenancePlan",
    "MaintenanceReminder",
    "MarketingConsent",
    "ConsentRecord",
    "PolicyVersion",
    "PlanItem",
    "UptakeStat",
    "VehicleItemState",
    "InsurancePolicy",
    "JobRun",
    "Loan",
    "LoginSession",
    "MileageReading",
    "Notice",
    "NoticeRecipient",
    "OutboxMessage",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "PasswordHistory",
    "PasswordResetToken",
    "PolicyReminder",
    "ReminderCheck",
    "Region",
    "Brand",
    "store_brands",
    "Store",
    "UnlockApproval",
    "UnlockRequest",
    "UsedCarEvent",
    "UsedCarFlag",
    "UsedCarLead",
    "UsedCarPhoto",
    "UsedCarRequest",
    "UsedCarTransition",
    "User",
    "Vehicle",
    "WeChatBinding",
]
