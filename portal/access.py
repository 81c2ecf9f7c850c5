"""Who may see what: the one home of the store rule, the owner rule and phone masking.

The rule, by role (an inactive account, or anyone not signed in, may do nothing here):

- owner: their own records only (``owned_by``, ``owner_scope``), never a store's records,
  although an owner has a home store.
- advisor: sees every record of their own store (``in_store``, ``store_scope``) and does the
  daily work on it: bookings, rescues they handle, used-car reviews they are expert of, video.
- manager: sees the same as their store's advisors, and also manages the store: reassigning
  work and customers, notices, opening days, cameras, the store's advisors, its analytics.
- admin: sees and manages every store (``sees_all_stores``), and the group-wide data.
- hq (the group's headquarters) and region (a regional manager): no store's records at all,
  only figures aggregated per store (``compares_stores``, ``compared_stores``): headquarters
  over every store, a regional manager over the stores of their region. They have no store, so
  every store rule above answers "nothing" for them.
- manufacturer (厂家, a car brand's officer): like the group's roles, figures only, over the
  stores that sell their brand (``compared_stores``), and of their brand only, since a group
  store sells other brands too: bookings, leads, surveys, complaints, sales orders and used
  cars of their brand (``compared_brand_rows``, on the brand each row keeps; a booking keeps
  its car's brand as it was when booked).
- technician: a workshop technician of one store sees the jobs assigned to them
  (``assigned_jobs``, ``assigned_to``), and nothing else of the store: every store rule above
  answers "nothing" for them too, although they have a store. On those jobs they record the
  work with the store's staff (``works_on``, ``job_scope``, ``job_record``): the job card's
  lines and the car's inspection, with its photos.

What a role may *do* to a visible record (decide, reassign, publish) is the service's own role
check on top of this rule; this module only answers "may they see it at all".

Records of another store, or of another owner, do not exist for the actor: the lookups
raise NotFound (a 404), never a 403 that would confirm the id exists. An uploaded image
follows the rule of the record it shows (``image_visible``). Staff see the phone of a
colleague's customer masked (``customer_phone``).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select, false, select

from portal.errors import NotFound
from portal.extensions import db
from portal.models.accounts import (
    ADMIN,
    ADVISOR,
    HQ,
    MANUFACTURER,
    REGION,
    STAFF_ROLES,
    TECHNICIAN,
)

T = TypeVar("T")


class Actor(Protocol):
    """The signed-in account as the rule reads it (a User, or Flask-Login's current user)."""

    id: int
    role: str
    store_id: int | None
    is_active: bool


def _signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", True))


def is_active_staff(user: Actor | None) -> bool:
    """Return whether the user is signed in, active and has a staff role."""
    return _signed_in(user) and user.role in STAFF_ROLES and bool(user.is_active)


def sees_all_stores(user: Actor | None) -> bool:
    """Return whether the user is an active admin, who sees every store."""
    return is_active_staff(user) and user.role == ADMIN


def compares_stores(user: Actor | None) -> bool:
    """Return whether the user may see stores' aggregated figures side by side."""
    return is_active_staff(user) and user.role in (ADMIN, HQ, REGION, MANUFACTURER)


def compared_stores(stmt: Select, column: Any, user: Actor | None) -> Select:
    """Filter a select to the stores whose figures the user compares: every store for admins
    and headquarters, their region's stores for a regional manager, the stores selling their
    brand for a manufacturer's officer, none for anyone else.

    ``column`` is the store id column (``Store.id``, ``Booking.store_id``)."""
    from portal.models.stores import Store, store_brands

    if not compares_stores(user):
        return stmt.where(false())
    if user.role == REGION:
        region_id = getattr(user, "region_id", None)
        if region_id is None:
            return stmt.where(false())
        return stmt.where(column.in_(select(Store.id).where(Store.region_id == region_id)))
    if user.role == MANUFACTURER:
        brand_id = getattr(user, "brand_id", None)
        if brand_id is None:
            return stmt.where(false())
        selling = select(store_brands.c.store_id).where(store_brands.c.brand_id == brand_id)
        return stmt.where(column.in_(selling))
    return stmt


def compares_one_brand(user: Actor | None) -> bool:
    """Return whether the user compares one brand's figures only (a manufacturer's officer),
    so that store-wide counts (the daily rollups, shop sales) are not theirs."""
    return compares_stores(user) and user.role == MANUFACTURER


def compared_brand_rows(stmt: Select, column: Any, user: Actor | None) -> Select:
    """Filter a select of rows that carry a brand to the rows the user compares: those of
    their brand for a manufacturer's officer (a row of another brand, or of none known, is
    not theirs), every row for the group's other roles, none for anyone else.

    ``column`` is the rows' brand id column (``Lead.brand_id``), or None for rows that carry
    no brand (a shop order): none of them is a brand's. The stores are filtered separately
    (``compared_stores``)."""
    if not compares_stores(user):
        return stmt.where(false())
    if user.role != MANUFACTURER:
        return stmt
    brand_id = getattr(user, "brand_id", None)
    if column is None or brand_id is None:
        return stmt.where(false())
    return stmt.where(column == brand_id)


def compared_brand(user: Actor | None) -> Any:
    """Return the brand a manufacturer's officer compares the stores and cars of (None for
    every other role)."""
    from portal.models import Brand

    if not compares_stores(user) or user.role != MANUFACTURER:
        return None
    return db.session.get(Brand, getattr(user, "brand_id", None) or 0)


def sees_store_records(user: Actor | None) -> bool:
    """Return whether the user is active staff who sees their store's records (a technician
    sees only their own jobs)."""
    return is_active_staff(user) and user.role != TECHNICIAN


def in_store(user: Actor | None, store_id: int | None) -> bool:
    """Return whether the user may see and act on records of this store."""
    if not sees_store_records(user):
        return False
    return user.role == ADMIN or (user.store_id is not None and user.store_id == store_id)


def owned_by(user: Actor | None, record: Any, column: str = "owner_id") -> bool:
    """Return whether the record belongs to this signed-in, active user."""
    if not _signed_in(user) or not user.is_active or record is None:
        return False
    return getattr(record, column) == user.id


def store_filter(user: Actor | None) -> int | None:
    """Return the store id to filter by: None for admins (every store); NotFound for non-staff."""
    if sees_all_stores(user):
        return None
    if not sees_store_records(user) or user.store_id is None:
        raise NotFound(_("Page not found"))  # a page's view checks the role before this
    return user.store_id


def store_scope(stmt: Select, column: Any, user: Actor | None) -> Select:
    """Filter a select (or an ORM query) to the rows of the user's store; none for non-staff.

    ``column`` is the store column, or a model with a ``store_id`` attribute."""
    col = column.store_id if isinstance(column, type) else column
    if sees_all_stores(user):
        return stmt
    if not sees_store_records(user) or user.store_id is None:
        return stmt.where(false())
    return stmt.where(col == user.store_id)


def chosen_store_scope(
    stmt: Select, column: Any, user: Actor | None, store_id: int | None
) -> Select:
    """Filter a select to the user's store (``store_scope``) and, for a user who sees every
    store, to the one store they chose (None: every store). Store staff keep their own store
    whatever they chose."""
    stmt = store_scope(stmt, column, user)
    if store_id is not None and sees_all_stores(user):
        col = column.store_id if isinstance(column, type) else column
        stmt = stmt.where(col == store_id)
    return stmt


def is_technician(user: Actor | None) -> bool:
    """Return whether the user is an active technician of a store."""
    return is_active_staff(user) and user.role == TECHNICIAN and user.store_id is not None


def assigned_jobs(stmt: Select, user: Actor | None) -> Select:
    """Filter a select of bookings to the jobs of the technician's store assigned to them;
    none for anyone else."""
    from portal.models import Booking, BookingTechnician

    if not is_technician(user):
        return stmt.where(false())
    mine = select(BookingTechnician.booking_id).where(BookingTechnician.technician_id == user.id)
    return stmt.where(Booking.store_id == user.store_id, Booking.id.in_(mine))


def assigned_to(user: Actor | None, booking: Any) -> bool:
    """Return whether the booking is a job of the technician's store assigned to them."""
    from portal.models import BookingTechnician

    if booking is None or not is_technician(user) or booking.store_id != user.store_id:
        return False
    mine = select(BookingTechnician.booking_id).where(
        BookingTechnician.booking_id == booking.id, BookingTechnician.technician_id == user.id
    )
    return db.session.scalar(mine) is not None


def works_on(user: Actor | None, booking: Any) -> bool:
    """Return whether the user may record the work on a booking's job (inspect the car):
    staff of its store, or the technician the job is assigned to."""
    return booking is not None and (in_store(user, booking.store_id) or assigned_to(user, booking))


def job_scope(stmt: Select, user: Actor | None, store_id: int | None = None) -> Select:
    """Filter a select of bookings to the jobs the user records the work of: a technician's
    assigned jobs (``assigned_jobs``), else the store's (``chosen_store_scope``)."""
    from portal.models import Booking

    if is_technician(user):
        return assigned_jobs(stmt, user)
    return chosen_store_scope(stmt, Booking, user, store_id)


def job_record(user: Actor | None, model: type[T], record_id: Any, message: str) -> T:
    """Return a booking, or a record of one job (it has ``booking``), if the user works on
    that job (``works_on``), else NotFound."""
    from portal.models import Booking

    record = _get(model, record_id)
    booking = record if isinstance(record, Booking) else getattr(record, "booking", None)
    if record is None or not works_on(user, booking):
        raise NotFound(message)
    return record


def require_works_on(user: Actor | None, booking: Any, message: str) -> None:
    """Raise NotFound unless the user works on the booking's job (``works_on``)."""
    if not works_on(user, booking):
        raise NotFound(message)


def owner_scope(stmt: Select, column: Any, user: Actor | None) -> Select:
    """Filter a select to the signed-in, active user's own rows (``column``: the owner column)."""
    if not _signed_in(user) or not user.is_active:
        return stmt.where(false())
    return stmt.where(column == user.id)


def store_record(user: Actor | None, model: type[T], record_id: Any, message: str) -> T:
    """Return the record if it is in the user's store (any store for admins), else NotFound."""
    record = _get(model, record_id)
    if record is None or not in_store(user, record.store_id):
        raise NotFound(message)
    return record


def owned_record(
    user: Actor | None, model: type[T], record_id: Any, message: str, column: str = "owner_id"
) -> T:
    """Return the record if it belongs to the user, else NotFound."""
    record = _get(model, record_id)
    if record is None or not owned_by(user, record, column):
        raise NotFound(message)
    return record


def require_store(user: Actor | None, store_id: int | None, message: str) -> None:
    """Raise NotFound unless the user may act in this store."""
    if not in_store(user, store_id):
        raise NotFound(message)


def require_owner(user: Actor | None, record: Any, message: str, column: str = "owner_id") -> None:
    """Raise NotFound unless the record belongs to the user."""
    if not owned_by(user, record, column):
        raise NotFound(message)


def _get(model: type[T], record_id: Any) -> T | None:
    try:
        key = int(record_id)
    except (TypeError, ValueError):
        return None
    if not -(2**63) <= key < 2**63:
        return None  # beyond any database's integer: no such row, not an overflow
    return db.session.get(model, key)


def mask_phone(phone: str | None) -> str:
    """Hide the middle of a phone number: 13800000001 -> 138****0001."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def customer_phone(viewer: Actor | None, customer: Any) -> str:
    """Return a customer's phone as this staff member may see it: whole for the customer's
    own advisor, a manager of their store and admins; masked for colleagues; empty otherwise."""
    phone = customer.phone or ""
    if not in_store(viewer, customer.store_id):
        return ""
    if viewer.role == ADVISOR and customer.advisor_id != viewer.id:
        return mask_phone(phone)
    return phone


def image_visible(user: Actor | None, image: Any) -> bool:
    """Return whether the user may see an uploaded image: by the rule of the record it shows.

    Images without an owner are public assets (advisor portraits, product photos). An owner's
    image is theirs; a booking or inspection photo is also seen by staff of its store, and an
    inspection photo by the technician assigned to the job; a used-car photo by staff of the
    car's store, and by everyone while the car is listed for sale."""
    from portal.models import Booking, BookingPhoto, UsedCarPhoto, UsedCarRequest
    from portal.models.usedcars import LISTED

    if image.owner_id is None or owned_by(user, image):
        return True
    car = db.session.execute(
        select(UsedCarRequest.store_id, UsedCarRequest.status)
        .join(UsedCarPhoto, UsedCarPhoto.request_id == UsedCarRequest.id)
        .where(UsedCarPhoto.image_id == image.id)
    ).first()
    if car is not None:
        return car.status == LISTED or in_store(user, car.store_id)
    if not is_active_staff(user):
        return False
    stores = db.session.scalars(
        select(Booking.store_id)
        .join(BookingPhoto, BookingPhoto.booking_id == Booking.id)
        .where(BookingPhoto.image_id == image.id)
    ).all()
    if any(in_store(user, store_id) for store_id in stores):
        return True
    # An inspection photo: staff of the inspection's store (its owner is the image's owner).
    from portal.models import Inspection, InspectionItem

    inspected = db.session.scalars(
        select(Inspection.store_id)
        .join(InspectionItem, InspectionItem.inspection_id == Inspection.id)
        .where(InspectionItem.image_id == image.id)
    ).all()
    if any(in_store(user, store_id) for store_id in inspected):
        return True
    if not is_technician(user):
        return False
    # The technician assigned to the inspected job sees the photos taken on it.
    jobs = db.session.scalars(
        select(Booking)
        .join(Inspection, Inspection.booking_id == Booking.id)
        .join(InspectionItem, InspectionItem.inspection_id == Inspection.id)
        .where(InspectionItem.image_id == image.id)
    ).all()
    return any(assigned_to(user, booking) for booking in jobs)
