"""Photos of a request, decoded before its write transaction begins."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from portal.errors import ValidationError
from portal.extensions import db
from portal.services import media


def request_photos(name: str = "photos", *, limit: int) -> list[media.ProcessedImage]:
    """Decode the request's photos of one field, outside any database transaction."""
    files = [f for f in request.files.getlist(name) if f and f.filename]
    if len(files) > limit:
        raise ValidationError(_("Attach at most %(n)d photos.", n=limit), field=name)
    # Read one byte past the limit: process_image refuses the oversized file with a message.
    blobs = [f.read(media.MAX_UPLOAD_BYTES + 1) for f in files]
    if blobs:
        # On SQLite a POST takes the one write lock at its first query (BEGIN IMMEDIATE) and
        # keeps it to the commit. Nothing is written yet: end that transaction, so decoding
        # never holds the lock (or a PostgreSQL snapshot) while other requests wait.
        db.session.rollback()
    return [media.process_image(blob, field=name) for blob in blobs]
