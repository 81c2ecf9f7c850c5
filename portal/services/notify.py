"""The in-app notification centre, with an email queued in the outbox beside it."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from portal.extensions import db
from portal.mail import send_mail
from portal.models import Notification, User
from portal.timeutil import now


def notify(
    user: User, text: str, link: str = "", *, subject: str | None = None, kind: str = "account"
) -> Notification:
    """Add a notification for the user and queue its email when the user has an address."""
    note = Notification(user_id=user.id, text=text, link=link, created_at=now())
    db.session.add(note)
    if user.email:
        absolute = current_app.config["BASE_URL"].rstrip("/") + link if link else ""
        send_mail(
            user.email,
            subject or text[:80],
            text + (f"\n\n{absolute}" if link else ""),
            kind=kind,
            store_id=user.store_id,
            user_id=user.id,
        )
    return note


# Every open owner page polls the badge: the statement is built once (the index
# ix_notifications_user_read answers it).
_UNREAD = select(func.count(Notification.id)).where(
    Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None)
)


def unread_count(user: User) -> int:
    """Return how many notifications the user has not read."""
    return db.session.connection().scalar(_UNREAD, {"user_id": user.id})


def recent(user: User, limit: int = 50) -> list[Notification]:
    """Return the user's latest notifications, newest first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(user: User) -> None:
    """Mark every notification of the user as read."""
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now())
    )
