"""The workshop after the recording: the advisor is told when an inspection is finished, and
the technician follows what the owner decided on the inspection they recorded."""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import Inspection, User
from portal.models.accounts import ADVISOR, MANAGER
from portal.models.inspections import APPROVED, DECLINED, PENDING, SENT

# The back-office page where the store's staff check the prices and send the inspection.
CHECK_PATH = "/admin/inspections/{id}"
# Staff are told by email where they have one (they choose no channels, unlike owners).
NOTICE_KIND = "workshop"


def check_path(inspection: Inspection) -> str:
    """Return the path of the page where staff check and send the inspection."""
    return CHECK_PATH.format(id=inspection.id)


def _who_sends(inspection: Inspection, finisher: User) -> list[User]:
    """The job's advisor, else the store's managers; never the one who finished it."""
    booking = inspection.booking
    advisor = booking.advisor
    if (
        advisor is not None
        and advisor.is_active
        and advisor.role in (ADVISOR, MANAGER)
        and advisor.store_id == booking.store_id
    ):
        found = [advisor]
    else:
        found = list(
            db.session.scalars(
                select(User)
                .where(
                    User.role == MANAGER,
                    User.store_id == booking.store_id,
                    User.is_active.is_(True),
                )
                .order_by(User.id)
            )
        )
    return [u for u in found if u.id != finisher.id]


def tell_finished(inspection: Inspection, finisher: User) -> list[User]:
    """Tell the job's advisor (else the store's managers) that the inspection is finished and
    waits for them to check and send: a notification in their language with the link, and an
    outbox message on their channel; return who was told.

    The caller calls this once per inspection (the step that marked it finished won)."""
    from portal.services.notify import notify

    booking = inspection.booking
    told = _who_sends(inspection, finisher)
    for user in told:
        text = _l(
            "%(name)s finished the inspection of %(plate)s (job #%(id)d) with "
            "%(n)d recommendations: check the prices and send it to the owner.",
            name=finisher.name,
            plate=booking.vehicle.plate,
            id=booking.id,
            n=len(inspection.recommendations),
        )
        subject = _l("Inspection of %(plate)s ready to send", plate=booking.vehicle.plate)
        notify(user, text, check_path(inspection), subject=subject, kind=NOTICE_KIND)
    return told


class Outcome(NamedTuple):
    """What the owner decided on a sent inspection's recommendations so far."""

    approved: int
    declined: int
    waiting: int
    approved_fen: int

    @property
    def decided(self) -> int:
        return self.approved + self.declined


def outcome(inspection: Inspection) -> Outcome:
    """Return the owner's decisions on the inspection, counted, with the amount approved."""
    recs = inspection.recommendations
    approved = [i for i in recs if i.decision == APPROVED]
    return Outcome(
        approved=len(approved),
        declined=sum(1 for i in recs if i.decision == DECLINED),
        waiting=sum(1 for i in recs if i.decision == PENDING),
        approved_fen=sum(i.price_fen for i in approved),
    )


def still_deciding(inspection: Inspection) -> bool:
    """Return whether the owner may still decide something (the page keeps polling)."""
    return (
        inspection.status == SENT
        and not inspection.booking.is_terminal
        and any(i.decision == PENDING for i in inspection.recommendations)
    )
