"""The sales funnel by source, advisor and model, and the forecast of orders and deliveries.

Each figure is one GROUP BY in the database, scoped to the viewer's store; Python only adds up
the few rows that come back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from crm.board import FUNNEL, Period
from crm.models import CONTACTED, NEW, OPEN, ORDER, QUOTE, STAGES, TEST_DRIVE, VISITED, Lead
from crm.pipeline_models import DELIVERED_ORDER, SalesOrder
from portal import access
from portal.extensions import db
from portal.models import User

SOURCE, ADVISOR, MODEL = "source", "advisor", "model"
DIMENSIONS = (SOURCE, ADVISOR, MODEL)
MODELS_SHOWN = 12  # the most asked-for models; the rest are added up as one row

# The forecast rule (the page's help text says the same):
# an open lead orders with the chance of its stage, times its grade's factor (at most 100 %);
STAGE_WEIGHTS = {NEW: 0.05, CONTACTED: 0.10, VISITED: 0.15, TEST_DRIVE: 0.25, QUOTE: 0.40}
GRADE_FACTORS = {"H": 1.5, "A": 1.2, "B": 1.0, "C": 0.6}
# and the grade says when: (share of the order expected this month, share expected next month).
# H buys within 7 days and A within 15: this month; B within 30: half and half; C within three
# months: a third next month (the rest falls after the forecast).
GRADE_MONTHS = {"H": (1.0, 0.0), "A": (1.0, 0.0), "B": (0.5, 0.5), "C": (0.0, 1 / 3)}


@dataclass
class FunnelRow:
    key: str  # the source key, the advisor's name or the model ("" when unknown)
    reached: dict[str, int] = field(default_factory=dict)  # funnel stage -> leads that reached it

    @property
    def leads(self) -> int:
        return self.reached.get(NEW, 0)

    @property
    def orders(self) -> int:
        return self.reached.get(ORDER, 0)

    @property
    def conversion(self) -> float | None:
        """Return the share of the leads that ordered, in per cent."""
        return 100 * self.orders / self.leads if self.leads else None


def _dimension(by: str):
    if by == ADVISOR:
        return User.name
    if by == MODEL:
        return Lead.model_interest
    return Lead.source


def funnel_by(viewer: User, span: Period, by: str, store_id: int | None = None) -> list[FunnelRow]:
    """Return, per source, advisor or model, how many leads received in the period reached each
    funnel stage (lost ones count up to the stage they reached), most leads first."""
    key = _dimension(by)
    ident = Lead.advisor_id if by == ADVISOR else key  # two advisors may share a name
    stmt = select(ident, key, Lead.stage, func.count(Lead.id)).where(
        Lead.created_at >= span.start_utc, Lead.created_at < span.end_utc
    )
    if by == ADVISOR:
        stmt = stmt.outerjoin(User, User.id == Lead.advisor_id)
    stmt = access.chosen_store_scope(stmt.group_by(ident, key, Lead.stage), Lead, viewer, store_id)
    at_stage: dict[tuple, dict[str, int]] = {}
    for i, k, stage, count in db.session.execute(stmt):
        label = (k or "").strip()  # a model typed with a stray space is the same model
        counts = at_stage.setdefault((i if by == ADVISOR else label, label), {})
        counts[stage] = counts.get(stage, 0) + count
    rows = []
    for (_ident, label), counts in at_stage.items():
        row = FunnelRow(label)
        for stage in FUNNEL:
            i = STAGES.index(stage)
            row.reached[stage] = sum(n for s, n in counts.items() if STAGES.index(s) >= i)
        rows.append(row)
    rows.sort(key=lambda r: (-r.leads, r.key))
    if by == MODEL and len(rows) > MODELS_SHOWN:
        rest = FunnelRow("…")
        for row in rows[MODELS_SHOWN - 1 :]:
            for stage, n in row.reached.items():
                rest.reached[stage] = rest.reached.get(stage, 0) + n
        rows = [*rows[: MODELS_SHOWN - 1], rest]
    return rows


def order_chance(stage: str, grade: str) -> float:
    """Return the chance that an open lead at this stage and grade orders (0 to 1)."""
    return min(1.0, STAGE_WEIGHTS.get(stage, 0.0) * GRADE_FACTORS.get(grade, 1.0))


@dataclass
class Forecast:
    this_month: date  # the first day of the current month, store time
    next_month: date
    expected_orders: tuple[float, float]  # (this month, next month), from open leads
    expected_deliveries: tuple[int, int]  # signed orders due for delivery in each month
    undated_orders: int  # signed, not delivered, no delivery date yet
    actual_orders: int  # signed so far this month
    actual_deliveries: int  # delivered so far this month


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def forecast(viewer: User, this_month: Period, store_id: int | None = None) -> Forecast:
    """Return the expected orders and deliveries of this month and next beside this month's
    actuals; ``this_month`` is the board's "this_month" period in store time."""
    open_leads = access.chosen_store_scope(
        select(Lead.stage, Lead.grade, func.count(Lead.id))
        .where(Lead.state == OPEN, Lead.stage.in_(tuple(STAGE_WEIGHTS)))
        .group_by(Lead.stage, Lead.grade),
        Lead,
        viewer,
        store_id,
    )
    now_share = next_share = 0.0
    for stage, grade, count in db.session.execute(open_leads):
        chance = order_chance(stage, grade) * count
        first, second = GRADE_MONTHS.get(grade, (0.0, 0.0))
        now_share += chance * first
        next_share += chance * second
    start, following = this_month.start, this_month.end
    after = _month_after(following)
    due = access.chosen_store_scope(
        select(SalesOrder.delivery_date, func.count(SalesOrder.id))
        .where(SalesOrder.stage != DELIVERED_ORDER, SalesOrder.delivered_at.is_(None))
        .group_by(SalesOrder.delivery_date),
        SalesOrder,
        viewer,
        store_id,
    )
    deliveries = [0, 0]
    undated = 0
    for day, count in db.session.execute(due):
        if day is None:
            undated += count
        elif day < following:  # overdue ones are still expected this month
            deliveries[0] += count
        elif day < after:
            deliveries[1] += count
    actual = access.chosen_store_scope(
        select(
            func.count(SalesOrder.id).filter(
                SalesOrder.signed_at >= this_month.start_utc,
                SalesOrder.signed_at < this_month.end_utc,
            ),
            func.count(SalesOrder.id).filter(
                SalesOrder.delivered_at >= this_month.start_utc,
                SalesOrder.delivered_at < this_month.end_utc,
            ),
        ),
        SalesOrder,
        viewer,
        store_id,
    )
    signed, delivered = db.session.execute(actual).one()
    return Forecast(
        this_month=start,
        next_month=following,
        expected_orders=(now_share, next_share),
        expected_deliveries=(deliveries[0], deliveries[1]),
        undated_orders=undated,
        actual_orders=signed or 0,
        actual_deliveries=delivered or 0,
    )
