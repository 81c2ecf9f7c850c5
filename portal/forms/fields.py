"""Fields and helpers shared by the forms: yuan amounts, ranges, domain errors on fields."""

from __future__ import annotations

from flask_babel import gettext as _
from wtforms import (
    StringField,
)
from wtforms.validators import (
    NumberRange,
    ValidationError,
)

from portal.money import MAX_FEN, MoneyError, parse_yuan

# Filters take what a real car can have; a larger number is a typo, never a database overflow.
YUAN_RANGE = NumberRange(min=0, max=MAX_FEN // 100)
YEAR_RANGE = NumberRange(min=1950, max=2100)
KM_RANGE = NumberRange(min=0, max=3_000_000)


class YuanField(StringField):
    """An amount typed in yuan (up to two decimals); .fen holds it as integer fen."""

    fen: int | None = None
    error: str | None = None

    def __init__(self, *args, max_fen: int = MAX_FEN, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_fen = max_fen

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.fen, self.error = None, None
        if not (self.data or "").strip():
            return
        try:
            self.fen = parse_yuan(self.data, max_fen=self.max_fen)
        except MoneyError as exc:
            self.error = str(exc)

    def pre_validate(self, form):
        if self.error:
            raise ValidationError(_(self.error))


def field_error(form, exc, default: str) -> None:
    """Show a service's domain error next to the field it names (or the default field)."""
    field = getattr(form, exc.field or default, None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]
