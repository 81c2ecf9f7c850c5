"""Errors under /api/ as RFC 9457 problem documents (application/problem+json)."""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, current_app
from flask_babel import gettext as _
from pydantic import BaseModel, Field
from werkzeug.exceptions import HTTPException

from portal.errors import DomainError, ValidationError
from portal.extensions import db

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    """One refused input: where it is and what is wrong with it."""

    field: str
    message: str


class Problem(BaseModel):
    """An error answer: an HTTP status and a reason a person can read."""

    type: str = Field("about:blank", description="Always about:blank: the status says it all.")
    title: str = Field(description="The status in words.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="Why the request was refused, for a person to read.")
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiProblem(Exception):
    """Raise to answer with a problem document (outside a domain service's own errors)."""

    def __init__(self, status: int, detail: str, errors: list[FieldProblem] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Token needed"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Too large"),
        415: _("Unsupported media type"),
        422: _("Unprocessable request"),
        429: _("Too many requests"),
        500: _("Server error"),
    }


def problem(
    status: int, detail: str, errors: list[FieldProblem] | None = None, headers=None
) -> Response:
    """Return a problem+json response with this status and reason."""
    title = _titles().get(status) or _("Error")
    body = Problem(title=title, status=status, detail=detail, errors=errors or [])
    response = current_app.response_class(
        json.dumps(body.model_dump(), ensure_ascii=False), status=status, mimetype=PROBLEM_JSON
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="m4s-api"'
    return response


def _detail(status: int, fallback: str) -> str:
    return {
        401: _("Send a valid API token: Authorization: Bearer <token>."),
        404: _("No such resource, or it is not visible to this token."),
        405: _("This method is not allowed here."),
        429: _("Too many requests with this token. Wait a minute and try again."),
        500: _("We could not finish this. Nothing was changed."),
    }.get(status) or fallback


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 429:
        headers["Retry-After"] = "60"
    return problem(status, _detail(status, exc.description or ""), headers=headers)


def _domain_error(exc: DomainError) -> Response:
    db.session.rollback()
    # A business rule that refuses well-formed input is a 422 to an API client.
    status = 422 if isinstance(exc, ValidationError) else exc.status
    errors = [FieldProblem(field=exc.field, message=exc.message)] if exc.field else []
    return problem(status, exc.message, errors)


def _api_problem(exc: ApiProblem) -> Response:
    db.session.rollback()
    return problem(exc.status, exc.detail, exc.errors)


def init_blueprint(bp: Blueprint) -> None:
    """Answer every error of the blueprint's routes as problem+json, and of any /api/ path."""
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(ApiProblem, _api_problem)

    def answer(status: int, message: str) -> Response:
        return problem(status, _detail(status, message))

    @bp.record_once
    def _claim_prefix(state) -> None:
        app: Flask = state.app
        # Paths under /api/ that match no route (404, 405) and server errors reach the app's
        # handlers; errorpages asks this answerer for them.
        app.extensions.setdefault("m4s_error_answerers", {})["/api/"] = answer
