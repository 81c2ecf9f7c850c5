"""The in-app notification centre; email, SMS, WeChat and webhooks through the outbox."""

from __future__ import annotations

from flask import current_app
from flask_babel import LazyString
from sqlalchemy import bindparam, func, select, update

from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Notification, User
from portal.services import channels
from portal.timeutil import now


def notify(
    user: User,
    text: str | LazyString,
    link: str = "",
    *,
    subject: str | LazyString | None = None,
    kind: str = "account",
    params: dict[str, str] | None = None,
) -> Notification:
    """Add a notification for the user and queue it on the channels the user wants for kind.

    Pass text and subject as lazy strings (_l) and they are written in the user's language,
    whoever clicked and whatever the worker's default; plain strings are taken as they are."""
    if isinstance(text, LazyString) or isinstance(subject, LazyString):
        with in_language_of(user):
            text, subject = str(text), (None if subject is None else str(subject))
    note = Notification(user_id=user.id, text=text, link=link, created_at=now())
    db.session.add(note)
    absolute = current_app.config["BASE_URL"].rstrip("/") + link if link else ""
    channels.fan_out(
        user,
        kind,
        subject=subject or text[:80],
        text=text,
        link=absolute,
        params=params,
        at=note.created_at,
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
