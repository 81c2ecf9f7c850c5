"""Back office for the shop: catalog, stock with a reason, orders, refunds and sales charts."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import FileField, SelectField
from wtforms.fields.choices import SelectChoice

from admin.base import HOME_PANELS, StaffModelView, StaffView, staff_allowed
from admin.charts import columns, hbar
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import cny
from portal.models import Store
from portal.models.accounts import ADMIN, MANAGER, STAFF_ROLES
from portal.services.media import store_image
from shop import orders, stats, stock
from shop.models import (
    ORDER_STATUSES,
    Category,
    Discount,
    Fitment,
    Order,
    Placement,
    Product,
    StockMove,
)

MANAGERS = (MANAGER, ADMIN)


class _ChoicesMixin:
    """Relation pickers as plain SelectFields of SelectChoice (flask-admin's own query fields
    still yield the tuples that WTForms deprecates)."""

    pickers: dict[str, type] = {}

    def _fill(self, form):
        for name, model in self.pickers.items():
            rows = db.session.scalars(select(model).order_by(model.id)).all()
            getattr(form, name).choices = [SelectChoice(r.id, str(r)) for r in rows]
        return form

    def create_form(self, obj=None):
        return self._fill(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._fill(super().edit_form(obj))


def _picker(label):
    return {"label": label, "coerce": int}


class CategoryAdmin(StaffModelView):
    """Shop categories (managers)."""

    roles = MANAGERS
    column_list = ("name", "position")
    form_columns = ("name", "position")


class ProductAdmin(_ChoicesMixin, StaffModelView):
    """Products with image upload and vehicle fitment; stock changes go through Stock."""

    roles = MANAGERS
    can_view_details = True
    column_list = ("sku", "name", "category", "price_fen", "stock", "low_stock", "is_active")
    column_searchable_list = ("sku", "name")
    column_filters = ("is_active", "category.name")
    column_formatters = {"price_fen": lambda v, c, m, n: cny(m.price_fen)}
    column_labels = {"price_fen": _l("Price (fen)"), "low_stock": _l("Low-stock threshold")}
    form_columns = ("sku", "name", "category_id", "description", "price_fen", "low_stock",
                    "is_active", "photo")  # fmt: skip
    pickers = {"category_id": Category}
    form_overrides = {"category_id": SelectField}
    form_args = {"category_id": _picker(_l("Category"))}
    form_extra_fields = {"photo": FileField(_l("Photo"))}
    inline_models = [(Fitment, {"form_columns": ("id", "brand", "series")})]

    def on_model_change(self, form, model, is_created):
        upload = request.files.get("photo")
        if upload and upload.filename:
            model.image = store_image(upload.read())
        super().on_model_change(form, model, is_created)


class DiscountAdmin(_ChoicesMixin, StaffModelView):
    """Discounts: a percentage or a fixed amount off, optionally in a time window."""

    roles = MANAGERS
    column_list = ("product", "kind", "value", "starts_at", "ends_at", "is_active")
    form_columns = ("product_id", "kind", "value", "starts_at", "ends_at", "is_active")
    pickers = {"product_id": Product}
    form_overrides = {"kind": SelectField, "product_id": SelectField}
    form_args = {
        "product_id": _picker(_l("Product")),
        "kind": {"choices": [SelectChoice("percent", _l("Percent off")),
                             SelectChoice("fixed", _l("Fen off"))]}
    }  # fmt: skip


class PlacementAdmin(_ChoicesMixin, StaffModelView):
    """Hot and recommended products, in display order, optionally in a time window."""

    roles = MANAGERS
    column_list = ("kind", "position", "product", "starts_at", "ends_at")
    column_default_sort = ("position", False)
    form_columns = ("product_id", "kind", "position", "starts_at", "ends_at")
    pickers = {"product_id": Product}
    form_overrides = {"kind": SelectField, "product_id": SelectField}
    form_args = {
        "product_id": _picker(_l("Product")),
        "kind": {"choices": [SelectChoice("hot", _l("Hot")),
                             SelectChoice("recommended", _l("Recommended"))]}
    }  # fmt: skip


class StockView(StaffView):
    """Stock levels, manual adjustments with a reason, and each product's ledger."""

    roles = MANAGERS

    @expose("/")
    def index(self):
        products = db.session.scalars(select(Product).order_by(Product.name)).all()
        return self.render("admin/shop/stock.html", products=products, form=FlaskForm())

    @expose("/<int:product_id>")
    def ledger(self, product_id: int):
        product = db.session.get(Product, product_id) or abort(404)
        moves = db.session.scalars(
            select(StockMove)
            .where(StockMove.product_id == product.id)
            .order_by(StockMove.id.desc())
        ).all()
        return self.render(
            "admin/shop/ledger.html",
            p=product,
            moves=moves,
            explained=stock.ledger_total(product.id),
        )

    @expose("/<int:product_id>/adjust", methods=["POST"])
    def adjust(self, product_id: int):
        product = db.session.get(Product, product_id) or abort(404)
        raw = request.form.get("delta", "").strip()
        try:
            delta = int(raw)
        except ValueError:
            flash(_("Enter a whole number, e.g. 5 or -2."), "error")
            return redirect(url_for(".index"), code=303)
        try:
            stock.adjust(current_account(), product, delta, request.form.get("reason", ""))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        db.session.commit()
        flash(_("Stock of %(name)s is now %(n)d.", name=product.name, n=product.stock), "success")
        return redirect(url_for(".index"), code=303)


