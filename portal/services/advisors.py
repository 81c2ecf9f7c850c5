"""Advisors: the directory, performance figures, referrals, customer registration and the
reassignment of a leaving advisor's customers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from portal import access
from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import AdvisorProfile, NoticeRecipient, PasswordHistory, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, MANAGER, OWNER
from portal.services import accounts, audit, passwords, sessions
from portal.timeutil import now
from portal.validation import InvalidIdentifier, normalize_vin

# ---------------------------------------------------------------- referral codes


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def referral_code(user: User) -> str:
    """Return the user's referral code: "M", the id and a Luhn check digit (typos fail)."""
    return f"M{user.id}{_luhn_digit(str(user.id))}"


def referrer_from_code(code: str) -> User | None:
    """Return the active owner or advisor a referral code names, or None if it is not valid."""
    raw = (code or "").strip().upper().removeprefix("M")
    if (
        not 2 <= len(raw) <= 10
        or not (raw.isascii() and raw.isdigit())
        or _luhn_digit(raw[:-1]) != raw[-1]
    ):
        return None
    user = db.session.get(User, int(raw[:-1]))
    if user is None or not user.is_active or user.role not in (OWNER, ADVISOR):
        return None
    return user


# ---------------------------------------------------------------- directory and performance


def directory(
    actor: User, *, include_inactive: bool = False, store_id: int | None = None
) -> list[User]:
    """Return the advisors the staff member may see (their store; admins all, or the store_id
    they chose)."""
    stmt = access.chosen_store_scope(
        select(User).where(User.role == ADVISOR), User.store_id, actor, store_id
    )
    if not include_inactive:
        stmt = stmt.where(User.is_active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.store_id, User.name)))


def customer_counts(advisor_ids: list[int]) -> dict[int, int]:
    """Return how many owners each advisor serves."""
    if not advisor_ids:
        return {}
    rows = db.session.execute(
        select(User.advisor_id, func.count(User.id))
        .where(User.role == OWNER, User.advisor_id.in_(advisor_ids))
        .group_by(User.advisor_id)
    )
    return dict(rows.all())


def visible_advisor(actor: User, advisor_id: int) -> User:
    """Return an advisor of the actor's store (any store for admins), else NotFound."""
    user = db.session.get(User, advisor_id)
    if user is None or user.role != ADVISOR or not access.in_store(actor, user.store_id):
        raise NotFound(_("Advisor not found."))
    return user


@dataclass
class Performance:
    bound: int
    recent_customers: list[User]
    referred: int
    recent_referrals: list[User]
    referrals_by_month: list[tuple[str, int]]
    notices_received: int
    notices_read: int
    service: dict | None = field(default=None)  # bookings, ratings, rescues: see service_record


def performance(advisor: User, months: int = 6) -> Performance:
    """Return the advisor's figures that exist today, and service_record() for the rest."""
    bound = db.session.scalar(
        select(func.count(User.id)).where(User.role == OWNER, User.advisor_id == advisor.id)
    )
    recent = db.session.scalars(
        select(User)
        .where(User.role == OWNER, User.advisor_id == advisor.id)
        .order_by(User.created_at.desc())
        .limit(10)
    ).all()
    referred_q = select(User).where(User.referred_by_id == advisor.id)
    referred = db.session.scalar(select(func.count()).select_from(referred_q.subquery()))
    recent_refs = db.session.scalars(referred_q.order_by(User.created_at.desc()).limit(10)).all()
    since = now() - timedelta(days=31 * months)
    dates = db.session.scalars(
        select(User.created_at).where(User.referred_by_id == advisor.id, User.created_at >= since)
    ).all()
    by_month: dict[str, int] = {}
    cursor = now().replace(day=1)
    for _i in range(months):
        by_month[cursor.strftime("%Y-%m")] = 0
        cursor = (cursor - timedelta(days=1)).replace(day=1)
    for created in dates:
        key = created.strftime("%Y-%m")
        if key in by_month:
            by_month[key] += 1
    received, read = db.session.execute(
        select(func.count(), func.count(NoticeRecipient.read_at)).where(
            NoticeRecipient.advisor_id == advisor.id
        )
    ).one()
    return Performance(
        bound=bound,
        recent_customers=list(recent),
        referred=referred,
        recent_referrals=list(recent_refs),
        referrals_by_month=sorted(by_month.items()),
        notices_received=received,
        notices_read=read,
        service=service_record(advisor),
    )


