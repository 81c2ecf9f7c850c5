"""Back office of new-car orders: the store's list, signing from a quote, steps to delivery."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select

from admin.base import StaffView
from admin.pipeline import current_staff, form_date, refused, staff_record
from crm import leads as lead_svc
from crm import orders as order_svc
from crm.pipeline_models import Quote, SalesOrder
from portal import access
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.money import fen_from_form


class SalesOrderView(StaffView):
    """New-car orders: the store's list, signing from a quote, and the steps to delivery."""

    @expose("/")
    def index(self):
        stmt = access.store_scope(select(SalesOrder), SalesOrder, current_staff())
        orders = db.session.scalars(stmt.order_by(SalesOrder.id.desc()).limit(100)).all()
        return self.render(
            "admin/crm/orders.html", orders=orders, order_labels=order_svc.ORDER_STAGE_LABELS
        )

    @expose("/sign/<int:quote_id>", methods=["POST"])
    def sign(self, quote_id: int):
        """Sign the order of an accepted quote, with the deposit paid."""
        quote = staff_record(Quote, quote_id, _("Quote not found."))
        try:
            deposit = fen_from_form(request.form.get("deposit"), field="deposit")
            delivery = form_date("delivery_date", _("Enter the delivery date."), required=False)
            order = order_svc.sign(current_staff(), quote, deposit, delivery)
        except DomainError as exc:
            return refused(exc, url_for("quotes.show", quote_id=quote.id))
        db.session.commit()
        flash(_("Order signed."), "success")
        return redirect(url_for(".show", sales_order_id=order.id), code=303)

    @expose("/<int:sales_order_id>")
    def show(self, sales_order_id: int):
        me = current_staff()
        order = staff_record(SalesOrder, sales_order_id, _("Order not found."))
        return self.render(
            "admin/crm/order.html",
            order=order,
            next_stage=order_svc.next_stage(order),
            can_work=lead_svc.may_work(me, order.lead),
            order_labels=order_svc.ORDER_STAGE_LABELS,
        )

    @expose("/<int:sales_order_id>/step", methods=["POST"])
    def step(self, sales_order_id: int):
        """Take the order's next step: allocate a VIN, record the invoice, or deliver."""
        me = current_staff()
        order = staff_record(SalesOrder, sales_order_id, _("Order not found."))
        target = url_for(".show", sales_order_id=order.id)
        f = request.form
        try:
            wanted = f.get("stage", "")
            if wanted != order_svc.next_stage(order):
                raise ValidationError(_("This step does not follow the order's current stage."))
            if wanted == "allocated":
                order_svc.allocate(me, order, f.get("vin", ""))
            elif wanted == "invoiced":
                order_svc.invoice(me, order, f.get("invoice_no", ""))
            else:
                order_svc.deliver(me, order, f.get("plate", ""))
        except DomainError as exc:
            return refused(exc, target)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(target, code=303)
