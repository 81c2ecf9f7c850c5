"""The manager's own store settings: bays, opening hours, closed weekdays, the first-contact
minutes for new leads and the shop's pickup window."""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from admin.base import StaffView
from portal.auth import current_account
from portal.errors import ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from portal.services import audit


class MyStoreView(StaffView):
    """Let a manager change the store's bays, hours and the settings that follow from them."""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        store = db.session.get(Store, current_user.store_id)
        error = None
        if request.method == "POST":
            try:
                values = _settings(store, request.form)
            except ValidationError as exc:
                error = exc.message
            else:
                for name, value in values.items():
                    setattr(store, name, value)
                audit.record(
                    "store_hours_changed", actor=current_account(), target=store, bays=store.bays
                )
                db.session.commit()
                flash(_("Saved."), "success")
                return redirect(url_for(".index"), code=303)
        return self.render(
            "admin/bookings/my_store.html", store=store, error=error, weekdays=_weekdays()
        )


def _settings(store: Store, form) -> dict:
    """Return the store's new settings from the form, or raise ValidationError saying why."""
    try:
        bays = int(form.get("bays", ""))
        opens = datetime.strptime(form.get("opens_at", ""), "%H:%M").time()
        closes = datetime.strptime(form.get("closes_at", ""), "%H:%M").time()
    except ValueError:
        bays, opens, closes = -1, None, None
    if not 0 <= bays <= 200 or opens is None or closes <= opens:
        raise ValidationError(_("Bays are 0 to 200 and the store must close after it opens."))
    raw_days = form.get("pickup_hold_days")
    hold_days = store.pickup_hold_days if raw_days is None else int_arg(raw_days, maximum=30)
    if hold_days is None:
        raise ValidationError(_("Shop pickups can be held for 0 to 30 days."))
    raw_minutes = form.get("first_contact_minutes", "").strip()
    minutes = (
        store.first_contact_minutes
        if not raw_minutes
        else int_arg(raw_minutes, minimum=1, maximum=240)
    )
    closed = sorted({d for d in form.getlist("closed_weekday") if len(d) == 1 and d in "0123456"})
    if minutes is None or len(closed) == 7:
        raise ValidationError(_("Give 1 to 240 minutes and at least one open day a week."))
    return {
        "bays": bays,
        "opens_at": opens,
        "closes_at": closes,
        "pickup_hold_days": hold_days,
        "closed_weekdays": "".join(closed),
        "first_contact_minutes": minutes,
    }


def _weekdays() -> list[tuple[str, str]]:
    from crm.roster import WEEKDAY_LABELS

    return [(str(i), str(label)) for i, label in enumerate(WEEKDAY_LABELS)]
