"""Back office of quotes: the store's quotes awaiting a decision and all of them, a page at a
time; a new quote from a lead, sent to the customer as a signed link, decided by a manager
and accepted into an order (admin/pipeline.py has the pipeline's shared helpers)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin import listing
from admin.base import StaffView
from admin.list_pages import bad_cursor, chosen_store, store_choices
from admin.pipeline import current_staff, refused, staff_record
from crm import leads as lead_svc
from crm import orders as order_svc
from crm import quote_links
from crm import quotes as quote_svc
from crm import test_drives as drive_svc
from crm.models import Lead
from crm.pipeline_models import AWAITING, Quote
from portal import access
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.money import fen_from_form
from portal.paging import keyset_page

QUOTES_PAGE = 50  # the quotes a page of each quotes list shows


class QuoteView(StaffView):
    """Price a quote for a lead, print it, approve its discount, record the customer's yes."""

    @expose("/")
    def index(self):
        """The store's quotes: those awaiting a manager's decision, the oldest first, then all
        of them, the newest first; each list a page at a time (?waiting=, ?cursor=; back to
        the page before: ?waiting_back=, ?back=)."""
        stores = store_choices()
        store_id = chosen_store(stores)
        stmt = access.chosen_store_scope(select(Quote), Quote.store_id, current_staff(), store_id)
        loads = selectinload(Quote.lead).selectinload(Lead.customer)
        pending = stmt.where(Quote.status == AWAITING)
        waiting = keyset_page(
            pending.options(loads),
            Quote.id,
            Quote.id,
            size=QUOTES_PAGE,
            oldest_first=True,
            param="waiting",
            back_param="waiting_back",
            cursor_stmt=stmt,  # a quote decided meanwhile still marks the place
        )
        latest = keyset_page(
            stmt.options(loads),
            Quote.id,
            Quote.id,
            size=QUOTES_PAGE,
            param="cursor",
            cursor_stmt=stmt,
        )
        return self.render(
            "admin/crm/quotes.html",
            waiting=waiting.items,
            waiting_page=waiting,
            waiting_count=listing.count_label(pending.with_only_columns(Quote.id)),
            latest=latest.items,
            page=latest,
            page_size=QUOTES_PAGE,
            count=listing.count_label(stmt.with_only_columns(Quote.id)),
            error=bad_cursor(latest) or bad_cursor(waiting, ("waiting", "waiting_back")),
            stores=stores,
            store_id=store_id,
            quote_labels=quote_svc.QUOTE_STATE_LABELS,
        )

    @expose("/new/<int:lead_id>", methods=["GET", "POST"])
    def new(self, lead_id: int):
        me, lead = current_staff(), staff_record(Lead, lead_id, _("Lead not found."))
        products = quote_svc.accessories()
        previous = next(iter(quote_svc.quotes_of(lead)), None)
        error = None
        if request.method == "POST":
            try:
                quote = quote_svc.make_quote(me, lead, self._draft())
            except DomainError as exc:
                db.session.rollback()
                error = exc.message
            else:
                db.session.commit()
                flash(_("Quote saved."), "success")
                return redirect(url_for(".show", quote_id=quote.id), code=303)
        brand, _sep, series = (lead.model_interest or "").partition(" ")
        return self.render(
            "admin/crm/quote_new.html",
            lead=lead,
            products=products,
            previous=previous,
            brand=previous.brand if previous else brand,
            series=previous.series if previous else series,
            limit_fen=drive_svc.settings_for(lead.store_id).discount_limit_fen,
            finance_terms=quote_svc.FINANCE_TERMS,
            error=error,
            form=request.form,
        ), (422 if error else 200)

    def _draft(self) -> quote_svc.Draft:
        f = request.form
        accessories = []
        for i in (1, 2, 3):
            product_id = int_arg(f.get(f"accessory_{i}"), minimum=1)
            if product_id:
                qty = int_arg(f.get(f"qty_{i}") or "1", minimum=1, maximum=quote_svc.MAX_QUANTITY)
                if qty is None:
                    raise ValidationError(
                        _("A quantity is from 1 to %(n)d.", n=quote_svc.MAX_QUANTITY),
                        field="accessories",
                    )
                accessories.append((product_id, qty))

        def fen(name: str, required: bool = False) -> int:
            raw = f.get(name, "")
            if not raw.strip() and not required:
                return 0
            return fen_from_form(raw, field=name)

        return quote_svc.Draft(
            brand=(f.get("brand") or "")[:40],
            series=(f.get("series") or "")[:60],
            vehicle_fen=fen("vehicle_price", required=True),
            insurance_fen=fen("insurance"),
            registration_fen=fen("registration"),
            discount_fen=fen("discount"),
            accessories=tuple(accessories),
            note=(f.get("note") or "")[:2000],
            trade_in_fen=fen("trade_in"),
            trade_in_car=(f.get("trade_in_car") or "")[:120],
            finance_months=int_arg(f.get("finance_months"), minimum=1, maximum=120),
            finance_down_fen=fen("finance_down"),
            finance_monthly_fen=fen("finance_monthly"),
        )

    @expose("/<int:quote_id>")
    def show(self, quote_id: int):
        """The quote as the customer sees it: printable, and readable on a phone."""
        me = current_staff()
        quote = staff_record(Quote, quote_id, _("Quote not found."))
        return self.render(
            "admin/crm/quote.html",
            quote=quote,
            lead=quote.lead,
            can_work=lead_svc.may_work(me, quote.lead),
            is_manager=lead_svc.is_manager(me),
            order=order_svc.order_of(quote.lead_id),
            line_labels=quote_svc.LINE_LABELS,
            quote_labels=quote_svc.QUOTE_STATE_LABELS,
            offerable=quote.status in quote_svc.OFFERABLE,
            sendable=quote_links.is_current(quote),
            answer_labels=quote_links.ANSWER_LABELS,
        )

    @staticmethod
    def _step(quote_id: int, do, done: str):
        """Take one step on the quote (do(staff, quote)), commit, and say done; a refused step
        changes nothing and says why. Back to the quote's page either way."""
        quote = staff_record(Quote, quote_id, _("Quote not found."))
        target = url_for(".show", quote_id=quote.id)
        try:
            do(current_staff(), quote)
        except DomainError as exc:
            return refused(exc, target)
        db.session.commit()
        flash(done, "success")
        return redirect(target, code=303)

    @expose("/<int:quote_id>/send", methods=["POST"])
    def send(self, quote_id: int):
        """Send the customer a signed link to the quote on their channels."""
        return self._step(
            quote_id, quote_links.send_link, _("The quote's link is on its way to the customer.")
        )

    @expose("/<int:quote_id>/decide", methods=["POST"])
    def decide(self, quote_id: int):
        """Approve or refuse the quote's discount (managers; the first decision wins)."""
        approve = request.form.get("verb") == "approve"
        return self._step(
            quote_id,
            lambda staff, quote: quote_svc.decide(staff, quote, approve=approve),
            _("Saved."),
        )

    @expose("/<int:quote_id>/accept", methods=["POST"])
    def accept(self, quote_id: int):
        """Record that the customer accepted the quote."""
        return self._step(quote_id, quote_svc.accept, _("The customer accepted the quote."))
