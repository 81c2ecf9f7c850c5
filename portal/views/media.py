"""Serve stored images to those allowed to see them."""

from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_login import current_user

from portal.extensions import db
from portal.models import Image

bp = Blueprint("media", __name__, url_prefix="/media")


def _visible(image: Image | None) -> Image:
    if image is None:
        abort(404)
    if image.owner_id is None:
        return image  # public assets: advisor photos, listed used cars
    if not current_user.is_authenticated:
        abort(404)
    if current_user.id == image.owner_id or current_user.is_staff:
        return image
    abort(404)


def _send(data: bytes) -> Response:
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/<int:image_id>")
def image_show(image_id: int):
    """Send the full-size image."""
    return _send(_visible(db.session.get(Image, image_id)).data)


@bp.route("/<int:image_id>/thumb")
def image_thumb(image_id: int):
    """Send the thumbnail."""
    return _send(_visible(db.session.get(Image, image_id)).thumb)
