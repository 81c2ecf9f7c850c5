"""Back office for the shop's sales: revenue and units per day, product and category as charts,
and the slow and fast movers of the period, per store for those who see every store."""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin.base import StaffView
from admin.charts import columns, hbar
from portal import access
from portal.extensions import db
from portal.i18n import cny
from portal.inputs import int_arg
from portal.models import Store
from shop import stats


class SalesView(StaffView):
    """Sales statistics as charts: revenue and units per day, per product and per category."""

    @expose("/")
    def index(self):
        days = int_arg(request.args.get("days"), minimum=1, maximum=365) or 30
        store_id = int_arg(request.args.get("store"), minimum=1)
        if not access.sees_all_stores(current_user):
            store_id = access.store_filter(current_user)
        data = stats.sales(days, store_id)
        money = cny
        charts = {
            "revenue": columns(
                data["revenue_per_day"],
                chart_id="chart-revenue",
                title=_("Revenue per day"),
                fmt=money,
            ),
            "units": columns(
                data["units_per_day"], chart_id="chart-units", title=_("Units per day")
            ),
            "products": hbar(
                data["top_products"],
                chart_id="chart-products",
                title=_("Top products by revenue"),
                fmt=money,
            ),
            "categories": hbar(
                data["per_category"],
                chart_id="chart-categories",
                title=_("Revenue per category"),
                fmt=money,
            ),
        }
        stores = db.session.scalars(select(Store).order_by(Store.id)).all()
        return self.render(
            "admin/shop/sales.html",
            data=data,
            charts=charts,
            days=days,
            store_id=store_id,
            stores=stores,
            movers=stats.movers(days, store_id),
        )
