"""Languages, money and time formatting for templates."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime
from functools import cache, lru_cache

from babel import Locale, support
from babel import dates as babel_dates
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import force_locale, format_datetime, get_locale, gettext
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from wtforms.i18n import messages_path

from portal.timeutil import to_local

LANGUAGES = {"zh_CN": "中文", "en": "English"}


@cache
def _parsed(code: str) -> Locale:
    # flask-babel parses the selector's answer on every request unless it already is a
    # Locale, and Locale.parse scans all of Babel's locale names each time.
    return Locale.parse(code)


def select_locale() -> Locale:
    """Pick the session's choice, then the user's, then the browser's, then the default."""
    return _parsed(_choose_locale())


def _choose_locale() -> str:
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and getattr(current_user, "locale", None) in LANGUAGES:
        return current_user.locale
    return (
        _browser_choice(request.headers.get("Accept-Language", ""))
        or current_app.config["DEFAULT_LOCALE"]
    )


@lru_cache(maxsize=256)
def _browser_choice(header: str) -> str | None:
    """Our language that the browser's Accept-Language prefers, if any (browsers send few
    distinct headers: each is parsed once)."""
    best = parse_accept_header(header, LanguageAccept).best_match(["zh_CN", "zh", "en"])
    return "zh_CN" if best == "zh" else best


@cache
def _wtforms_catalog(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsTranslations:
    """WTForms' own messages in the request's language, read from disk once per language.

    Flask-WTF loads the catalogue again in every request that builds a form; it takes this
    object instead when it finds one on the request (as `request.wtforms_translations`).
    """

    def ugettext(self, string: str) -> str:
        return _wtforms_catalog(str(get_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalog(str(get_locale())).ungettext(singular, plural, n)


_WTFORMS = _WTFormsTranslations()


def cny(fen: int | None) -> str:
    """Format integer fen as CNY, e.g. 123456 -> ¥1,234.56."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def localtime(value: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """Show a UTC datetime in the store's time zone (default: the configured one)."""
    if value is None:
        return ""
    zone = tz or current_app.config["DEFAULT_TIMEZONE"]
    if fmt == "full":  # date, weekday and time, without the long zone name
        fmt = "yyyy-MM-dd EEE HH:mm"
    return _localtime(value, zone, fmt, get_locale())


@lru_cache(maxsize=8192)
def _localtime(value: datetime, zone: str, fmt: str, locale: Locale | None) -> str:
    # A page of tasks or bookings repeats few times (the half hours of a day) and Babel costs
    # ~100 us a call; the result depends on nothing else (locale keys the request's language).
    return format_datetime(to_local(value, zone), fmt, rebase=False)


def language_of(user) -> str:
    """Return the locale a notice to this user is written in: theirs, else the default."""
    return getattr(user, "locale", None) or current_app.config["DEFAULT_LOCALE"]


def in_language_of(user) -> AbstractContextManager[None]:
    """Render the messages built inside this block in the user's language, not the request's.

    For notices: the owner reads them, not the staff member whose click sent them."""
    return force_locale(language_of(user))


def translate(message: str) -> str:
    """Translate a message id into the current language."""
    return gettext(message)


@lru_cache(maxsize=8192)
def _date_medium(value: date, locale: Locale) -> str:
    return babel_dates.format_date(value, "medium", locale=locale)


def date_medium(value: date | None) -> str:
    """Format a date in the current language's medium style, e.g. 2026年11月22日 / Nov 22, 2026.

    A page of dates repeats few of them; Babel's formatting costs ~15 us a call."""
    return _date_medium(value, get_locale()) if value else ""


def _current_code() -> str:
    locale = get_locale()
    for code in LANGUAGES:
        parsed = _parsed(code)
        if parsed is locale or parsed == locale:  # the same object unless force_locale
            return code
    return "en"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["cny"] = cny
    app.jinja_env.filters["localtime"] = localtime
    # Templates' _() and gettext() are Flask-Babel's own (its init_app installs them).

    @app.before_request
    def _wtforms_translations() -> None:
        request.wtforms_translations = _WTFORMS
        # Choose the language now, while the database session is sound: chosen lazily, the
        # first message of a failed write (an integrity error's flash) would read the user's
        # language from a session that must roll back first.
        get_locale()

    @app.context_processor
    def _globals():
        from portal.auth import is_htmx

        return {
            "LANGUAGES": LANGUAGES,
            "current_locale": _current_code(),
            "is_htmx": is_htmx,
        }
