"""Roadside rescue escalation: tell the managers of overdue rescues, once each."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Rescue
from portal.models.accounts import MANAGER
from portal.models.rescue import OPEN, RECEIVED
from portal.services import notify
from portal.services.rescue.core import event, store_staff
from portal.timeutil import now

ESCALATIONS = (
    # (marker column, statuses it applies to, config key of the minutes, message)
    (
        "unclaimed_escalated_at",
        (RECEIVED,),
        "RESCUE_CLAIM_MINUTES",
        _l("Rescue #%(id)d has not been claimed for %(n)d minutes."),
    ),
    (
        "unresolved_escalated_at",
        OPEN,
        "RESCUE_RESOLVE_MINUTES",
        _l("Rescue #%(id)d is still not resolved after %(n)d minutes."),
    ),
)


def escalate() -> int:
    """Notify the store's managers of overdue rescues, once each; commits; returns how many.

    Safe under concurrent runs: the marker is set by a conditional UPDATE before anyone is
    told, so of two runs exactly one sees rowcount 1 and notifies."""
    sent = 0
    for column, statuses, key, message in ESCALATIONS:
        minutes = current_app.config[key]
        marker = getattr(Rescue, column)
        cutoff = now() - timedelta(minutes=minutes)
        ids = db.session.scalars(
            select(Rescue.id).where(
                Rescue.status.in_(statuses), Rescue.created_at <= cutoff, marker.is_(None)
            )
        ).all()
        db.session.commit()
        for rescue_id in ids:
            won = db.session.execute(
                update(Rescue)
                .where(Rescue.id == rescue_id, Rescue.status.in_(statuses), marker.is_(None))
                .values({column: now()})
                .execution_options(synchronize_session=False)
            ).rowcount
            if won == 1:
                rescue = db.session.get(Rescue, rescue_id)
                event(rescue, None, "escalated", column.split("_")[0])
                for manager in store_staff(rescue.store_id, (MANAGER,)):
                    with in_language_of(manager):  # the worker has no language of its own
                        text = str(message) % {"id": rescue_id, "n": minutes}
                        subject = _("Roadside rescue #%(id)d", id=rescue_id)
                    notify.notify(manager, text, "/admin/rescue_queue/", subject=subject,
                                  kind="rescue")  # fmt: skip
                sent += 1
            db.session.commit()
    return sent
