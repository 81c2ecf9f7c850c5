"""Back office of new-car orders: the store's list, signing from a quote, steps to delivery."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from admin.base import StaffView
from admin.list_pages import newest_page
from admin.pipeline import current_staff, form_date, refused, staff_record
from crm import delivery
from crm import leads as lead_svc
from crm import orders as order_svc
from crm.pipeline_models import Quote, SalesOrder
from portal.auth import is_htmx
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.money import fen_from_form

PAGE_SIZE = 50  # the car orders a page lists


class SalesOrderView(StaffView):
    """New-car orders: the store's list, signing from a quote, and the steps to delivery."""

    @expose("/")
    def index(self):
        """Show one page of the store's car orders, the newest first, and how many there are."""
        loads = (selectinload(SalesOrder.customer), selectinload(SalesOrder.quote))
        return self.render(
            "admin/crm/orders.html",
            **newest_page(SalesOrder, PAGE_SIZE, loads, sort_col=SalesOrder.created_at),
            order_labels=order_svc.ORDER_STAGE_LABELS,
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
            **_checklist(order),
        )

    @expose("/<int:sales_order_id>/check", methods=["POST"])
    def check(self, sales_order_id: int):
        """Tick (or untick) one item of the delivery checklist; htmx swaps the list in place."""
        me = current_staff()
        order = staff_record(SalesOrder, sales_order_id, _("Order not found."))
        target = url_for(".show", sales_order_id=order.id)
        try:
            delivery.tick(me, order, request.form.get("item", ""), request.form.get("done") == "1")
        except DomainError as exc:
            if not is_htmx():
                return refused(exc, target)
            db.session.rollback()
            return self._checklist(order, me, error=exc.message), 422
        db.session.commit()
        if is_htmx():
            return self._checklist(order, me)
        return redirect(target, code=303)

    def _checklist(self, order: SalesOrder, me, error: str = ""):
        return render_template(
            "admin/crm/_delivery_checklist.html",
            order=order,
            can_work=lead_svc.may_work(me, order.lead),
            **_checklist(order, error),
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


def _checklist(order: SalesOrder, error: str = "") -> dict:
    """What the order's page shows of its delivery checklist."""
    return {"items": delivery.ITEMS, "ticked": delivery.checks(order), "error": error}