def service_record(advisor: User) -> dict | None:
    """Return ratings received (average, distribution, recent comments), bookings handled with
    time to decision, and rescue response times; None while the advisor has none of them."""
    from portal.models import Booking, Rating, Rescue
    from portal.sqltime import days_between

    count, average = _rating_summary(advisor)
    by_stars = dict.fromkeys(range(5, 0, -1), 0)
    for stars, n in db.session.execute(
        select(Rating.advisor_stars, func.count())
        .where(Rating.advisor_id == advisor.id)
        .group_by(Rating.advisor_stars)
    ):
        by_stars[stars] = n
    comments = db.session.execute(
        select(Rating.created_at, Rating.advisor_stars, Rating.comment)
        .where(Rating.advisor_id == advisor.id, Rating.comment != "")
        .order_by(Rating.created_at.desc())
        .limit(5)
    ).all()
    handled, decision_days = db.session.execute(
        select(
            func.count(Booking.id), func.avg(days_between(Booking.created_at, Booking.decided_at))
        ).where(Booking.advisor_id == advisor.id, Booking.decided_at.isnot(None))
    ).one()
    rescues, claim_days, resolve_days = db.session.execute(
        select(
            func.count(Rescue.id),
            func.avg(days_between(Rescue.created_at, Rescue.claimed_at)),
            func.avg(days_between(Rescue.created_at, Rescue.resolved_at)),
        ).where(Rescue.advisor_id == advisor.id, Rescue.claimed_at.isnot(None))
    ).one()
    if not (count or handled or rescues):
        return None
    return {
        "rating_average": round(float(average), 2) if count else None,
        "rating_count": count,
        "distribution": [(f"{stars}★", n) for stars, n in by_stars.items()],
        "comments": comments,
        "bookings_handled": handled,
        "decision_hours": round(decision_days * 24, 1) if decision_days is not None else None,
        "rescues": rescues,
        "claim_minutes": round(claim_days * 1440, 1) if claim_days is not None else None,
        "resolve_minutes": round(resolve_days * 1440, 1) if resolve_days is not None else None,
    }


def _rating_summary(advisor: User) -> tuple[int, float | None]:
    """Return how many ratings the advisor has and their average, in one indexed aggregate."""
    from portal.models import Rating

    return tuple(
        db.session.execute(
            select(func.count(Rating.id), func.avg(Rating.advisor_stars)).where(
                Rating.advisor_id == advisor.id
            )
        ).one()
    )


def average_rating(advisor: User) -> float | None:
    """Return the advisor's average rating, or None while there are no ratings to average."""
    # Every owner's home shows it: the ratings aggregate only, not the whole service record.
    count, average = _rating_summary(advisor)
    return round(float(average), 2) if count else None


# ---------------------------------------------------------------- registering customers


@dataclass
class CustomerResult:
    customer: User
    created: bool
    initial_password: str | None = None
    blocked: bool = False  # the customer exists and is served by another advisor


def register_customer(
    actor: User,
    *,
    name: str,
    phone: str | None,
    email: str | None = None,
    vin: str = "",
) -> CustomerResult:
    """Register a walk-in customer for the advisor, or show the existing record.

    The same phone, email or VIN never creates a second owner; a customer of another advisor
    is shown, not taken over."""
    if actor.role not in (ADVISOR, MANAGER, ADMIN) or not actor.is_active:
        raise NotAllowed(_("Only staff register customers."))
    if not (name or "").strip():
        raise ValidationError(_("Give the customer's name."), field="name")
    if not phone:
        raise ValidationError(_("Enter an 11-digit mainland mobile number."), field="phone")
    if vin:
        try:
            vin = normalize_vin(vin)
        except InvalidIdentifier as exc:
            raise ValidationError(_(str(exc)), field="vin") from exc
    existing = _existing_owner(phone, email, vin)
    if existing is not None:
        return _existing_result(actor, existing)
    initial = secrets.token_urlsafe(9)
    user = User(
        role=OWNER,
        name=name.strip(),
        phone=phone,
        email=email or None,
        password_hash=passwords.hash_password(initial),
        store_id=actor.store_id,
        advisor_id=actor.id if actor.role == ADVISOR else _least_loaded(actor),
        must_change_password=True,
        password_changed_at=now(),
    )
    db.session.add(user)
    db.session.flush()  # a concurrent registration of the same phone fails here (UNIQUE)
    db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    audit.record("customer_registered", actor=actor, target=user)
    return CustomerResult(user, created=True, initial_password=initial)


