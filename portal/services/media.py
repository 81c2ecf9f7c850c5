"""Uploaded images: validated, size-limited, re-encoded, EXIF stripped and thumbnailed."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import gettext as _
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Image, User

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1600
THUMB_SIDE = 320
FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "HEIF", "MPO"}
DEFAULT_MAX_PIXELS = 24_000_000
DEFAULT_MAX_IMAGE_SIDE = 10_000
# Pillow warns above this and refuses above twice this, at open time; our own check below
# is the real limit (M4S_IMAGE_MAX_PIXELS), this one only backs it up.
PILImage.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class ProcessedImage:
    """An upload decoded and re-encoded: the bytes to store, with their size and digest."""

    data: bytes
    thumb: bytes
    width: int
    height: int
    sha256: str


def _limits() -> tuple[int, int]:
    if not has_app_context():
        return DEFAULT_MAX_PIXELS, DEFAULT_MAX_IMAGE_SIDE
    cfg = current_app.config
    return cfg["IMAGE_MAX_PIXELS"], cfg["IMAGE_MAX_SIDE"]


def _encode(img: PILImage.Image, side: int) -> bytes:
    copy = img.copy()
    copy.thumbnail((side, side))
    out = io.BytesIO()
    # Re-encoding from pixels drops EXIF (and with it GPS location) and any hidden payload.
    copy.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _too_large(field: str) -> ValidationError:
    max_pixels, max_side = _limits()
    return ValidationError(
        _(
            "The image is too large: at most %(mpx)d megapixels and %(side)d pixels a side.",
            mpx=max_pixels // 1_000_000,
            side=max_side,
        ),
        field=field,
    )


def _check_dimensions(img: PILImage.Image, field: str) -> None:
    """Refuse an image whose header declares more pixels than we decode; reads no pixels."""
    max_pixels, max_side = _limits()
    width, height = img.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise _too_large(field)


def process_image(data: bytes, *, field: str = "photo") -> ProcessedImage:
    """Validate, decode and re-encode an upload without touching the database."""
    if not data:
        raise ValidationError(_("The file is empty."), field=field)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The image is larger than %(mb)d MB.", mb=MAX_UPLOAD_BYTES // (1024 * 1024)),
            field=field,
        )
    try:
        # Image.open only reads the header: the size is known before any pixel is decoded.
        with PILImage.open(io.BytesIO(data)) as probe:
            if probe.format not in FORMATS:
                raise ValidationError(_("Upload a JPEG, PNG or WebP image."), field=field)
            _check_dimensions(probe, field)
            probe.verify()
        with PILImage.open(io.BytesIO(data)) as img:
            img.load()
            img = ImageOps.exif_transpose(img).convert("RGB")
            _check_dimensions(img, field)  # a rotation or a later frame cannot grow it
            full = _encode(img, MAX_SIDE)
            thumb = _encode(img, THUMB_SIDE)
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        # Pillow's own backstop (its warning is an exception where warnings are errors).
        raise _too_large(field) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("This file is not a valid image."), field=field) from exc
    with PILImage.open(io.BytesIO(full)) as final:
        width, height = final.size
    return ProcessedImage(full, thumb, width, height, hashlib.sha256(full).hexdigest())


def store_image(
    data: bytes | ProcessedImage, *, owner: User | None = None, field: str = "photo"
) -> Image:
    """Add an upload (raw, or already processed outside the transaction) to the session."""
    done = data if isinstance(data, ProcessedImage) else process_image(data, field=field)
    image = Image(
        owner_id=owner.id if owner else None,
        content_type="image/jpeg",
        width=done.width,
        height=done.height,
        sha256=done.sha256,
        data=done.data,
        thumb=done.thumb,
    )
    db.session.add(image)
    db.session.flush()
    return image
