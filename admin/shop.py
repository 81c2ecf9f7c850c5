"""Back office for the shop: catalog, stock with a reason, orders, refunds and sales charts."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload, undefer
from wtforms import FileField, SelectField
from wtforms.fields.choices import SelectChoice

from admin.base import HOME_PANELS, GroupDataView, StaffView, staff_allowed
from admin.labels import DISCOUNT_KIND_LABELS, ORDER_STATUS_LABELS, PLACEMENT_KIND_LABELS
from admin.list_pages import bad_cursor, chosen_store, store_choices
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.i18n import cny
from portal.inputs import int_arg
from portal.models import Store
from portal.models.accounts import ADMIN, MANAGER
from portal.money import fen_from_form
from portal.outcome import flash_outcome
from portal.paging import keyset_page
from portal.services.media import store_image
from portal.uploads import request_photos
from shop import orders, stats, stock
from shop.models import (
    ORDER_STATUSES,
    PENDING,
    Category,
    Fitment,
    Order,
    Product,
    StockMove,
    StoreStock,
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


class CategoryAdmin(GroupDataView):
    """Shop categories of the group (admins edit; managers read)."""

    column_list = ("name", "name_en", "position")
    column_labels = {"name": _l("Name (Chinese)"), "name_en": _l("Name (English)")}
    form_columns = ("name", "name_en", "position")


class ProductAdmin(_ChoicesMixin, GroupDataView):
    """The group's products with image upload and vehicle fitment (admins edit; managers
    read); stock changes go through Stock."""

    can_view_details = True
    column_list = ("sku", "name", "category", "price_fen", "stock", "low_stock", "is_active")
    column_sortable_list = ("sku", "name", "price_fen", "low_stock", "is_active")
    column_searchable_list = ("sku", "name", "name_en")
    column_filters = ("is_active", "category.name")
    column_formatters = {"price_fen": lambda v, c, m, n: cny(m.price_fen)}
    column_labels = {
        "price_fen": _l("Price (fen)"),
        "stock": _l("Stock (all stores)"),
        "low_stock": _l("Low-stock threshold of a new store"),
        "name": _l("Name (Chinese)"),
        "name_en": _l("Name (English)"),
        "description": _l("Description (Chinese)"),
        "description_en": _l("Description (English)"),
    }
    form_columns = ("sku", "name", "name_en", "category_id", "description", "description_en",
                    "price_fen", "low_stock", "is_active", "photo")  # fmt: skip
    pickers = {"category_id": Category}
    form_overrides = {"category_id": SelectField}
    form_args = {"category_id": _picker(_l("Category"))}
    form_extra_fields = {"photo": FileField(_l("Photo"))}
    inline_models = [(Fitment, {"form_columns": ("id", "brand", "series")})]

    def get_query(self):
        return super().get_query().options(undefer(Product.stock))  # one query, not one a row

    def validate_form(self, form):
        if not super().validate_form(form):
            return False
        if not hasattr(form, "photo"):  # a form without the upload (none today)
            return True
        try:
            # Decoded before the write starts; the result waits in g for on_model_change.
            g.product_photo = next(iter(request_photos("photo", limit=1)), None)
        except ValidationError as exc:
            form.photo.errors = [*form.photo.errors, exc.message]
            return False
        return True

    def on_model_change(self, form, model, is_created):
        if g.get("product_photo") is not None:
            model.image = store_image(g.product_photo)
        super().on_model_change(form, model, is_created)


class DiscountAdmin(_ChoicesMixin, GroupDataView):
    """Group-wide discounts: a percentage or a fixed amount off, optionally in a time window."""

    column_list = ("product", "kind", "value", "starts_at", "ends_at", "is_active")
    form_columns = ("product_id", "kind", "value", "starts_at", "ends_at", "is_active")
    pickers = {"product_id": Product}
    form_overrides = {"kind": SelectField, "product_id": SelectField}
    form_args = {
        "product_id": _picker(_l("Product")),
        "kind": {"choices": [SelectChoice(k, v) for k, v in DISCOUNT_KIND_LABELS.items()]},
    }


class PlacementAdmin(_ChoicesMixin, GroupDataView):
    """Hot and recommended products of the group's shop, in display order, optionally in a
    time window."""

    column_list = ("kind", "position", "product", "starts_at", "ends_at")
    column_default_sort = ("position", False)
    form_columns = ("product_id", "kind", "position", "starts_at", "ends_at")
    pickers = {"product_id": Product}
    form_overrides = {"kind": SelectField, "product_id": SelectField}
    form_args = {
        "product_id": _picker(_l("Product")),
        "kind": {"choices": [SelectChoice(k, v) for k, v in PLACEMENT_KIND_LABELS.items()]},
    }


def _stock_store() -> int:
    """Return the store whose stock the page shows and changes: a manager's own; for those who
    see every store, the one chosen (?store= or the form's store), else the first one."""
    stores = store_choices()
    chosen = int_arg(request.values.get("store"), minimum=1)
    if stores and chosen is None:
        chosen = stores[0][0]
    elif stores and chosen not in {s[0] for s in stores}:
        abort(404)
    store_id = access.acting_store(current_user, chosen)
    return store_id if store_id is not None else abort(404)


class StockView(StaffView):
    """A store's stock levels, manual adjustments with a reason, and each product's ledger;
    managers see their own store, those who see every store pick one and see the others."""

    @expose("/")
    def index(self):
        store_id = _stock_store()
        rows = db.session.execute(
            select(Product, StoreStock.stock, StoreStock.low_stock)
            .outerjoin(
                StoreStock,
                (StoreStock.product_id == Product.id) & (StoreStock.store_id == store_id),
            )
            .order_by(Product.name, Product.id)
        ).all()
        store = db.session.get(Store, store_id)
        return self.render("admin/shop/stock.html", rows=rows, form=FlaskForm(),
                           stores=store_choices(), store=store)  # fmt: skip

    @expose("/<int:product_id>")
    def ledger(self, product_id: int):
        product = db.session.get(Product, product_id) or abort(404)
        store_id = _stock_store()
        moves = db.session.scalars(
            select(StockMove)
            .where(StockMove.store_id == store_id, StockMove.product_id == product.id)
            .order_by(StockMove.id.desc())
            .limit(LEDGER_ROWS)
        ).all()
        per_store = []
        if access.sees_all_stores(current_user):  # the group's view: every store's shelf
            per_store = db.session.execute(
                select(Store.id, Store.name, StoreStock.stock, StoreStock.low_stock)
                .join(StoreStock, StoreStock.store_id == Store.id)
                .where(StoreStock.product_id == product.id)
                .order_by(Store.name, Store.id)
            ).all()
        return self.render(
            "admin/shop/ledger.html",
            p=product,
            store=db.session.get(Store, store_id),
            left=stock.at_store(store_id, product.id),
            moves=moves,
            explained=stock.ledger_total(product.id, store_id),
            per_store=per_store,
        )

    @expose("/<int:product_id>/adjust", methods=["POST"])
    def adjust(self, product_id: int):
        """Change the store's stock of a product by a delta, or set it from a shelf count
        (form: count), or set the store's low-stock threshold (form: low_stock)."""
        product = db.session.get(Product, product_id) or abort(404)
        store_id = _stock_store()
        back = redirect(url_for(".index", store=store_id), code=303)
        if "low_stock" in request.form:
            return self._threshold(product, store_id, back)
        reason = request.form.get("reason", "")
        counting = "count" in request.form
        if counting:
            number = int_arg(request.form.get("count"), minimum=0, maximum=1_000_000)
        else:
            number = int_arg(request.form.get("delta"), minimum=-1_000_000, maximum=1_000_000)
        if number is None:
            flash(
                _("Enter the units counted, e.g. 12.")
                if counting
                else _("Enter a whole number, e.g. 5 or -2."),
                "error",
            )
            return back
        me = current_account()
        try:
            if counting:
                stock.count(me, store_id, product, number, reason)
            else:
                stock.adjust(me, store_id, product, number, reason)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return back
        left = stock.at_store(store_id, product.id)
        name = product.name
        db.session.commit()
        flash(_("Stock of %(name)s is now %(n)d.", name=name, n=left), "success")
        return back

    def _threshold(self, product: Product, store_id: int, back):
        low = int_arg(request.form.get("low_stock"), minimum=0, maximum=stock.MAX_THRESHOLD)
        if low is None:
            flash(_("Enter a threshold from 0 to %(n)d.", n=stock.MAX_THRESHOLD), "error")
            return back
        name = product.name
        stock.set_threshold(current_account(), store_id, product, low)
        db.session.commit()
        flash(_("The low-stock threshold of %(name)s is now %(n)d.", name=name, n=low), "success")
        return back


LEDGER_ROWS = 500  # the newest moves a ledger page shows


def _scoped_orders():
    q = select(Order).options(selectinload(Order.user), selectinload(Order.store))
    return access.store_scope(q, Order.store_id, current_user)


ORDERS_PAGE = 50  # the orders a page of the back-office list shows


def _orders_filtered(status: str, store_id: int | None):
    """Select the orders of the list's filter (a status, or "pickup": pay-at-store orders
    awaiting pickup) in the stores I see, unordered."""
    q = access.chosen_store_scope(select(Order), Order.store_id, current_user, store_id)
    if status == "pickup":
        return q.where(Order.status == PENDING, Order.pickup_on.is_not(None))
    if status in ORDER_STATUSES:
        return q.where(Order.status == status)
    return q


class OrdersView(StaffView):
    """Shop orders of the store: paid at the store, ready, shipped, completed, cancel, refund."""

    @expose("/")
    def index(self):
        """Show one page of the orders, the newest first (awaiting pickup: by pickup day), and
        how many the filter holds."""
        status = request.args.get("status", "")
        status = status if status == "pickup" or status in ORDER_STATUSES else ""
        stores = store_choices()
        store_id = chosen_store(stores)
        stmt = _orders_filtered(status, store_id)
        pickup = status == "pickup"
        page = keyset_page(
            stmt.options(selectinload(Order.user), selectinload(Order.store)),
            Order.pickup_on if pickup else Order.created_at,
            Order.id,
            size=ORDERS_PAGE,
            oldest_first=pickup,
            param="cursor",
            # An order that changed status meanwhile still marks the place.
            cursor_stmt=_orders_filtered("", store_id),
        )
        count = db.session.scalar(stmt.with_only_columns(func.count(Order.id))) or 0
        return self.render(
            "admin/shop/orders.html",
            orders=page.items,
            page=page,
            page_size=ORDERS_PAGE,
            count=count,
            error=bad_cursor(page),
            stores=stores,
            store_id=store_id,
            status=status,
            statuses=ORDER_STATUS_LABELS,
        )

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
        with flash_outcome(_("Order %(n)s updated.", n=order.number)):
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
        return redirect(url_for(".detail", order_id=order_id), code=303)


def _fen(raw: str) -> int:
    """Parse a refund typed in yuan, such as 12.50, into fen."""
    return fen_from_form(raw, field="amount", allow_zero=False)


def _low_stock_panel():
    if not staff_allowed(MANAGERS):
        return None
    store_id = access.store_filter(current_user)
    return (_("Low stock"), "admin/shop/_low_stock.html", {"low": stats.low_stock(store_id)})


def add_home_panels() -> None:
    """Add the shop's panels to the back-office home."""
    if _low_stock_panel not in HOME_PANELS:
        HOME_PANELS.append(_low_stock_panel)
