"""What the API reads and writes: pydantic models, the source of the OpenAPI schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.paging import PageQuery
from crm.models import LOST_REASONS, SOURCES, STAGES, STATES, TIMEFRAMES
from portal.models.bookings import SERVICE_TYPES, STATUSES
from shop.models import ORDER_STATUSES

ServiceType = Literal[SERVICE_TYPES]  # type: ignore[valid-type]
BookingStatus = Literal[STATUSES]  # type: ignore[valid-type]


def _holds_nul(value) -> bool:
    """Return whether a request body's value holds a NUL character anywhere inside it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


class In(BaseModel):
    """A request body: no unknown fields, and no NUL character in any text (PostgreSQL refuses
    them in text columns; the query string and forms are checked by portal.inputs)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data):
        if _holds_nul(data):
            raise ValueError("Text may not contain NUL characters.")
        return data


class Out(BaseModel):
    """An answer read from a model's attributes."""

    model_config = ConfigDict(from_attributes=True)


class Vehicle(Out):
    id: int
    owner_id: int
    vin: str
    plate: str
    brand: str
    series: str
    model_year: int
    purchase_date: date | None
    current_km: int


class Customer(Out):
    id: int
    name: str
    phone: str = Field(description="Masked (138****0001) unless the token may see whole numbers")
    store_id: int | None
    advisor_id: int | None
    created_at: datetime
    vehicles: list[Vehicle]


class ServiceItem(Out):
    kind: Literal["labour", "part"]
    description: str
    part_no: str
    quantity: int
    unit_price_fen: int


class ServiceRecord(Out):
    id: int
    booking_id: int | None
    vehicle_id: int
    store_id: int
    advisor_id: int | None
    mileage_km: int
    fault_category: str
    technician_note: str
    total_fen: int = Field(description="Integer fen (1 CNY = 100 fen)")
    completed_at: datetime
    items: list[ServiceItem]


class Booking(Out):
    id: int
    owner_id: int
    vehicle_id: int
    store_id: int
    status: BookingStatus
    slot_start: datetime
    proposed_start: datetime | None
    service_types: list[str]
    description: str
    advisor_id: int | None
    created_at: datetime
    updated_at: datetime


class Product(Out):
    id: int
    sku: str
    name: str = Field(description="The name in Chinese (the original)")
    name_en: str = Field(description="The name in English; empty when none is set")
    category_id: int
    price_fen: int = Field(description="Integer fen (1 CNY = 100 fen)")
    stock: int = Field(description="Units for sale in all the group's stores together")
    low_stock: int = Field(description="The low-stock threshold a store starts with")
    is_active: bool


class StoreStock(Out):
    """A product's stock on one store's shelf."""

    product_id: int
    store_id: int
    stock: int = Field(description="Units for sale at this store")
    low_stock: int = Field(description="Stock at or below this is low at this store")


class Camera(Out):
    """A workshop camera's state; never its stream address or credentials."""

    id: int
    store_id: int
    bay: int | None
    name: str
    is_active: bool
    status: Literal["unknown", "online", "offline"]
    checked_at: datetime | None
    last_ok_at: datetime | None


class CustomerPage(BaseModel):
    items: list[Customer]
    next_cursor: str | None


class VehiclePage(BaseModel):
    items: list[Vehicle]
    next_cursor: str | None


class ServiceRecordPage(BaseModel):
    items: list[ServiceRecord]
    next_cursor: str | None


class BookingPage(BaseModel):
    items: list[Booking]
    next_cursor: str | None


class ProductPage(BaseModel):
    items: list[Product]
    next_cursor: str | None


class CameraPage(BaseModel):
    items: list[Camera]
    next_cursor: str | None


class IdempotencyHeaders(BaseModel):
    """Every POST names itself, so that a retry is answered and never done twice."""

    idempotency_key: str = Field(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A key unique per request of this token, e.g. a UUID",
    )


class BookingCreate(In):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1, le=2**31 - 1)
    vehicle_id: int = Field(ge=1, le=2**31 - 1, description="One of the customer's vehicles")
    store_id: int = Field(ge=1, le=2**31 - 1)
    slot_start: AwareDatetime = Field(description="One of the store's free slots, with offset")
    service_types: list[ServiceType] = Field(min_length=1, max_length=len(SERVICE_TYPES))
    description: str = Field("", max_length=2000)


class BookingReschedule(In):
    model_config = ConfigDict(extra="forbid")

    slot_start: AwareDatetime


class BookingCancel(In):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500)


class MileageReading(In):
    """An odometer reading from another system (a DMS at check-in, a telematics feed)."""

    model_config = ConfigDict(extra="forbid")

    km: int = Field(ge=0, le=3_000_000, description="The odometer in km; never below the last")


# -- leads and shop orders ------------------------------------------------------------------

