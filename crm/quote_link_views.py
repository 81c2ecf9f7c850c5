"""The customer's page of a quote sent as a signed link (no login): the car, its price, the
accessories, the trade-in and the finance option, and an "I accept" / "Call me" answer."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from crm import quote_links as svc
from crm.forms import QuoteAnswerForm
from crm.quotes import LINE_LABELS
from portal.errors import DomainError
from portal.extensions import db, limiter

bp = Blueprint("quote_links", __name__, url_prefix="/q")


def _page(token: str, form: QuoteAnswerForm, status: int = 200, error: str = ""):
    quote = svc.quote_from_link(token)
    lead = quote.lead
    return render_template(
        "quotes/public.html",
        quote=quote,
        lead=lead,
        store=lead.store,
        advisor=lead.advisor or quote.author,
        line_labels=LINE_LABELS,
        current=svc.is_current(quote),
        form=form,
        token=token,
        error=error,
    ), status


@bp.route("/<token>")
@limiter.limit("60 per minute")
def show(token: str):
    """Show the quote the link names, readable on a phone, with the customer's answer."""
    return _page(token, QuoteAnswerForm())


@bp.route("/<token>", methods=["POST"])
@limiter.limit("20 per hour")
def answer(token: str):
    """Record the customer's answer (once): I accept, or call me."""
    quote = svc.quote_from_link(token)
    form = QuoteAnswerForm()
    if not form.validate_on_submit():
        return _page(token, form, 400)
    try:
        svc.answer(quote, request.form.get("answer", ""), form.note.data or "")
    except DomainError as exc:
        db.session.rollback()
        return _page(token, form, exc.status, exc.message)
    db.session.commit()
    return redirect(url_for("quote_links.show", token=token), code=303)
