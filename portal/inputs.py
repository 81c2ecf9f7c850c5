"""Bounds every request's input meets before a view sees it: ids that fit the database's
integers, integer arguments in range, and no NUL characters (PostgreSQL refuses them in text)."""

from __future__ import annotations

import re

from flask import abort, request
from flask_babel import gettext
from werkzeug.routing import IntegerConverter

# Ids are 32-bit INTEGER columns on PostgreSQL (SQLAlchemy's Integer); a larger number in a URL
# cannot name a row, so it is a 404 like any other missing id, never a driver overflow (500).
MAX_ID = 2**31 - 1


# 0 .. 2**31-1 spelled out, so that a larger number fails the path's pattern itself: werkzeug
# checks a rule's method before its converter, so a GET-only rule whose pattern matched made a
# PATCH to the same path with a too-large id a 405 (not allowed) instead of a 404.
_ID_PATTERN = (
    r"(?:\d{1,9}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
    r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])"
)


class IdConverter(IntegerConverter):
    """`<int:...>` that matches only 0 .. 2**31-1 (and at most 10 digits)."""

    regex = _ID_PATTERN

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app) -> None:
    """Make every `<int:...>` a bounded id, and refuse text with NUL characters."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)


def refuse_nul() -> None:
    """Answer 400 to a request whose path, query or form text holds a NUL character."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in v for v in values):
        abort(400, description=gettext("Text may not contain NUL characters."))


def int_arg(raw: str | None, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """Return a query argument as an int within [minimum, maximum], else None."""
    text = (raw or "").strip()
    if not re.fullmatch(r"-?\d{1,12}", text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None
