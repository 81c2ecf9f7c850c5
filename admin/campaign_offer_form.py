"""The coupon part of the new-campaign form: read it into an offer draft, or nothing."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from crm.campaign_offers import OfferDraft
from portal.errors import ValidationError
from portal.inputs import int_arg
from portal.money import MoneyError, parse_yuan

FIELDS = (
    "offer_title_zh",
    "offer_title_en",
    "offer_amount",
    "offer_percent",
    "offer_cap",
    "offer_min",
    "offer_from",
    "offer_to",
)


def _fen(form: dict, key: str, required: bool = False) -> int | None:
    raw = (form.get(key) or "").strip()
    if not raw and not required:
        return None
    try:
        return parse_yuan(raw, max_fen=10**9)
    except MoneyError as exc:
        raise ValidationError(_(str(exc)), field=key) from exc


def _day(form: dict, key: str) -> date | None:
    try:
        return date.fromisoformat((form.get(key) or "").strip())
    except ValueError:
        return None


def offer_draft(form: dict) -> OfferDraft | None:
    """Return the coupon the manager described, or None when the coupon part is left empty."""
    if not any((form.get(k) or "").strip() for k in FIELDS):
        return None
    kind = form.get("offer_kind") or "amount"
    if kind not in ("amount", "percent"):
        raise ValidationError(_("Give either an amount off or a percent off."), field="offer_kind")
    percent = None
    if kind == "percent":
        percent = int_arg(form.get("offer_percent"), minimum=1, maximum=99)
        if percent is None:
            raise ValidationError(_("The percent off is 1 to 99."), field="offer_percent")
    return OfferDraft(
        title_zh=form.get("offer_title_zh", ""),
        title_en=form.get("offer_title_en", ""),
        amount_off_fen=_fen(form, "offer_amount", required=True) if kind == "amount" else None,
        percent_off=percent,
        cap_fen=_fen(form, "offer_cap") if kind == "percent" else None,
        min_order_fen=_fen(form, "offer_min") or 0,
        valid_from=_day(form, "offer_from"),
        valid_to=_day(form, "offer_to"),
    )
