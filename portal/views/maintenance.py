"""The owner's maintenance schedule per vehicle, with what other owners chose."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth import owner_required
from portal.errors import NotFound
from portal.extensions import db
from portal.fragments import FragmentCache
from portal.i18n import date_medium, translate
from portal.services import maintenance as svc
from portal.validation import N_

bp = Blueprint("maintenance", __name__)

# Rendering the rows was most of the page's cost; the same rows for the same model and
# language render the same HTML (about 8 KB: 2,000 per process is ~16 MB).
SCHEDULE_ROWS = FragmentCache()


def _rows_html(car, rows) -> str:
    model_name = f"{car.brand} {car.series}"
    window_km = current_app.config["MAINTENANCE_WINDOW_KM"]
    # The rows are frozen dataclasses: their hash and equality cover every field they have.
    key = (str(get_locale()), model_name, window_km, rows)
    return SCHEDULE_ROWS.get_or_render(
        key,
        lambda: render_template(
            "maintenance/_schedule_rows.html", rows=rows, model_name=model_name
        ),
    )


def _owned_schedule(vehicle_id: int) -> svc.Schedule:
    """The owner's car's schedule; other owners' cars do not exist."""
    found = svc.load_schedule(vehicle_id)
    if found is None or found.car.owner_id != current_user.id:
        raise NotFound(_("Vehicle not found."))
    return found


@bp.route("/vehicles/<int:vehicle_id>/maintenance")
@owner_required
def schedule_show(vehicle_id: int):
    """Show the vehicle's maintenance schedule (one query)."""
    found = _owned_schedule(vehicle_id)
    return render_template(
        "maintenance/schedule.html",
        v=found.car,
        plan=found.plan,
        rows=found.rows,
        per_day=found.per_day,
        rows_html=_rows_html(found.car, found.rows) if found.rows else "",
    )


@bp.route("/vehicles/<int:vehicle_id>/maintenance/book", methods=["POST"])
@owner_required
def schedule_book(vehicle_id: int):
    """Turn the selected due items into a booking draft."""
    found = _owned_schedule(vehicle_id)
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
    user = current_user._get_current_object()
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
