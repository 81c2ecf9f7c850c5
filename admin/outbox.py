"""Outbox and jobs: the worker's state for admins, with a retry button for dead letters."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin.base import StaffView
from portal.extensions import db
from portal.models import OutboxMessage, User
from portal.models.accounts import ADMIN
from portal.services import audit, outbox
from portal.worker.jobs import last_runs

DEAD_LETTERS_SHOWN = 100


class OutboxView(StaffView):
    """Each job's last run, the queue's depth and age, and the dead letters (admins only)."""

    roles = (ADMIN,)

    @expose("/")
    def index(self):
        dead = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "dead")
            .order_by(OutboxMessage.created_at.desc())
            .limit(DEAD_LETTERS_SHOWN)
        ).all()
        return self.render(
            "admin/outbox.html", jobs=last_runs(), stats=outbox.queue_stats(), dead=dead
        )

    @expose("/<message_id>/retry", methods=["POST"])
    def retry(self, message_id: str):
        """Put a dead letter back in the queue, and audit who did."""
        if not outbox.retry_dead(message_id):
            db.session.rollback()
            flash(_("This message is not a dead letter (any more)."), "error")
            return redirect(url_for(".index"), code=303)
        audit.record(
            "outbox_retry", actor=db.session.get(User, current_user.id), message_id=message_id
        )
        db.session.commit()
        flash(_("The message is queued again."), "success")
        return redirect(url_for(".index"), code=303)
