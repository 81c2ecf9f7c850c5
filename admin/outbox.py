"""Outbox and jobs: the worker's state for admins, with a retry button for dead letters."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from admin.base import StaffView
from portal.extensions import db
from portal.models import OutboxMessage, User
from portal.services import audit, outbox
from portal.worker.jobs import last_runs

DEAD_LETTERS_SHOWN = 100

# What each periodic job does, as the admin reads it; the code stays beside it for the logs.
JOB_LABELS = {
    "rescue-escalation": _l("Escalate rescues not claimed in time"),
    "maintenance-reminders": _l("Maintenance reminders"),
    "policy-renewals": _l("Insurance renewal reminders"),
    "inspection-reminders": _l("Reminders of declined inspection items"),
    "inspection-clips": _l("Convert inspection video clips"),
    "shop-expire-holds": _l("Release unpaid shop orders' stock"),
    "video-sweep": _l("Close stale video sessions"),
    "account-erasure": _l("Erase accounts at the end of their grace period"),
    "rescue-location-coarsening": _l("Coarsen closed rescues' locations"),
    "backup": _l("Encrypted database backup"),
    "campaign-schedule": _l("Start scheduled campaigns"),
    "campaign-sends": _l("Send campaign messages"),
    "campaign-responders": _l("Follow up campaign responders"),
    "campaign-booking-leads": _l("Leads from campaign bookings"),
    "campaign-builtins": _l("Built-in campaigns"),
    "api-idempotency-purge": _l("Purge expired API idempotency keys"),
    "crm-task-rules": _l("Create follow-up tasks by the task rules"),
    "crm-close-day": _l("Close the day: tasks left open"),
    "crm-lead-escalation": _l("Escalate leads not contacted in time"),
    "back-office-exports": _l("List exports"),
    "back-office-imports": _l("Imports"),
    "import-upload-purge": _l("Delete import uploads never applied"),
    "complaint-escalation": _l("Escalate complaints past their deadline"),
    "csi-surveys": _l("Send satisfaction surveys"),
    "crm-no-shows": _l("Mark showroom no-shows"),
    "shop-expire-pickups": _l("Release pickups past their deadline"),
    "shop-scheduled-prices": _l("Apply scheduled prices"),
    "customer-value": _l("Customer value (RFM) bands"),
    "daily-stats": _l("Count each store's daily figures"),
    "analytics-snapshots": _l("Count the repair analytics of the last 90 days"),
    "used-car-inquiry-fold": _l("Fold earlier used-car buyer inquiries into leads"),
}


def every_label(seconds: int) -> str:
    """Return a job's interval as people say it: every 15 minutes, every hour, every 30 s."""
    if seconds % 3600 == 0:
        return _("every %(n)d h", n=seconds // 3600)
    if seconds % 60 == 0:
        return _("every %(n)d min", n=seconds // 60)
    return _("every %(n)d s", n=seconds)


class OutboxView(StaffView):
    """Each job's last run, the queue's depth and age, and the dead letters (admins only)."""

    @expose("/")
    def index(self):
        dead = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "dead")
            .order_by(OutboxMessage.created_at.desc())
            .limit(DEAD_LETTERS_SHOWN)
        ).all()
        return self.render(
            "admin/outbox.html",
            jobs=last_runs(),
            stats=outbox.queue_stats(),
            dead=dead,
            job_labels=JOB_LABELS,
            every_label=every_label,
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
