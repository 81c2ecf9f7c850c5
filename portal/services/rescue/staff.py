"""Roadside rescue, the staff's side: claim, dispatch, arrive, resolve, reassign."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.i18n import in_language_of
from portal.models import Rescue, User
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.models.rescue import CLAIMED, DISPATCHED, ON_SITE, RECEIVED, RESOLVED
from portal.services import audit, notify, webhooks
from portal.services.rescue.core import tell_owner, transition
from portal.timeutil import now

MAX_ETA_MINUTES = 24 * 60


def _staff_check(staff: User, rescue: Rescue, *, assignee: bool = True) -> None:
    access.require_store(staff, rescue.store_id, _("Rescue not found."))
    if assignee and staff.role == ADVISOR and rescue.advisor_id not in (None, staff.id):
        raise NotAllowed(_("Another advisor handles this rescue."))


def claim(staff: User, rescue: Rescue) -> None:
    """Take a received rescue; when several advisors click at once exactly one wins."""
    _staff_check(staff, rescue, assignee=False)  # the conditional UPDATE picks the winner
    transition(rescue, (RECEIVED,), CLAIMED, staff, advisor_id=staff.id, claimed_at=now())
    audit.record("rescue_claimed", actor=staff, target=rescue)
    name = staff.profile.display_name if staff.profile else staff.name
    tell_owner(rescue, _l("%(name)s is handling your rescue request.", name=name))


def _eta_minutes(minutes: int | None) -> int:
    if minutes is None or not 1 <= minutes <= MAX_ETA_MINUTES:
        raise ValidationError(_("Enter the minutes until help arrives (1 to 1440)."), field="eta")
    return minutes


def dispatch(staff: User, rescue: Rescue, eta_minutes: int | None, note: str = "") -> None:
    """Send help with an estimated time of arrival."""
    _staff_check(staff, rescue)
    eta = now() + timedelta(minutes=_eta_minutes(eta_minutes))
    transition(rescue, (CLAIMED,), DISPATCHED, staff, note, dispatched_at=now(), eta_at=eta)
    audit.record("rescue_dispatched", actor=staff, target=rescue, eta_minutes=eta_minutes)
    tell_owner(rescue, _l("Help is on the way, arriving in about %(n)d minutes.", n=eta_minutes))


def update_eta(staff: User, rescue: Rescue, eta_minutes: int | None, note: str = "") -> None:
    """Change the estimated time of arrival of dispatched help."""
    _staff_check(staff, rescue)
    eta = now() + timedelta(minutes=_eta_minutes(eta_minutes))
    transition(rescue, (DISPATCHED,), DISPATCHED, staff, note, kind="eta", eta_at=eta)
    tell_owner(rescue, _l("New arrival estimate: about %(n)d minutes.", n=eta_minutes))


def arrive(staff: User, rescue: Rescue) -> None:
    """Record that help has reached the car."""
    _staff_check(staff, rescue)
    transition(rescue, (DISPATCHED,), ON_SITE, staff, on_site_at=now())
    tell_owner(rescue, _l("Help has arrived."))


def resolve(staff: User, rescue: Rescue, note: str) -> None:
    """Close a rescue with a note of what was done."""
    _staff_check(staff, rescue)
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Write what was done."), field="note")
    transition(
        rescue,
        (CLAIMED, DISPATCHED, ON_SITE),
        RESOLVED,
        staff,
        note[:2000],
        resolved_at=now(),
        resolution_note=note[:2000],
    )
    audit.record("rescue_resolved", actor=staff, target=rescue)
    webhooks.emit_rescue("rescue.resolved", rescue)
    tell_owner(rescue, _l("Your rescue request is resolved: %(note)s", note=note[:200]))


def reassign(manager: User, rescue: Rescue, advisor: User) -> None:
    """Give an open rescue to another advisor of the store (managers); audited."""
    if manager.role not in (MANAGER, ADMIN):
        raise NotAllowed(_("Only managers reassign rescues."))
    _staff_check(manager, rescue, assignee=False)
    if (
        advisor.role not in (ADVISOR, MANAGER)
        or not advisor.is_active
        or advisor.store_id != rescue.store_id
    ):
        raise ValidationError(_("Choose an advisor of this store."), field="advisor")
    before = rescue.advisor_id
    if rescue.status == RECEIVED:
        transition(
            rescue,
            (RECEIVED,),
            CLAIMED,
            manager,
            advisor.name,
            kind="reassigned",
            advisor_id=advisor.id,
            claimed_at=now(),
        )
    else:
        transition(
            rescue,
            (CLAIMED, DISPATCHED, ON_SITE),
            None,
            manager,
            advisor.name,
            kind="reassigned",
            advisor_id=advisor.id,
        )
    audit.record(
        "rescue_reassigned", actor=manager, target=rescue, from_advisor=before, to=advisor.id
    )
    with in_language_of(advisor):
        text = _("Rescue #%(id)d is now yours.", id=rescue.id)
        subject = _("Roadside rescue #%(id)d", id=rescue.id)
    notify.notify(advisor, text, "/admin/rescue_queue/", subject=subject)
    name = advisor.profile.display_name if advisor.profile else advisor.name
    tell_owner(rescue, _l("%(name)s is handling your rescue request.", name=name))


# --- the timeline ---------------------------------------------------------------------
