"""What makes the inspection screens an installable web app that works offline: the manifest
and the service worker, served under the screens' own path so that the worker's scope is
theirs (mixed into the inspection view, which checks the staff role)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, jsonify, url_for
from flask_admin import expose
from flask_babel import gettext as _


class InstallableApp:
    """The inspection screen's manifest and service worker."""

    @expose("/manifest.webmanifest")
    def manifest(self):
        """Return the web app manifest that makes the inspection screens installable."""
        body = {
            "name": _("M4S inspections"),
            "short_name": _("Inspections"),
            "start_url": url_for(".index"),
            "scope": url_for(".index"),
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#343a40",
            "icons": [
                {
                    "src": url_for("static", filename=f"img/dvi-{n}.png"),
                    "sizes": f"{n}x{n}",
                    "type": "image/png",
                }
                for n in (192, 512)
            ],
        }
        response = jsonify(body)
        response.mimetype = "application/manifest+json"
        return response

    @expose("/sw.js")
    def service_worker(self):
        """Return the service worker that keeps the inspection screens usable offline."""
        script = Path(current_app.static_folder or "", "js", "dvi-sw.js").read_bytes()
        response = current_app.response_class(script, mimetype="text/javascript")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Service-Worker-Allowed"] = url_for(".index")
        return response
