"""Back office: maintenance plans per vehicle model, with their items."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin.base import StaffModelView
from portal.models import PlanItem
from portal.models.accounts import ADMIN, MANAGER
from portal.services import reminder_checks


class PlanAdmin(StaffModelView):
    """Maintenance plans: the default plan and one per model, items edited inline."""

    roles = (MANAGER, ADMIN)
    column_list = ("name", "brand", "series", "is_default")
    column_labels = {
        "name": _l("Name"),
        "brand": _l("Brand"),
        "series": _l("Series"),
        "is_default": _l("Default plan"),
    }
    form_columns = ("name", "brand", "series", "is_default")
    inline_models = [
        (
            PlanItem,
            {
                "form_columns": (
                    "id",
                    "code",
                    "name",
                    "interval_km",
                    "interval_months",
                    "first_due_km",
                    "first_due_months",
                    "severity",
                    "description",
                    "typical_price_fen",
                ),
                "column_labels": {"typical_price_fen": _l("Typical price (fen)")},
            },
        )
    ]

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        # A changed plan can move due points earlier: the next reminders run checks every car.
        reminder_checks.forget_all()
