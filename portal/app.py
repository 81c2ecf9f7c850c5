"""The application factory: small named steps."""

from __future__ import annotations

import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from flask import Flask, g, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import errorpages, i18n, inputs, static_files, wording
from portal.config import load_config
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

# Blueprints by import path, so that portal never imports shop, workshop_video or admin.
BLUEPRINTS = [
    "portal.views.home:bp",
    "portal.views.auth:bp",
    "portal.views.vehicles:bp",
    "portal.views.media:bp",
    "portal.views.bookings:bp",
    "portal.views.notifications:bp",
    "portal.views.maintenance:bp",
    "portal.views.rescue:bp",
    "portal.views.usedcars:bp",
    "portal.views.finance:bp",
]
OPTIONAL_PACKAGES: list[str] = [  # packages that build on portal, added as they land
    "shop.views:bp",
    "shop.webhooks:bp",
    "workshop_video.views:bp",
]
ADMIN_INIT = "admin:init_admin"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build and return a configured M4S application."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("M4S_INSTANCE_PATH", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, config)
    inputs.init_app(app)  # before any blueprint adds its rules
    _init_extensions(app)
    _init_security(app)
    i18n.init_app(app)
    wording.init_app(app)
    app.jinja_env.add_extension("portal.fragments.CacheExtension")  # {% cache %} regions
    _register_blueprints(app)
    _register_admin(app)
    _register_cli(app)
    errorpages.init_app(app)
    static_files.init_app(app)  # outermost: static requests never reach Flask
    return app


def _init_extensions(app: Flask) -> None:
    import portal.models  # noqa: F401  (register every table on the metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    from portal import auth

    auth.init_login(app)


def _init_security(app: Flask) -> None:
    from portal.session_cookie import VerifiedCookieSessionInterface

    app.session_interface = VerifiedCookieSessionInterface()
    _init_csrf_token(app)

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    fixed = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if app.config["SESSION_COOKIE_SECURE"]:
        fixed.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    @app.after_request
    def _headers(response):
        nonce = g.get("csp_nonce", "")
        # A page may allow one more origin to fetch from (the watch page: the media server).
        connect = " ".join(["'self'", *g.get("csp_connect_src", ())])
        csp = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            "media-src 'self' blob:; "
            f"connect-src {connect}; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
        )
        h = response.headers
        # What the view set wins; the rest is added in one pass (Headers is a list).
        present = {key.lower() for key in h.keys()}
        h.extend(
            [
                (key, value)
                for key, value in [("Content-Security-Policy", csp), *fixed]
                if key.lower() not in present
            ]
        )
        h.add("Vary", "HX-Request")
        if "cache-control" not in present and not request.path.startswith("/static/"):
            h["Cache-Control"] = "no-store"
        return response


def _init_csrf_token(app: Flask) -> None:
    """Sign each session's CSRF secret once per process, not on every page.

    Flask-WTF signs the session's secret again for every page with a form or a
    csrf_token() (a new serializer, two HMACs and a zlib pass: about a tenth of a small
    page's time). With no time limit on tokens (WTF_CSRF_TIME_LIMIT = None: they live as long
    as the session) an earlier signature of the same secret is as good as a new one, so a
    request starts with the one this process made before, if any (Flask-WTF uses the token
    in g when there is one). A token is kept only after checking it signs that secret."""
    signed: OrderedDict[str, str] = OrderedDict()
    lock = threading.Lock()
    limit = 10_000  # sessions, ~2 MB

    def enabled() -> bool:
        return app.config["WTF_CSRF_TIME_LIMIT"] is None

    @app.before_request
    def _reuse_signed_csrf_token() -> None:
        field = app.config["WTF_CSRF_FIELD_NAME"]
        secret = session.get(field) if enabled() else None
        if secret is not None:
            with lock:
                token = signed.get(secret)
            if token is not None:
                setattr(g, field, token)

    @app.after_request
    def _keep_signed_csrf_token(response):
        field = app.config["WTF_CSRF_FIELD_NAME"]
        token, secret = g.get(field), session.get(field)
        if token is None or secret is None or not enabled():
            return response
        with lock:
            if signed.get(secret) == token:
                return response
        if _signs(app, token, secret):
            with lock:
                signed[secret] = token
                if len(signed) > limit:
                    signed.popitem(last=False)
        return response


def _signs(app: Flask, token: str, secret: str) -> bool:
    """Return whether the CSRF token is Flask-WTF's signature of this session secret."""
    from flask_wtf.csrf import URLSafeTimedSerializer
    from itsdangerous import BadData

    key = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    try:
        return URLSafeTimedSerializer(key, salt="wtf-csrf-token").loads(token) == secret
    except BadData:
        return False


def _import(path: str):
    module, _, attr = path.partition(":")
    mod = __import__(module, fromlist=[attr])
    return getattr(mod, attr)


def _register_blueprints(app: Flask) -> None:
    for path in BLUEPRINTS + OPTIONAL_PACKAGES:
        app.register_blueprint(_import(path))


def _register_admin(app: Flask) -> None:
    _import(ADMIN_INIT)(app)


def _register_cli(app: Flask) -> None:
    from portal.cli import m4s

    app.cli.add_command(m4s)
