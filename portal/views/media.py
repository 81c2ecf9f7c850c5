"""Serve stored images to those allowed to see them, at addresses nobody can guess."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user
from itsdangerous import BadSignature, Signer
from werkzeug.datastructures import ContentRange
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


def send_clip(clip, poster: bool = False) -> Response:
    """Send a ready inspection clip's poster, or its video answering HTTP Range requests
    (phones' players ask for ranges, and Safari plays nothing without them); the caller has
    applied the access rule. Only the bytes of the range are read from the database."""
    from portal.services.inspections import clips

    if poster:
        return _send(clips.clip_part(clip, poster=True))
    size = clip.video_bytes or 0
    response = Response(mimetype=clip.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["Accept-Ranges"] = "bytes"
    response.set_etag(clip.sha256)
    if request.if_none_match.contains(clip.sha256):
        response.status_code = 304
        return response
    span = _byte_span(clip.sha256, size)
    if span is None:
        response.status_code = 416
        response.headers["Content-Range"] = f"bytes */{size}"
        return response
    if span is WHOLE:
        response.set_data(clips.clip_part(clip, poster=False))
        return response
    start, stop = span
    response.set_data(clips.clip_part(clip, poster=False, start=start, length=stop - start))
    response.status_code = 206
    response.content_range = ContentRange("bytes", start, stop, size)
    return response


WHOLE = (0, -1)


def _byte_span(etag: str | None, size: int) -> tuple[int, int] | None:
    """Return the (start, stop) of the one byte range asked for; WHOLE when none is asked
    for, several are, or If-Range names another version; None when it is unsatisfiable."""
    wanted = request.range
    if_range = request.if_range
    if wanted is None or wanted.units != "bytes" or len(wanted.ranges) != 1:
        return WHOLE
    if if_range.date is not None or if_range.etag not in (None, etag):
        return WHOLE
    start, stop = wanted.ranges[0]
    if start < 0:  # the last -start bytes
        start, stop = max(0, size + start), size
    stop = size if stop is None else min(stop, size)
    return (start, stop) if start < stop else None
