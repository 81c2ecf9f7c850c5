"""Declarative base, naming convention and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class Bilingual:
    """A row whose shown text has an English twin column (name -> name_en, description ->
    description_en). The plain column holds the Chinese original, which every row has;
    shown() gives the reader's language, falling back to Chinese where no English is set."""

    def shown(self, field: str = "name") -> str:
        original = getattr(self, field) or ""
        english = getattr(self, f"{field}_en", "") or ""
        if english and _reads_english():
            return english
        return original


def _reads_english() -> bool:
    """Whether the text is for an English reader: the request's language, or the one the
    worker forced for a message; Chinese outside both."""
    from flask_babel import get_locale

    locale = get_locale()
    return locale is not None and locale.language == "en"


def in_values(column: str, values: tuple[str, ...]) -> str:
    """Return the SQL of a CHECK that the column holds one of the values: "col IN ('a', 'b')"."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect, coltype):
        """process_result_value after the driver type's own conversion, as one function:
        TypeDecorator's generic wrapper cost more than the conversion (pages read many)."""
        impl = self.impl_instance.result_processor(dialect, coltype)

        def process(value):
            if value is None:
                return None
            if impl is not None:
                value = impl(value)
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

        return process


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
