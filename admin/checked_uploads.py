"""Uploads that are checked before they apply (the customer, platform lead and catalog imports).

The dry run keeps the checked file under a random name and hands the page a token signed for
the person who uploaded it; the apply step takes the file back only with that token and queues
it for the worker (admin/import_jobs.py), which applies it and deletes it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from flask import current_app, flash, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from admin.exports import export_dir
from portal import access
from portal.extensions import db
from portal.models import Store, User


def store_choices(me: User) -> list[tuple[int, str]]:
    """Return the stores the person may import into: all for admins, else their own."""
    stmt = select(Store).order_by(Store.id)
    if not access.sees_all_stores(me):
        stmt = stmt.where(Store.id == me.store_id)
    return [(s.id, s.name) for s in db.session.scalars(stmt)]


class CheckedUploads:
    """Checked files of one kind of import, in their own folder, under their own salt."""

    def __init__(self, folder: str, salt: str) -> None:
        self.folder, self.salt = folder, salt

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(current_app.secret_key, salt=self.salt)

    def _path(self, name: str) -> Path:
        folder = export_dir() / self.folder
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def keep(self, data: bytes, me: User, *details) -> str:
        """Keep a checked file; return the token that gives it back to this person."""
        name = secrets.token_hex(16)
        self._path(name).write_bytes(data)
        return self._serializer().dumps([name, me.id, *details])

    def take(self, token: str, me: User) -> tuple[Path, list] | None:
        """Return the kept file and its details, or None for a token not this person's (or a
        file already applied)."""
        try:
            name, user_id, *details = self._serializer().loads(token)
        except (BadSignature, TypeError, ValueError):
            return None
        if user_id != me.id or "/" in str(name) or not self._path(str(name)).is_file():
            return None
        return self._path(str(name)), details

    def take_posted(
        self, me: User, details: int, valid: Callable[[list], bool] | None = None
    ) -> tuple[Path, list] | None:
        """Return the kept file and details the posted token gives back to this person, or
        flash why not and return None: a token unknown, another's or spent, or whose details
        (how many, and `valid`) are not this import's."""
        kept = self.take(request.form.get("token", ""), me)
        if kept is not None and len(kept[1]) == details and (valid is None or valid(kept[1])):
            return kept
        flash(_("Upload the file again: this import is unknown or already applied."), "error")
        return None
