"""Serve stored images to those allowed to see them, at addresses nobody can guess."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from flask_login import current_user
from itsdangerous import BadSignature, Signer
from werkzeug.routing import BaseConverter, ValidationError

from portal import access
from portal.extensions import db
from portal.models import Image

bp = Blueprint("media", __name__, url_prefix="/media")


def _signer() -> Signer:
    return Signer(current_app.secret_key, salt="m4s.media.image")


class ImageKeyConverter(BaseConverter):
    """An image id signed with the app's secret: ``url_for(..., image_id=7)`` gives
    ``/media/7.<signature>``, and an id without its signature matches no route (404)."""

    regex = r"[0-9]{1,18}\.[A-Za-z0-9_-]{16,64}"

    def to_python(self, value: str) -> int:
        try:
            return int(_signer().unsign(value))
        except (BadSignature, ValueError) as exc:
            raise ValidationError() from exc

    def to_url(self, value) -> str:
        return _signer().sign(str(int(value))).decode()


# Before the routes below: their rules need the converter when the blueprint is registered.
bp.record_once(lambda state: state.app.url_map.converters.setdefault("image", ImageKeyConverter))


def _visible(image_id: int) -> Image:
    image = db.session.get(Image, image_id)
    if image is None or not access.image_visible(current_user, image):
        abort(404)
    return image


def _send(data: bytes) -> Response:
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/<image:image_id>")
def image_show(image_id: int):
    """Send the full-size image."""
    return _send(_visible(image_id).data)


@bp.route("/<image:image_id>/thumb")
def image_thumb(image_id: int):
    """Send the thumbnail."""
    return _send(_visible(image_id).thumb)