def _scoped_orders():
    q = select(Order).options(selectinload(Order.user), selectinload(Order.store))
    if current_user.role != ADMIN:
        q = q.where(Order.store_id == current_user.store_id)
    return q


class OrdersView(StaffView):
    """Shop orders of the store: paid at the store, ready, shipped, completed, cancel, refund."""

    roles = STAFF_ROLES

    @expose("/")
    def index(self):
        status = request.args.get("status", "")
        q = _scoped_orders()
        if status in ORDER_STATUSES:
            q = q.where(Order.status == status)
        rows = db.session.scalars(q.order_by(Order.created_at.desc()).limit(200)).all()
        return self.render("admin/shop/orders.html", orders=rows, status=status,
                           statuses=ORDER_STATUSES)  # fmt: skip

    def _get(self, order_id: int) -> Order:
        order = db.session.scalar(_scoped_orders().where(Order.id == order_id))
        if order is None:
            abort(404)
        return order

    @expose("/<int:order_id>")
    def detail(self, order_id: int):
        order = self._get(order_id)
        return self.render("admin/shop/order.html", o=order, form=FlaskForm(),
                           expired=orders.hold_expired(order))  # fmt: skip

    @expose("/<int:order_id>/<action>", methods=["POST"])
    def act(self, order_id: int, action: str):
        order = self._get(order_id)
        me = current_account()
        try:
            if action == "paid":
                orders.mark_paid_at_store(me, order)
            elif action in ("ready", "shipped", "completed"):
                orders.advance(me, order, action)
            elif action == "cancel":
                orders.cancel(me, order)
            elif action == "refund":
                if not staff_allowed(MANAGERS):
                    abort(403)
                amount = _fen(request.form.get("amount", ""))
                orders.refund(me, order, amount, request.form.get("reason", ""))
            else:
                abort(404)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Order %(n)s updated.", n=order.number), "success")
        return redirect(url_for(".detail", order_id=order_id), code=303)


def _fen(raw: str) -> int:
    """Parse a yuan amount such as 12.50 into fen; 0 when it is not a number."""
    try:
        return round(float(raw.strip().lstrip("¥")) * 100)
    except ValueError:
        return 0


class SalesView(StaffView):
    """Sales statistics as charts: revenue and units per day, per product and per category."""

    roles = MANAGERS

    @expose("/")
    def index(self):
        days = request.args.get("days", "30")
        days = int(days) if days.isdigit() and 1 <= int(days) <= 365 else 30
        store_id = request.args.get("store", "")
        store_id = int(store_id) if store_id.isdigit() else None
        if current_user.role != ADMIN:
            store_id = current_user.store_id
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


def _low_stock_panel():
    if not staff_allowed(MANAGERS):
        return None
    return (_("Low stock"), "admin/shop/_low_stock.html", {"low": stats.low_stock()})


def register(admin) -> None:
    """Add the shop's views to the back office."""
    cat = _l("Shop")
    admin.add_view(OrdersView(name=_l("Orders"), endpoint="shop_orders", category=cat))
    admin.add_view(SalesView(name=_l("Sales"), endpoint="shop_sales", category=cat))
    admin.add_view(StockView(name=_l("Stock"), endpoint="shop_stock", category=cat))
    admin.add_view(ProductAdmin(Product, db, name=_l("Products"), endpoint="shop_products",
                                category=cat))  # fmt: skip
    admin.add_view(CategoryAdmin(Category, db, name=_l("Categories"), endpoint="shop_categories",
                                 category=cat))  # fmt: skip
    admin.add_view(DiscountAdmin(Discount, db, name=_l("Discounts"), endpoint="shop_discounts",
                                 category=cat))  # fmt: skip
    admin.add_view(PlacementAdmin(Placement, db, name=_l("Hot and recommended"),
                                  endpoint="shop_placements", category=cat))  # fmt: skip
    if _low_stock_panel not in HOME_PANELS:
        HOME_PANELS.append(_low_stock_panel)
