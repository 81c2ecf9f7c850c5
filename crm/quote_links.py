"""A quote sent to the customer as a signed, expiring link (no login), and their answer on it.

The link names one quote (portal.signed_links, its own salt): changing the id breaks the
signature, and a link signed for another purpose opens nothing. It works for QUOTE_LINK_DAYS
and only while the quote is the lead's current offer and still valid; otherwise the page says
why. The message goes through the outbox on the customer's channels for bookings and sales.
The customer answers once, "I accept" or "call me": a conditional UPDATE records it (a
double tap or a replay changes nothing), the lead's timeline gets it, and the advisor is told.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from crm import leads as lead_svc
from crm.models import OPEN, LeadEvent
from crm.pipeline_models import ANSWER_ACCEPT, QUOTE_ANSWERS, SUPERSEDED, Quote
from crm.quotes import OFFERABLE
from portal import signed_links
from portal.errors import Conflict, Gone, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.i18n import cny
from portal.models import User
from portal.services import channels, notify
from portal.timeutil import now, to_local

SALT = "m4s.quote.link"
LINK_PREFIX = "/q/"  # the customer's page (crm.quote_link_views)
KIND = "booking"  # the customer's channels for bookings and sales, not marketing
NOTE_LIMIT = 500
ANSWER_LABELS = {"accept": _l("The customer accepts"), "call": _l("The customer asks for a call")}


def link_token(quote: Quote) -> str:
    """Return a signed token naming the quote."""
    return signed_links.sign(SALT, "q", quote.id)


def link_path(quote: Quote) -> str:
    """Return the customer's page's path for a fresh link to the quote."""
    return LINK_PREFIX + link_token(quote)


def _invalid() -> NotFound:
    return NotFound(_("This quote link is not valid. Ask your sales advisor for a new one."))


def quote_from_link(token: str) -> Quote:
    """Return the quote a link names; NotFound if forged, Gone if expired or replaced."""
    max_age = current_app.config["QUOTE_LINK_DAYS"] * 86400
    try:
        quote_id = signed_links.read(SALT, "q", token, max_age)
    except signed_links.LinkExpired:
        raise Gone(
            _("This quote link has expired. Ask your sales advisor for a new one.")
        ) from None
    except signed_links.LinkInvalid:
        raise _invalid() from None
    quote = db.session.get(Quote, quote_id)
    if quote is None:
        raise _invalid()
    if quote.status == SUPERSEDED:
        raise Gone(_("A newer quote replaced this one. Ask your sales advisor for its link."))
    return quote


def is_current(quote: Quote) -> bool:
    """Return whether the customer may still answer: an open offer within its validity."""
    today = to_local(now(), quote.lead.store.timezone).date()
    return quote.status in OFFERABLE and quote.lead.state == OPEN and today <= quote.valid_until


def send_link(actor: User, quote: Quote) -> str:
    """Send the customer a fresh link to the quote on their channels; return its path."""
    lead = quote.lead
    if not lead_svc.may_work(actor, lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))
    if not is_current(quote):
        raise ValidationError(_("Only a current quote, ready to offer, can be sent."))
    customer = lead.customer
    at = now()
    if not channels.routes(customer, KIND, at):
        raise ValidationError(
            _("The customer has no phone, WeChat or email we may use: print the quote instead.")
        )
    path = link_path(quote)
    with force_locale(customer.locale or current_app.config["DEFAULT_LOCALE"]):
        text = _(
            "%(store)s: your quote for the %(car)s, %(total)s, valid until %(day)s. "
            "See it and answer here.",
            store=lead.store.name,
            car=f"{quote.brand} {quote.series}",
            total=cny(quote.due_fen),
            day=quote.valid_until.isoformat(),
        )
        subject = _("Your car quote from %(store)s", store=lead.store.name)
    notify.notify(customer, text, path, subject=subject, kind=KIND)
    db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id)
        .values(sent_at=at)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(quote)
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="quote_sent", actor_id=actor.id, note=f"v{quote.version}")
    )
    return path


def answer(quote: Quote, verb: str, note: str = "") -> None:
    """Record the customer's one answer on the link, on the lead's timeline, and tell the
    advisor (the quote's author when the lead has none)."""
    if verb not in QUOTE_ANSWERS:
        raise ValidationError(_("Choose “I accept” or “Call me”."), field="answer")
    note = (note or "").strip()[:NOTE_LIMIT]
    if not is_current(quote):
        raise Gone(_("This quote can no longer be answered. Ask your sales advisor."))
    at = now()
    done = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.answer.is_(None), Quote.status.in_(OFFERABLE))
        .values(answer=verb, answer_note=note, answered_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(_("You have already answered. Your sales advisor will call you."))
    db.session.refresh(quote)
    lead = quote.lead
    kind = "quote_yes" if verb == ANSWER_ACCEPT else "quote_call_me"
    db.session.add(
        LeadEvent(lead_id=lead.id, kind=kind, note=f"v{quote.version} {note}".strip(), at=at)
    )
    lead.updated_at = at
    advisor = lead.advisor or quote.author
    with force_locale(advisor.locale or current_app.config["DEFAULT_LOCALE"]):
        if verb == ANSWER_ACCEPT:
            text = _(
                "%(name)s accepts quote v%(v)d for the %(car)s: call them to sign the order.",
                name=lead.customer.name,
                v=quote.version,
                car=f"{quote.brand} {quote.series}",
            )
        else:
            text = _(
                "%(name)s asks you to call about quote v%(v)d for the %(car)s.",
                name=lead.customer.name,
                v=quote.version,
                car=f"{quote.brand} {quote.series}",
            )
    notify.notify(advisor, text, f"/admin/quotes/{quote.id}", kind="account")
    db.session.flush()
