"""The /api/v1 blueprint: bearer tokens, scopes, rate limit, ETags and problem documents."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, current_app, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import BadRequest, Unauthorized

from api import problems, tokens
from api.models import ApiToken
from api.problems import ApiProblem
from portal import access
from portal.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
problems.init_blueprint(bp)
csrf.exempt(bp)  # bearer tokens, never cookies: nothing for a forged form to ride on

PUBLIC = {"api.openapi_document", "api.docs"}  # readable without a token


def _bearer() -> str | None:
    scheme, _sp, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def _rate_key() -> str:
    """Count requests per token (by its hash), or per address when no token is sent."""
    secret = _bearer()
    if secret:
        return "api-token:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    return "api-ip:" + get_remote_address()


limiter.limit(
    lambda: current_app.config["API_RATE_LIMIT"],
    key_func=_rate_key,
    exempt_when=lambda: request.endpoint in PUBLIC,
)(bp)


@bp.before_request
def _authenticate() -> None:
    """Find the request's token; refuse a request without a live one."""
    if request.endpoint in PUBLIC:
        return
    token = tokens.find_token(_bearer())
    if token is None:
        raise Unauthorized()
    g.api_token = token
    g.api_actor = tokens.actor_for(token)
    tokens.touch(token)
    if request.method in ("POST", "PATCH") and request.content_length:
        if request.mimetype != "application/json":
            raise ApiProblem(415, _("Send the body as application/json."))
        try:
            request.get_json()  # malformed JSON: a 400 problem before any work
        except BadRequest:
            raise ApiProblem(400, _("The body is not valid JSON.")) from None


@bp.after_request
def _etag(response):
    """Let a client revalidate a GET with If-None-Match and get 304 when nothing changed."""
    if request.method == "GET" and response.status_code == 200:
        response.headers["Cache-Control"] = "private, no-cache"
        response.add_etag()
        response.make_conditional(request)
    return response


def current_token() -> ApiToken:
    return g.api_token


def needs(scope: str) -> Callable:
    """Refuse (403) a token without this scope."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if scope not in (g.api_token.scopes or []):
                raise ApiProblem(403, _("This token lacks the scope %(scope)s.", scope=scope))
            return view(*args, **kwargs)

        return wrapper

    return decorate


def shown_phone(customer) -> str:
    """Return a customer's phone as this token may see it: through the access module's rule
    for the token's staff actor, and masked unless the token was made with whole numbers."""
    phone = access.customer_phone(g.api_actor, customer)
    return phone if g.api_token.full_phones else access.mask_phone(phone)


from api.views import bookings, docs, leads, reads, updates, vehicles  # noqa: E402, F401  (routes join bp)
