"""The end of a state-changing POST that redirects: commit and say so, or roll back and say why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import flash

from portal.errors import DomainError
from portal.extensions import db


@contextmanager
def flash_outcome(
    success: str, catch: type[DomainError] | tuple[type[DomainError], ...] = DomainError
) -> Iterator[None]:
    """Run the block's service call: commit and flash `success`, or, when it raises one of
    `catch`, roll back and flash the error's message. Either way the view then redirects."""
    try:
        yield
    except catch as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(success, "success")
