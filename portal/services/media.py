"""Uploaded images: validated, size-limited, re-encoded, EXIF stripped and thumbnailed."""

from __future__ import annotations

import hashlib
import io

from flask_babel import gettext as _
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Image, User

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1600
THUMB_SIDE = 320
PILImage.MAX_IMAGE_PIXELS = 40_000_000  # larger images are refused as decompression bombs


def _encode(img: PILImage.Image, side: int) -> bytes:
    copy = img.copy()
    copy.thumbnail((side, side))
    out = io.BytesIO()
    # Re-encoding from pixels drops EXIF (and with it GPS location) and any hidden payload.
    copy.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def store_image(data: bytes, *, owner: User | None = None, field: str = "photo") -> Image:
    """Validate and re-encode an uploaded image, and add it to the session."""
    if not data:
        raise ValidationError(_("The file is empty."), field=field)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The image is larger than %(mb)d MB.", mb=MAX_UPLOAD_BYTES // (1024 * 1024)),
            field=field,
        )
    try:
        with PILImage.open(io.BytesIO(data)) as probe:
            probe.verify()
        with PILImage.open(io.BytesIO(data)) as img:
            if img.format not in {"JPEG", "PNG", "WEBP", "GIF", "HEIF", "MPO"}:
                raise ValidationError(_("Upload a JPEG, PNG or WebP image."), field=field)
            img.load()
            img = ImageOps.exif_transpose(img).convert("RGB")
            full = _encode(img, MAX_SIDE)
            thumb = _encode(img, THUMB_SIDE)
    except (UnidentifiedImageError, PILImage.DecompressionBombError, OSError, SyntaxError) as exc:
        raise ValidationError(_("This file is not a valid image."), field=field) from exc
    with PILImage.open(io.BytesIO(full)) as final:
        width, height = final.size
    image = Image(
        owner_id=owner.id if owner else None,
        content_type="image/jpeg",
        width=width,
        height=height,
        sha256=hashlib.sha256(full).hexdigest(),
        data=full,
        thumb=thumb,
    )
    db.session.add(image)
    db.session.flush()
    return image