LeadSource = Literal[SOURCES]  # type: ignore[valid-type]
LeadState = Literal[STATES]  # type: ignore[valid-type]
LeadTimeframe = Literal[TIMEFRAMES]  # type: ignore[valid-type]
OrderStatus = Literal[ORDER_STATUSES]  # type: ignore[valid-type]
PHONE_RULE = (
    "Masked (138****0001) unless the token was made with whole phone numbers "
    "(full_phones); a lead's contact data is then given whole, as its store's manager sees it"
)


class Lead(BaseModel):
    id: int
    store_id: int
    customer_id: int
    customer_name: str
    phone: str = Field(description=PHONE_RULE)
    advisor_id: int | None = Field(description="The advisor the lead was routed to, if any")
    advisor_name: str | None
    source: LeadSource
    model_interest: str
    campaign: str = Field(description="The campaign (utm_campaign) that brought the lead")
    timeframe: LeadTimeframe
    grade: Literal["H", "A", "B", "C"]
    stage: str
    state: LeadState
    created_at: datetime
    updated_at: datetime


class LeadCaptured(Lead):
    created: bool = Field(description="False: the person's open lead at the store was updated")


class LeadPage(BaseModel):
    items: list[Lead]
    next_cursor: str | None


class LeadQuery(PageQuery):
    state: LeadState | None = None
    source: LeadSource | None = None
    updated_since: AwareDatetime | None = Field(
        None, description="Only leads changed at or after this time (with offset)"
    )


class LeadCreate(In):
    """An inquiry from an external channel: deduplicated by phone, routed to an advisor."""

    model_config = ConfigDict(extra="forbid")

    store_id: int = Field(ge=1, le=2**31 - 1)
    name: str = Field(min_length=1, max_length=80)
    phone: str = Field(pattern=r"^1[3-9][0-9]{9}$", description="A mainland mobile number")
    source: LeadSource = "import"
    model_interest: str = Field("", max_length=80)
    campaign: str = Field("", max_length=60)
    timeframe: LeadTimeframe = "later"
    wants_test_drive: bool = False
    note: str = Field("", max_length=2000)


class OrderLine(Out):
    product_id: int
    name: str = Field(description="The product's Chinese name when it was bought")
    name_en: str = Field(description="Its English name then; empty when none was set")
    unit_price_fen: int = Field(description="Integer fen paid per unit")
    list_price_fen: int = Field(description="Integer fen of the list price")
    quantity: int


class Order(Out):
    id: int
    number: str
    customer_id: int = Field(validation_alias="user_id")
    store_id: int
    status: OrderStatus
    delivery: Literal["pickup", "delivery"]
    payment: Literal["store", "stripe"]
    total_fen: int = Field(description="Integer fen (1 CNY = 100 fen)")
    refunded_fen: int = Field(description="Integer fen refunded so far")
    created_at: datetime
    paid_at: datetime | None
    lines: list[OrderLine]


class OrderPage(BaseModel):
    items: list[Order]
    next_cursor: str | None


class OrderQuery(PageQuery):
    status: OrderStatus | None = None


# -- updates: a customer's contact details, a lead's stage, a product's stock ---------------

LostReason = Literal[LOST_REASONS]  # type: ignore[valid-type]
StageTarget = Literal[(*STAGES[1:], "lost")]  # type: ignore[valid-type]


class CustomerUpdate(In):
    """The contact details to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=80)
    email: str | None = Field(
        None, max_length=254, description="An empty string removes the email (a phone stays)"
    )
    phone: str | None = Field(
        None,
        max_length=20,
        description="A mainland mobile number in any common spelling (+86, spaces, dashes); "
        "refused with 409 when another customer record holds it (merge them instead)",
    )


class LeadStageMove(In):
    """A step of the pipeline: a later stage, or lost (with a reason; a manager approves)."""

    model_config = ConfigDict(extra="forbid")

    stage: StageTarget = Field(
        description="A later stage than the lead's; 'lost' asks a manager to close it as lost"
    )
    lost_reason: LostReason | None = Field(None, description="Required when stage is 'lost'")
    note: str = Field("", max_length=2000)


class StockChange(In):
    """A stock adjustment: a change by delta, or a count of the units on the shelf."""

    model_config = ConfigDict(extra="forbid")

    delta: int | None = Field(
        None, ge=-1_000_000, le=1_000_000, description="Units added (+) or taken off (-)"
    )
    count: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Units counted on the shelf, including those held for open orders",
    )
    reason: str = Field(min_length=1, max_length=200, description="Why, for the stock ledger")
    store_id: int | None = Field(
        None,
        ge=1,
        le=2_147_483_647,
        description="The store whose shelf changed: a store's token may leave it out (its own "
        "store); a group token must name it",
    )

    @model_validator(mode="after")
    def _one_way(self) -> StockChange:
        if (self.delta is None) == (self.count is None):
            raise ValueError("give either delta or count")
        return self
