"""Serve stored images to those allowed to see them."""

from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.models import Image, UsedCarPhoto, UsedCarRequest
from portal.models.usedcars import LISTED

bp = Blueprint("media", __name__, url_prefix="/media")


def _visible(image: Image | None) -> Image:
    if image is None:
        abort(404)
    if image.owner_id is None:
        return image  # public assets: advisor photos
    if current_user.is_authenticated and (
        current_user.id == image.owner_id or current_user.is_staff
    ):
        return image
    if _on_listed_car(image.id):
        return image  # an owner's photo becomes public while the car is listed, and only then
    abort(404)


def _on_listed_car(image_id: int) -> bool:
    return (
        db.session.scalar(
            select(UsedCarPhoto.id)
            .join(UsedCarRequest, UsedCarRequest.id == UsedCarPhoto.request_id)
            .where(UsedCarPhoto.image_id == image_id, UsedCarRequest.status == LISTED)
        )
        is not None
    )


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
