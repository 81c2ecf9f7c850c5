"""Idempotency-Key on every POST: the first answer is kept per token and key, and replayed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from flask import Response, current_app, request
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from api.models import ApiToken, IdempotencyKey
from api.problems import ApiProblem, FieldProblem
from portal.extensions import db
from portal.timeutil import now
from portal.transitions import insert_or_skip


def request_hash() -> str:
    """Return the hash of what this request asks: method, path and its JSON body."""
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = f"{request.method} {request.path}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _stored(token: ApiToken, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.token_id == token.id, IdempotencyKey.key == key)
    )


def _replay(record: IdempotencyKey, digest: str) -> Response:
    if record.request_hash != digest:
        raise ApiProblem(
            422,
            _("This Idempotency-Key was used for a different request."),
            [FieldProblem(field="Idempotency-Key", message=_("Use a new key for a new request."))],
        )
    if record.status == 0:  # claimed by a request still running
        raise ApiProblem(409, _("A request with this Idempotency-Key is still running."))
    response = current_app.response_class(
        record.response_body, status=record.status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def once(token: ApiToken, key: str, work: Callable[[], tuple[dict, int]]) -> Response:
    """Run work() once per token and key and commit; answer a repeat with the first answer."""
    digest = request_hash()
    # Claim the key first, in one statement: a concurrent request with the same key waits on
    # the unique index (PostgreSQL) or on the write lock (SQLite), then inserts nothing, finds
    # the answer and replays it.
    claim_id = db.session.execute(
        insert_or_skip(IdempotencyKey)
        .values(token_id=token.id, key=key, request_hash=digest, status=0, response_body="",
                created_at=now())
        .returning(IdempotencyKey.id)
    ).scalar()  # fmt: skip
    if claim_id is None:
        record = _stored(token, key)
        if record is None:  # forgotten meanwhile (the purge job): nothing to replay
            raise ApiProblem(409, _("A request with this Idempotency-Key is still running."))
        return _replay(record, digest)
    body, status = work()  # a refusal raises, and the claim rolls back with the rest
    text = json.dumps(body, ensure_ascii=False)
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_id)
        .values(status=status, response_body=text)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return current_app.response_class(text, status=status, mimetype="application/json")


PURGE_BATCH = 5000


def purge_expired() -> int:
    """Forget Idempotency-Keys older than API_IDEMPOTENCY_HOURS, a batch at a time (a job)."""
    cutoff = now() - timedelta(hours=current_app.config["API_IDEMPOTENCY_HOURS"])
    total = 0
    while True:
        ids = db.session.scalars(
            select(IdempotencyKey.id).where(IdempotencyKey.created_at < cutoff).limit(PURGE_BATCH)
        ).all()
        if not ids:
            return total
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
        db.session.commit()
        total += len(ids)
