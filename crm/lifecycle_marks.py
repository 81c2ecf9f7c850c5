"""How far each lifecycle rule has looked at each store: the watermark that leaves no gaps.

A run of a rule claims the threshold dates after its mark, through the dates it reaches today,
and moves the mark there in the transaction that inserts its calls. The claim locks the row
(SELECT ... FOR UPDATE on PostgreSQL; SQLite's workers take the write lock at BEGIN) and the
move is a conditional UPDATE on the mark it read, so two workers never both cover one range:
the second waits, then finds the mark already moved and covers nothing. A worker that was
down for weeks covers every date it missed on its next run; a store's first run (or a rule
switched back on) starts from a bounded default instead, so nobody inherits the history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.models import LifecycleMark
from crm.rules import settings
from portal.extensions import db
from portal.models import Store


def _mark(store_id: int, rule: str):
    return (LifecycleMark.store_id == store_id, LifecycleMark.rule == rule)


def marks(store_id: int) -> dict[str, date]:
    """Return how far each lifecycle rule has looked at the store (for the rules page)."""
    rows = db.session.execute(
        select(LifecycleMark.rule, LifecycleMark.covered_through).where(
            LifecycleMark.store_id == store_id
        )
    )
    return {rule: through for rule, through in rows}


def covered(store_id: int, rule: str) -> date | None:
    """Return the date the rule has covered through at the store (row locked), None if never."""
    return db.session.scalar(
        select(LifecycleMark.covered_through).where(*_mark(store_id, rule)).with_for_update()
    )


def claim(store_id: int, rule: str, through: date, first_after: date) -> date | None:
    """Claim the threshold dates after the rule's mark through ``through`` and move the mark
    there; return the mark it moved from (the range starts the day after it), or None when
    nothing is new. With no mark yet, the range starts the day after ``first_after``."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(LifecycleMark)
        .values(store_id=store_id, rule=rule, covered_through=first_after)
        .on_conflict_do_nothing(index_elements=["store_id", "rule"])
    )
    mark = covered(store_id, rule)
    if mark is None or mark >= through:
        return None
    moved = db.session.execute(
        update(LifecycleMark)
        .where(*_mark(store_id, rule), LifecycleMark.covered_through == mark)
        .values(covered_through=through)
        .execution_options(synchronize_session=False)
    ).rowcount
    return mark if moved == 1 else None


def forget(store_id: int, rule: str) -> None:
    """Drop the rule's mark (it is switched off): switched on again, it starts afresh."""
    db.session.execute(
        delete(LifecycleMark)
        .where(*_mark(store_id, rule))
        .execution_options(synchronize_session=False)
    )


# ---- the windows a rule run claims, in the store's local days ---------------------------

FIRST_RUN = timedelta(days=7)  # a store's first run of a rule covers the current week


def local_today(store: Store, at: datetime) -> date:
    return at.astimezone(ZoneInfo(store.timezone)).date()


def claim_ahead(store: Store, at: datetime, rule: str, days: int) -> tuple[date, date] | None:
    """Claim the rule's threshold dates not covered yet, through `days` ahead of the store's
    today; return the first and last, or None when there are none. A first run covers the
    week before the last date, never a date before today."""
    today = local_today(store, at)
    last = today + timedelta(days=days)
    first_after = max(today - timedelta(days=1), last - FIRST_RUN)
    mark = claim(store.id, rule, last, first_after)
    return None if mark is None else (mark + timedelta(days=1), last)


def _midnight(day: date, tz: str) -> datetime:
    """Return the UTC moment the local day begins in the zone."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def claim_ago(store: Store, at: datetime, rule: str, days: int) -> tuple[datetime, datetime] | None:
    """Claim the rule's local days not covered yet, through `days` before the store's today;
    return the UTC moments they start and end, or None when there are none (a first run
    covers the week that ends then)."""
    last = local_today(store, at) - timedelta(days=days)
    mark = claim(store.id, rule, last, last - FIRST_RUN)
    if mark is None:
        return None
    return _midnight(mark + timedelta(days=1), store.timezone), _midnight(
        last + timedelta(days=1), store.timezone
    )


def rule_setting(store: Store, rule: str) -> tuple[int, bool]:
    """Return the rule's (days, active) at the store; a rule switched off forgets its mark."""
    days, active = settings(store.id)[rule]
    if not active:
        forget(store.id, rule)
    return days, active
