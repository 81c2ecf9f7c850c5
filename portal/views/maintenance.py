"""The owner's maintenance schedule per vehicle, with what other owners chose."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal import access
from portal.auth import current_account, owner_required
from portal.errors import NotFound
from portal.extensions import db
from portal.fragments import FragmentCache
from portal.i18n import date_medium, translate
from portal.services import maintenance as svc
from portal.validation import N_

bp = Blueprint("maintenance", __name__)

# The schedule content is memoised on its complete input: the rows of the one schedule
# statement (the car and its owner, its mileage span, the plan and every item with the car's
# last time and the uptake counters), the store's date and the maintenance settings (both in
# settings), the language and the script root its links start with. A new service record,
# reading or uptake count changes the rows, so a memoised schedule is never stale. The page
# around it (the layout, the one-time messages, the form's CSRF token) is rendered per request.
SCHEDULES = FragmentCache()


def _owned_facts(vehicle_id: int):
    """The schedule statement's rows for the owner's car; other owners' cars do not exist."""
    facts = svc.schedule_facts(vehicle_id)
    if not facts or not access.owned_by(current_user, facts[0]):
        raise NotFound(_("Vehicle not found."))
    return facts


def _render_content(facts, settings) -> str:
    found = svc.build_schedule(facts, settings)
    return render_template(
        "maintenance/_schedule.html",
        v=found.car,
        plan=found.plan,
        rows=found.rows,
        per_day=found.per_day,
        model_name=f"{found.car.brand} {found.car.series}",
    )


@bp.route("/vehicles/<int:vehicle_id>/maintenance")
@owner_required
def schedule_show(vehicle_id: int):
    """Show the vehicle's maintenance schedule (one query)."""
    facts = _owned_facts(vehicle_id)
    settings = svc.settings()
    key = (str(get_locale()), request.script_root, settings, facts)
    content = SCHEDULES.get_or_render(key, lambda: _render_content(facts, settings))
    return render_template(
        "maintenance/schedule.html",
        plate=facts[0].plate,
        bookable=facts[0].code is not None,
        content=content,
    )


@bp.route("/vehicles/<int:vehicle_id>/maintenance/book", methods=["POST"])
@owner_required
def schedule_book(vehicle_id: int):
    """Turn the selected due items into a booking draft."""
    found = svc.build_schedule(_owned_facts(vehicle_id), svc.settings())
    vehicle = found.car
    chosen = [r for r in found.rows if r.item.code in set(request.form.getlist("items"))]
    if not chosen:
        flash(_("Select the items you want done."), "error")
        return redirect(url_for("maintenance.schedule_show", vehicle_id=vehicle.id), code=303)
    note = "、".join(r.item.name for r in chosen)
    return redirect(
        url_for(
            "bookings.booking_new",
            vehicle=vehicle.id,
            type="maintenance",
            items=[r.item.code for r in chosen],
            note=note,
        ),
        code=303,
    )


@bp.route("/account/reminders", methods=["GET", "POST"])
@owner_required
def reminder_settings():
    """Switch maintenance reminder channels on or off."""
    user = current_account()
    if request.method == "POST":
        user.remind_inapp = request.form.get("inapp") == "on"
        user.remind_email = request.form.get("email") == "on"
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("maintenance.reminder_settings"), code=303)
    return render_template("maintenance/reminders.html", user=user)


STATUS_LABELS = {
    svc.OK: N_("OK"),
    svc.SOON: N_("Due soon"),
    svc.DUE: N_("Due"),
    svc.OVERDUE: N_("Overdue"),
}
SEVERITY_LABELS = {
    "must": N_("Must replace"),
    "recommended": N_("Recommended"),
    "inspect": N_("Inspect"),
}


@bp.app_template_filter("due_status")
def due_status_label(value: str) -> str:
    """Return the translated name of a maintenance status."""
    return translate(STATUS_LABELS[value]) if value in STATUS_LABELS else value


@bp.app_template_filter("severity")
def severity_label(value: str) -> str:
    """Return the translated name of a plan item's severity."""
    return translate(SEVERITY_LABELS[value]) if value in SEVERITY_LABELS else value


bp.add_app_template_filter(date_medium, "date_short")
