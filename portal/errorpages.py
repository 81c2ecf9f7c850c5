"""Error answers: pages in the portal's look, JSON for JSON clients."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.errors import DomainError
from portal.extensions import db


def _answer(status: int, title: str, message: str):
    from portal.auth import is_htmx, wants_json

    # A package may answer for its own path prefix (the JSON API: problem documents).
    for prefix, answer in current_app.extensions.get("m4s_error_answerers", {}).items():
        if request.path.startswith(prefix):
            return make_response(answer(status, message), status)
    if wants_json():
        return make_response(jsonify(error=title, message=message, status=status), status)
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    page = render_template(template, status=status, title=title, message=message)
    return make_response(page, status)


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Log in needed"), _("Please log in to continue.")),
        403: (_("Not allowed"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("This page does not exist or is not visible to you.")),
        405: (_("Not allowed"), _("This action is not available here.")),
        409: (_("Conflict"), _("Someone else changed this first. Reload and try again.")),
        410: (_("Link expired"), _("This link has expired.")),
        413: (_("Too large"), _("The upload is too large.")),
        429: (_("Too many attempts"), _("Too many attempts. Wait a minute and try again.")),
        500: (_("Something went wrong"), _("We could not finish this. Nothing was changed.")),
    }


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        title, message = _titles().get(status, (exc.name, exc.description or ""))
        if isinstance(exc, CSRFError):
            message = _("Your form expired. Reload the page and try again.")
        elif status in (400, 409) and exc.description and not exc.description.startswith("The "):
            message = exc.description
        response = _answer(status, title, message)
        if status == 405 and exc.valid_methods:  # a page answering 405 says what it allows
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        title, _msg = _titles().get(exc.status, (_("Error"), ""))
        return _answer(exc.status, title, exc.message)

    @app.errorhandler(500)
    def server_error(exc: Exception):
        db.session.rollback()
        title, message = _titles()[500]
        return _answer(500, title, message)
