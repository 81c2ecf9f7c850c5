"""Money typed by people: one parser from yuan text to integer fen, used by every form."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from portal.validation import N_

# The largest amount any one field takes: fen columns are 32-bit INTEGER on PostgreSQL.
MAX_FEN = 2**31 - 1
_PLAIN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")  # no exponent, sign, NaN or third decimal


class MoneyError(ValueError):
    """The text is not an amount this field takes; str() says why, for the user."""


def parse_yuan(raw: str | None, *, max_fen: int = MAX_FEN, allow_zero: bool = True) -> int:
    """Return the yuan amount typed in raw (¥ and thousands commas allowed) as integer fen."""
    # NFKC turns full-width digits, points and the full-width yuan sign (Chinese IMEs) into ASCII.
    text = unicodedata.normalize("NFKC", raw or "").replace(",", "").replace("¥", "").strip()
    if not _PLAIN.match(text):
        if re.match(r"^[0-9]+\.[0-9]{3,}$", text):
            raise MoneyError(N_("An amount has at most two decimals (fen)."))
        raise MoneyError(N_("Enter an amount in yuan, such as 128000 or 99.50."))
    try:
        fen = int(Decimal(text) * 100)
    except InvalidOperation as exc:  # cannot happen after the pattern; kept as a guard
        raise MoneyError(N_("Enter an amount in yuan, such as 128000 or 99.50.")) from exc
    if fen > max_fen:
        raise MoneyError(N_("This amount is too large."))
    if fen == 0 and not allow_zero:
        raise MoneyError(N_("Enter an amount above zero."))
    return fen


def fen_from_form(raw: str | None, *, field: str | None = None, **limits) -> int:
    """Return parse_yuan(raw) or raise the ValidationError a view shows beside the field."""
    from flask_babel import gettext

    from portal.errors import ValidationError

    try:
        return parse_yuan(raw, **limits)
    except MoneyError as exc:
        raise ValidationError(gettext(str(exc)), field=field) from exc