def _least_loaded(actor: User) -> int | None:
    if actor.store_id is None:
        return None
    advisor = accounts.pick_advisor(actor.store)
    return advisor.id if advisor else None


def _existing_owner(phone: str | None, email: str | None, vin: str) -> User | None:
    conds = [User.phone == phone] if phone else []
    if email:
        conds.append(User.email == email)
    if conds:
        found = db.session.scalar(select(User).where(or_(*conds)).order_by(User.id).limit(1))
        if found is not None:
            return found
    if vin:
        return db.session.scalar(
            select(User).join(Vehicle, Vehicle.owner_id == User.id).where(Vehicle.vin == vin)
        )
    return None


def _existing_result(actor: User, existing: User) -> CustomerResult:
    if existing.role != OWNER:
        raise ValidationError(_("This mobile number or email is already in use."), field="phone")
    blocked = existing.advisor_id not in (None, actor.id) and actor.role == ADVISOR
    audit.record(
        "customer_register_existing", actor=actor, target=existing, blocked=blocked or None
    )
    return CustomerResult(existing, created=False, blocked=blocked)


# ---------------------------------------------------------------- reassignment


def reassign_and_deactivate(
    actor: User, leaving: User, *, to: User | None = None, spread: list[User] | None = None
) -> dict[int, list[int]]:
    """Deactivate a leaving advisor and move all their customers, all to one advisor or spread
    evenly over several, in the caller's one transaction. Return {advisor_id: [owner ids]}.

    Nothing is committed here: if any step fails, the caller rolls back and nothing changed."""
    if actor.role not in (MANAGER, ADMIN) or not access.in_store(actor, leaving.store_id):
        raise NotAllowed(_("Only the store's managers reassign customers."))
    if leaving.role != ADVISOR:
        raise ValidationError(_("Choose an advisor."), field="advisor")
    targets = [to] if to is not None else list(spread or [])
    if not targets:
        raise ValidationError(_("Choose who takes over the customers."), field="to")
    for target in targets:
        if (
            target.role != ADVISOR
            or not target.is_active
            or target.id == leaving.id
            or target.store_id != leaving.store_id
        ):
            raise ValidationError(
                _("Customers go to other active advisors of the same store."), field="to"
            )
    # Lock the leaving advisor (PostgreSQL row lock; SQLite's POST takes the write lock).
    db.session.execute(select(User.id).where(User.id == leaving.id).with_for_update())
    customers = db.session.scalars(
        select(User.id)
        .where(User.role == OWNER, User.advisor_id == leaving.id)
        .order_by(User.id)
        .with_for_update()
    ).all()
    plan: dict[int, list[int]] = {t.id: [] for t in targets}
    for i, customer_id in enumerate(customers):
        plan[targets[i % len(targets)].id].append(customer_id)
    for target_id, ids in plan.items():
        _move_batch(leaving.id, target_id, ids)
    accounts.set_staff_active(actor, leaving, False)
    sessions.revoke_all(leaving)
    audit.record(
        "customers_reassigned",
        actor=actor,
        target=leaving,
        moved={str(k): v for k, v in plan.items()},
        total=len(customers),
    )
    return plan


def _move_batch(from_id: int, to_id: int, owner_ids: list[int]) -> None:
    """Move these owners from one advisor to another; all of them or none (Conflict)."""
    if not owner_ids:
        return
    res = db.session.execute(
        update(User)
        .where(User.id.in_(owner_ids), User.advisor_id == from_id)
        .values(advisor_id=to_id)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != len(owner_ids):
        raise Conflict(_("The customers changed meanwhile. Try again."))


def profile_of(advisor: User) -> AdvisorProfile | None:
    """Return the advisor's directory profile."""
    return db.session.get(AdvisorProfile, advisor.id)
