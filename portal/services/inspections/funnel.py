"""The inspection funnel for managers: sent, opened, items approved, amount approved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from portal import access
from portal.extensions import db
from portal.models import Inspection, InspectionItem, User
from portal.models.inspections import APPROVED, GREEN


@dataclass
class AdvisorFunnel:
    """One advisor's (who sent them) inspections in the period."""

    advisor_id: int | None
    name: str
    sent: int = 0
    opened: int = 0
    recommended: int = 0
    approved: int = 0
    approved_fen: int = 0


def advisor_funnel(staff: User, since: datetime) -> list[AdvisorFunnel]:
    """Return the funnel per advisor for inspections sent since then, in the staff's scope
    (two grouped queries over the period's inspections)."""
    sent_in_period = Inspection.sent_at >= since
    per_inspection = access.store_scope(
        select(
            Inspection.sent_by_id,
            func.count(Inspection.id),
            func.count(Inspection.opened_at),
        )
        .where(sent_in_period)
        .group_by(Inspection.sent_by_id),
        Inspection.store_id,
        staff,
    )
    approved = InspectionItem.decision == APPROVED
    per_item = access.store_scope(
        select(
            Inspection.sent_by_id,
            func.count(InspectionItem.id),
            func.coalesce(func.sum(case((approved, 1), else_=0)), 0),
            func.coalesce(func.sum(case((approved, InspectionItem.price_fen), else_=0)), 0),
        )
        .join(InspectionItem, InspectionItem.inspection_id == Inspection.id)
        .where(sent_in_period, InspectionItem.severity != GREEN)
        .group_by(Inspection.sent_by_id),
        Inspection.store_id,
        staff,
    )
    rows: dict[int | None, AdvisorFunnel] = {}
    for advisor_id, sent, opened in db.session.execute(per_inspection):
        rows[advisor_id] = AdvisorFunnel(advisor_id, "", sent=sent, opened=opened)
    for advisor_id, recommended, n_approved, fen in db.session.execute(per_item):
        row = rows.setdefault(advisor_id, AdvisorFunnel(advisor_id, ""))
        row.recommended, row.approved, row.approved_fen = recommended, int(n_approved), int(fen)
    ids = [i for i in rows if i is not None]
    names = {}
    if ids:
        names = {
            r.id: r.name
            for r in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        }
    for advisor_id, row in rows.items():
        row.name = names.get(advisor_id, "—")
    return sorted(rows.values(), key=lambda r: (-r.approved_fen, r.name))
