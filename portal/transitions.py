"""Records that move through statuses: their labels, their lookups and the conditional UPDATE.

Bookings and rescues share this shape: a status column, a table of translated labels, an
owner lookup and a store lookup that answer 404 for records of others (``portal.access``),
and a timeline of events written by every move. Each move is one conditional UPDATE, so of
concurrent callers exactly one wins and the others get a Conflict naming the status now.
Counters of failures (sign-in, second factor) are bumped the same way, in one statement, and
rows that a UNIQUE constraint allows once are inserted in a savepoint (``insert_unique``) or,
in one statement, with ``insert_or_skip`` (INSERT ... ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import Conflict
from portal.extensions import db
from portal.timeutil import now

T = TypeVar("T")


def label(labels: Mapping[str, Any], code: str) -> str:
    """Return the translated label of a code, or the code itself when the table lacks it."""
    return str(labels.get(code, code))


def lookups(
    model: type[T], not_found: Any
) -> tuple[Callable[[Any, int], T], Callable[[Any, int], T]]:
    """Return (owned, in_store) lookups of a model: the owner's record or the staff member's
    store's record (any store for admins), else NotFound with the (lazy) message."""

    def owned(owner: Any, record_id: int) -> T:
        return access.owned_record(owner, model, record_id, str(not_found))

    def in_store(staff: Any, record_id: int) -> T:
        return access.store_record(staff, model, record_id, str(not_found))

    return owned, in_store


def move(
    record: Any,
    allowed_from: tuple[str, ...],
    values: dict[str, Any],
    conflict: Callable[[str], str],
) -> str:
    """Update the record only while its status is one of allowed_from; return the status before.

    Raise Conflict(conflict(status now)) when another request moved it first (the record is
    refreshed to show that status). On success the caller refreshes when it needs to."""
    model = type(record)
    before = record.status
    result = db.session.execute(
        update(model)
        .where(model.id == record.id, model.status.in_(allowed_from))
        .values(updated_at=now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(record)
        raise Conflict(conflict(record.status))
    return before


def add_event(event_model: type, record_key: str, record: Any, actor: Any, kind: str, **fields):
    """Add an entry to a record's timeline (record_key: the event column naming the record)."""
    db.session.add(
        event_model(
            **{record_key: record.id},
            at=now(),
            actor_id=actor.id if actor else None,
            kind=kind,
            **fields,
        )
    )


def increment(column: Any, *where: Any) -> int:
    """Add one to an integer column of the matching row in one UPDATE ... RETURNING; return
    the new value (concurrent callers each see their own count, none is lost)."""
    model = column.class_
    return db.session.execute(
        update(model)
        .where(*where)
        .values({column.key: column + 1})
        .returning(column)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def insert_unique(row: Any) -> bool:
    """Insert the row in a savepoint; return False, leaving the transaction usable, when a
    UNIQUE constraint refuses it (a concurrent twin, or the same thing done twice)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def insert_or_skip(model: Any) -> Any:
    """Return an INSERT into the model's table that skips, without an error, a row any UNIQUE
    constraint refuses (ON CONFLICT DO NOTHING): with RETURNING, no row back means skipped.
    One statement where a savepoint, an INSERT and a RELEASE were three."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing()
