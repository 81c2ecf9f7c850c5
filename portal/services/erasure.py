"""Delete my account (PIPL art. 47): asked for with the password, erased after a grace period.

Asking ends every session at once (the session version moves on) and starts the grace period
(M4S_ERASURE_GRACE_DAYS, 7 by default); signing in within it can cancel. Then the worker's
`account-erasure` job erases the account:
- the person: name, phone, email, password, calendar feed, referral link and sign-ins go;
- their cars keep their service history for the workshop's statistics, under a VIN and plate
  that no longer name the car;
- what the law makes the dealer keep (orders and invoices, service records, rescues handled)
  stays, anonymised: no delivery address, no callback number, rescue coordinates coarsened to
  about a kilometre, notes cleared;
- their messages, channel settings, marketing consents, WeChat binding, carts, sign-in
  codes, and the CRM card staff kept (profile, tags, links to other customers) are deleted;
- every picture and clip of them or their cars is deleted: the photos they uploaded with a
  booking or a used car, the inspection photos and video clips of their cars, and any other
  image stored as theirs. The records that showed one keep themselves without it. Images and
  clips live in the database, so they go in the erasure's own transaction: a rollback keeps
  them and their rows together, and no file is left behind on any node.
Each step is audited. Tables of other packages are reached through the metadata by name
(portal never imports shop or crm).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import (
    Base,
    Booking,
    BookingPhoto,
    Image,
    Inspection,
    InspectionClip,
    InspectionItem,
    Rescue,
    User,
    Vehicle,
)
from portal.models.accounts import OWNER
from portal.models.usedcars import UsedCarPhoto, UsedCarRequest
from portal.services import audit, notify
from portal.services.passwords import verify_password
from portal.timeutil import now
from portal.wording import day_label

ERASED_NAME = "已注销用户"
# Rows that are only the person's, deleted outright (child tables first).
DELETED = (
    ("notifications", "user_id"),
    ("channel_preferences", "user_id"),
    ("marketing_consents", "user_id"),  # no campaign may count an erased person as consenting
    ("consent_records", "user_id"),
    ("wechat_bindings", "user_id"),
    ("login_sessions", "user_id"),
    ("sms_login_codes", "user_id"),
    ("password_history", "user_id"),
    ("password_reset_tokens", "user_id"),
    ("shop_cart_items", None),  # through shop_carts
    ("shop_carts", "user_id"),
    ("crm_customer_profiles", "customer_id"),  # what staff noted about the person
    ("crm_customer_tags", "customer_id"),
    ("crm_customer_values", "customer_id"),  # what they spent, and their value band
    ("crm_customer_relations", "low_id"),  # family, company and referral links
    ("crm_customer_relations", "high_id"),
)

# Every column that points at a stored image, and what erasing the image does to its row: a
# photo's own link row goes with it, a record that showed it stays without it. A new column
# pointing at images must be named here (a test checks), or erasing its image would fail.
DELETE_ROW, UNLINK = "delete", "unlink"
IMAGE_REFERENCES = {
    ("booking_photos", "image_id"): DELETE_ROW,
    ("used_car_photos", "image_id"): DELETE_ROW,
    ("inspection_items", "image_id"): UNLINK,
    ("advisor_profiles", "photo_id"): UNLINK,
    ("shop_products", "image_id"): UNLINK,
}


def _zone(user: User) -> str | None:
    return user.store.timezone if user.store else None


def grace() -> timedelta:
    return timedelta(days=current_app.config["ERASURE_GRACE_DAYS"])


def erasure_day(user: User) -> datetime | None:
    """When the account will be erased, if the owner asked."""
    return user.erasure_requested_at + grace() if user.erasure_requested_at else None


def request_erasure(owner: User, password: str) -> datetime:
    """Start the grace period and end every session; return when the erasure will happen."""
    if owner.role != OWNER:
        raise ValidationError(_("Only car owners can delete their account here."))
    if not verify_password(owner.password_hash, password or ""):
        raise ValidationError(_("The password is not right."), field="password")
    asked = now()
    done = db.session.execute(
        update(User)
        .where(User.id == owner.id, User.erasure_requested_at.is_(None), User.is_active)
        .values(erasure_requested_at=asked, session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict(_("Deleting this account was already asked for."))
    db.session.refresh(owner)
    audit.record("erasure_requested", actor=owner, target=owner)
    day = asked + grace()
    notify.notify(
        owner,
        _(
            "Your account will be deleted on %(day)s. Sign in before then to cancel.",
            day=day_label(day, _zone(owner)),
        ),
        url_for("privacy.privacy_page"),
        kind="account",
    )
    return day


def cancel_erasure(owner: User) -> bool:
    """Cancel a pending erasure; False if none was pending."""
    done = db.session.execute(
        update(User)
        .where(User.id == owner.id, User.erasure_requested_at.is_not(None), User.is_active)
        .values(erasure_requested_at=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount == 1:
        db.session.refresh(owner)
        audit.record("erasure_cancelled", actor=owner, target=owner)
    return done.rowcount == 1


def erase_due(limit: int = 200) -> int:
    """Erase every account whose grace period is over (the worker's job); return how many."""
    due = db.session.scalars(
        select(User.id)
        .where(
            User.erasure_requested_at <= now() - grace(),
            User.is_active.is_(True),
            User.role == OWNER,
        )
        .order_by(User.id)
        .limit(limit)
    ).all()
    erased = 0
    for user_id in due:
        user = db.session.scalar(
            select(User)
            .where(User.id == user_id, User.is_active.is_(True))
            .where(User.erasure_requested_at <= now() - grace())
            .with_for_update(skip_locked=True)
        )
        if user is not None:  # else cancelled meanwhile, or another worker has it
            _erase(user)
            erased += 1
        db.session.commit()
    return erased


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def _their_images(uid: int):
    """The ids of the images of a person: stored as theirs, or showing their bookings, their
    cars' inspections or the used cars they offered (whoever took the picture)."""
    bookings = select(Booking.id).where(Booking.owner_id == uid)
    return (
        select(Image.id)
        .where(Image.owner_id == uid)
        .union(
            select(BookingPhoto.image_id).where(BookingPhoto.booking_id.in_(bookings)),
            select(InspectionItem.image_id)
            .join(Inspection, Inspection.id == InspectionItem.inspection_id)
            .where(Inspection.booking_id.in_(bookings), InspectionItem.image_id.is_not(None)),
            select(UsedCarPhoto.image_id)
            .join(UsedCarRequest, UsedCarRequest.id == UsedCarPhoto.request_id)
            .where(UsedCarRequest.owner_id == uid),
        )
    )


def _erase_media(uid: int) -> dict[str, int]:
    """Delete the person's images and their cars' inspection clips, and every reference to
    them; return how many of each went."""
    items = (
        select(InspectionItem.id)
        .join(Inspection, Inspection.id == InspectionItem.inspection_id)
        .join(Booking, Booking.id == Inspection.booking_id)
        .where(Booking.owner_id == uid)
    )
    clips = db.session.execute(
        delete(InspectionClip)
        .where(InspectionClip.item_id.in_(items))
        .execution_options(synchronize_session=False)
    ).rowcount
    image_ids = list(db.session.scalars(_their_images(uid)))
    for start in range(0, len(image_ids), 500):  # within any SQLite build's bound-value limit
        chunk = image_ids[start : start + 500]
        for (name, column), action in IMAGE_REFERENCES.items():
            table = Base.metadata.tables.get(name)
            if table is None:
                continue
            where = table.c[column].in_(chunk)
            if action == DELETE_ROW:
                db.session.execute(delete(table).where(where))
            else:
                db.session.execute(update(table).where(where).values({column: None}))
        db.session.execute(
            delete(Image).where(Image.id.in_(chunk)).execution_options(synchronize_session=False)
        )
    db.session.flush()
    db.session.expire_all()  # loaded bookings and items no longer have those photos
    return {"images": len(image_ids), "clips": clips}


def _erase(user: User) -> None:
    uid = user.id
    media = _erase_media(uid)
    for name, column in DELETED:
        table = Base.metadata.tables.get(name)
        if table is None:
            continue
        if column is None:  # the cart items of the person's carts
            carts = Base.metadata.tables["shop_carts"]
            ids = select(carts.c.id).where(carts.c.user_id == uid).scalar_subquery()
            db.session.execute(delete(table).where(table.c.cart_id.in_(ids)))
        else:
            db.session.execute(delete(table).where(table.c[column] == uid))
    for vehicle in db.session.scalars(select(Vehicle).where(Vehicle.owner_id == uid)):
        vehicle.vin = f"ERASED{vehicle.id:011d}"[-17:]
        vehicle.plate = ("E" + _base36(vehicle.id).rjust(7, "0"))[-8:]
    for rescue in db.session.scalars(select(Rescue).where(Rescue.owner_id == uid)):
        rescue.callback_phone, rescue.note = "", ""
        if rescue.latitude is not None:
            rescue.latitude, rescue.longitude = (
                round(rescue.latitude, 2),
                round(rescue.longitude, 2),
            )
            rescue.address = ""
        else:
            rescue.address = ERASED_NAME
    orders = Base.metadata.tables.get("shop_orders")
    if orders is not None:
        db.session.execute(
            update(orders)
            .where(orders.c.user_id == uid)
            .values(address="", note="")
            .where(orders.c.delivery == "pickup")
        )
        db.session.execute(
            update(orders)
            .where(orders.c.user_id == uid, orders.c.delivery != "pickup")
            .values(address=ERASED_NAME, note="")
        )
    leads = Base.metadata.tables.get("crm_leads")
    if leads is not None:
        db.session.execute(
            update(leads).where(leads.c.customer_id == uid).values(note="", lost_note="")
        )
    user.name, user.phone, user.email = ERASED_NAME, None, f"erased-{uid}@erased.invalid"
    user.password_hash = "!erased"  # noqa: S105 (not a hash: verify_password never matches it)
    user.is_active, user.calendar_token, user.referred_by_id = False, None, None
    user.locale, user.remind_inapp, user.remind_email, user.last_login_at = None, False, False, None
    user.session_version += 1
    audit.record("account_erased", target=user, user_id=uid, **media)
