"""The store's inspection checklists, which managers edit: items in Chinese and English, each
linked to a maintenance item code where one exists, with the usual price of the fix."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.validators import ValidationError as FormError

from admin.base import StaffModelView
from portal import access
from portal.extensions import db
from portal.models import PlanItem, TemplateItem


def _plan_codes() -> set[str]:
    return set(db.session.scalars(select(PlanItem.code).distinct()))


class InspectionTemplateAdmin(StaffModelView):
    """The store's inspection checklists: items named in Chinese and English, each linked to a
    maintenance item code where one exists, with the usual price of the fix."""

    store_column = "store_id"
    can_view_details = False
    column_list = ("name", "active", "store")
    column_labels = {"name": _l("Template name"), "active": _l("In use"), "store": _l("Store")}
    form_columns = ("name", "active")
    inline_models = [
        (
            TemplateItem,
            {
                "form_columns": (
                    "id",
                    "position",
                    "name_zh",
                    "name_en",
                    "plan_item_code",
                    "price_fen",
                ),
                "column_labels": {
                    "position": _l("Sort order"),
                    "name_zh": _l("Name (Chinese)"),
                    "name_en": _l("Name (English)"),
                    "plan_item_code": _l("Maintenance item code"),
                    "price_fen": _l("Price of the fix (fen)"),
                },
            },
        )
    ]

    def on_model_change(self, form, model, is_created):
        if model.store_id is None or not access.sees_all_stores(current_user):
            model.store_id = model.store_id or current_user.store_id
        known = _plan_codes()
        for item in model.items:
            item.plan_item_code = (item.plan_item_code or "").strip() or None
            if item.plan_item_code and item.plan_item_code not in known:
                raise FormError(
                    _("No maintenance item has the code %(code)s.", code=item.plan_item_code)
                )
            if not (item.name_zh or "").strip() or not (item.name_en or "").strip():
                raise FormError(_("Every item needs a Chinese and an English name."))
            if item.price_fen is None or item.price_fen < 0:
                raise FormError(_("A price is zero or more."))
        super().on_model_change(form, model, is_created)
