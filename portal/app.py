"""The application factory: small named steps."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import errorpages, i18n, inputs, static_files, wording
from portal.config import load_config
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

# Blueprints by import path, so that portal never imports shop, workshop_video or admin.
BLUEPRINTS = [
    "portal.views.home:bp",
    "portal.views.auth:bp",
    "portal.views.devices:bp",
    "portal.views.totp:bp",
    "portal.views.vehicles:bp",
    "portal.views.media:bp",
    "portal.views.bookings:bp",
    "portal.views.notifications:bp",
    "portal.views.maintenance:bp",
    "portal.views.rescue:bp",
    "portal.views.usedcars:bp",
    "portal.views.finance:bp",
    "portal.views.sms_login:bp",
    "portal.views.channels:bp",
    "portal.views.privacy:bp",
    "portal.views.policy:bp",
    "portal.views.inspections:bp",
    "portal.views.repair_status:bp",
    "portal.views.help:bp",
]
OPTIONAL_PACKAGES: list[str] = [  # packages that build on portal, added as they land
    "shop.views:bp",
    "shop.webhooks:bp",
    "workshop_video.views:bp",
    "crm.views:bp",
    "crm.quality_views:bp",
    "api.views:bp",
    "crm.callerid:bp",
    "crm.campaign_response_views:bp",
    "crm.used_car_views:bp",
    "crm.quote_link_views:bp",
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
