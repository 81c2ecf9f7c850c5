"""Back office: maintenance plans per vehicle model, with their items."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from admin.base import GroupDataView
from portal.models import PlanItem
from portal.services import reminder_checks


def _items(view, context, plan, name) -> Markup:
    return Markup("<br>").join(escape(str(item)) for item in plan.items)


class PlanAdmin(GroupDataView):
    """The group's maintenance plans: the default plan and one per model, items edited inline
    by admins; managers read them, items included, on the details page."""

    can_view_details = True
    column_details_list = ("name", "brand", "series", "is_default", "items")
    column_formatters_detail = {"items": _items}
    column_list = ("name", "name_en", "brand", "series", "is_default")
    column_labels = {
        "name": _l("Name (Chinese)"),
        "name_en": _l("Name (English)"),
        "brand": _l("Brand"),
        "series": _l("Series"),
        "is_default": _l("Default plan"),
        "items": _l("Items"),
    }
    form_columns = ("name", "name_en", "brand", "series", "is_default")
    inline_models = [
        (
            PlanItem,
            {
                "form_columns": (
                    "id",
                    "code",
                    "name",
                    "name_en",
                    "interval_km",
                    "interval_months",
                    "first_due_km",
                    "first_due_months",
                    "severity",
                    "description",
                    "description_en",
                    "typical_price_fen",
                ),
                "column_labels": {
                    "typical_price_fen": _l("Typical price (fen)"),
                    "name": _l("Name (Chinese)"),
                    "name_en": _l("Name (English)"),
                    "description": _l("Description (Chinese)"),
                    "description_en": _l("Description (English)"),
                },
            },
        )
    ]

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        # A changed plan can move due points earlier: the next reminders run checks every car.
        reminder_checks.forget_all()
