"""The notification centre: what changed in my bookings, with an unread count."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification
from portal.paging import keyset_page
from portal.services import notify

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@login_required
def notification_list():
    """Show my notifications, newest first, a page at a time."""
    mine = select(Notification).where(Notification.user_id == current_user.id)
    page = keyset_page(mine, Notification.id, Notification.id)
    return render_template("notifications/list.html", items=page.items, page=page)


@bp.route("/badge")
@login_required
def notification_badge():
    """Return the unread count (htmx fragment polled by the navigation)."""
    return render_template("notifications/_badge.html", unread=notify.unread_count(current_user))


@bp.route("/read", methods=["POST"])
@login_required
def notification_read():
    """Mark all my notifications as read."""
    notify.mark_all_read(current_user)
    db.session.commit()
    return redirect(url_for("notifications.notification_list"), code=303)
