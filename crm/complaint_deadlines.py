"""Complaint deadlines (SLA): how soon a complaint of each severity is acknowledged and
resolved, per store. A store's managers set their own (crm_complaint_slas); severities a store
has not set keep the group's defaults (SLA, overridden by config COMPLAINT_SLA). Saving checks
the ranges here and in the database, and two managers saving at once leave one row per
severity."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from crm.quality_models import SEVERITIES, SLA_DAYS, SLA_HOURS, ComplaintSla
from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import User
from portal.services import audit

SEVERITY_LABELS = {
    "low": _l("Minor complaint"),
    "medium": _l("Serious complaint"),
    "high": _l("Urgent complaint"),
}
# Severity -> (acknowledge within hours, resolve within days).
SLA: dict[str, tuple[int, int]] = {"high": (2, 1), "medium": (8, 3), "low": (24, 7)}


def default_sla() -> dict[str, tuple[int, int]]:
    """Return the group's default (hours, days) per severity (config COMPLAINT_SLA wins)."""
    return {**SLA, **current_app.config.get("COMPLAINT_SLA", {})}


def store_sla(store_id: int | None) -> dict[str, tuple[int, int]]:
    """Return the store's (acknowledge hours, resolve days) per severity, defaults filled in."""
    table = default_sla()
    if store_id is not None:
        rows = db.session.execute(
            select(ComplaintSla.severity, ComplaintSla.ack_hours, ComplaintSla.resolve_days).where(
                ComplaintSla.store_id == store_id
            )
        ).all()
        table.update({severity: (hours, days) for severity, hours, days in rows})
    return table


def sla(severity: str, store_id: int | None = None) -> tuple[timedelta, timedelta]:
    """Return the acknowledge and resolve windows of a severity at a store (or the default)."""
    hours, days = store_sla(store_id)[severity]
    return timedelta(hours=hours), timedelta(days=days)


def save_sla(staff: User, store_id: int, table: dict[str, tuple[int | None, int | None]]) -> None:
    """Set the store's deadlines for every severity (flushed); open complaints keep theirs.

    table maps each severity to (hours, days); None stands for input that was not a number."""
    if not access.in_store(staff, store_id):
        raise NotAllowed(_("These deadlines belong to another store."))
    low_h, high_h = SLA_HOURS
    low_d, high_d = SLA_DAYS
    for severity in SEVERITIES:
        hours, days = table.get(severity, (None, None))
        label = SEVERITY_LABELS[severity]
        if hours is None or not low_h <= hours <= high_h:
            raise ValidationError(
                _(
                    "%(severity)s: acknowledge within %(low)d to %(high)d hours.",
                    severity=label,
                    low=low_h,
                    high=high_h,
                ),
                field=f"ack_{severity}",
            )
        if days is None or not low_d <= days <= high_d:
            raise ValidationError(
                _(
                    "%(severity)s: resolve within %(low)d to %(high)d days.",
                    severity=label,
                    low=low_d,
                    high=high_d,
                ),
                field=f"resolve_{severity}",
            )
        if hours > days * 24:
            raise ValidationError(
                _(
                    "%(severity)s: the acknowledge deadline cannot fall after the resolve "
                    "deadline.",
                    severity=label,
                ),
                field=f"ack_{severity}",
            )
    for severity in SEVERITIES:
        _upsert_sla(store_id, severity, *table[severity])
    audit.record(
        "complaint_sla_changed",
        actor=staff,
        store_id=store_id,
        sla={severity: list(table[severity]) for severity in SEVERITIES},
    )


def _upsert_sla(store_id: int, severity: str, hours: int, days: int) -> None:
    # Two managers saving at once: the second insert meets the unique key, and then updates.
    change = (
        update(ComplaintSla)
        .where(ComplaintSla.store_id == store_id, ComplaintSla.severity == severity)
        .values(ack_hours=hours, resolve_days=days)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(change).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                ComplaintSla(
                    store_id=store_id, severity=severity, ack_hours=hours, resolve_days=days
                )
            )
    except IntegrityError:
        db.session.execute(change)
