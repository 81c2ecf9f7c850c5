"""Each store's figures per local day, kept by the worker, and the span of days they cover.

The group's comparison reads whole closed days from here and only the rest from the raw rows
(admin/daily_stats.py). Every figure is a count or a sum (fen, seconds, scores), so the days of
a period add up; rates, averages and NPS are computed from the sums when read.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime

# The additive figures of a store's day, in the order the job writes them.
COUNTS = (
    "bookings",  # online bookings created that day
    "came",  # of them, the cars that came in (checked in and on)
    "no_show",
    "leads",  # CRM leads created that day
    "won",
    "contacted",  # of the day's leads, those with a first contact
    "contact_seconds",  # their seconds from arrival to first contact, summed
    "surveys",  # after-sales surveys answered that day
    "nps_answers",
    "promoters",
    "detractors",
    "csi_sum",
    "csi_answers",
    "complaints",
    "sales_fen",  # shop orders paid that day, net of refunds
    "orders",
    "vetted",  # used cars approved or rejected that day
    "jobs",  # service records completed that day
    "revenue_fen",  # their totals
)
SIGNED = ("contact_seconds", "sales_fen")


class StoreDailyStats(Base):
    """One store's figures of one day in the store's time zone; rewritten by the worker."""

    __tablename__ = "store_daily_stats"
    __table_args__ = (
        UniqueConstraint("store_id", "day"),
        # Sums that a data fix may turn negative (a refund, an imported lead's times) are free.
        CheckConstraint(
            " AND ".join(f"{c} >= 0" for c in COUNTS if c not in SIGNED), name="counts_nonnegative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    day: Mapped[date]
    bookings: Mapped[int] = mapped_column(default=0)
    came: Mapped[int] = mapped_column(default=0)
    no_show: Mapped[int] = mapped_column(default=0)
    leads: Mapped[int] = mapped_column(default=0)
    won: Mapped[int] = mapped_column(default=0)
    contacted: Mapped[int] = mapped_column(default=0)
    contact_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    surveys: Mapped[int] = mapped_column(default=0)
    nps_answers: Mapped[int] = mapped_column(default=0)
    promoters: Mapped[int] = mapped_column(default=0)
    detractors: Mapped[int] = mapped_column(default=0)
    csi_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    csi_answers: Mapped[int] = mapped_column(default=0)
    complaints: Mapped[int] = mapped_column(default=0)
    sales_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(default=0)
    vetted: Mapped[int] = mapped_column(default=0)
    jobs: Mapped[int] = mapped_column(default=0)
    revenue_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreStatsSpan(Base):
    """The closed days [first_day, last_day] whose figures of the store are all in
    store_daily_stats (a day without a row there had nothing to count)."""

    __tablename__ = "store_daily_stats_spans"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="days_ordered"),)

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    first_day: Mapped[date]
    last_day: Mapped[date]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The breakdowns of a store's day the repair analytics sum (admin/analytics_rollups.py).
FAULT = "fault"  # key: fault category of the jobs completed; n jobs, amount_fen their totals
MODEL = "model"  # key, key2: brand and series of the cars of the jobs completed; n jobs
PART = "part"  # key, key2: description and part number fitted; n jobs, quantity, amount_fen
STATUS = "status"  # key: status of the bookings created that day (ACCEPTED_CANCELLED apart)
REASON = "reason"  # key: rejection reason of the bookings created that day and rejected
KINDS = (FAULT, MODEL, PART, STATUS, REASON)
ACCEPTED_CANCELLED = "cancelled_accepted"  # cancelled after the store accepted the slot


class StoreDailyCount(Base):
    """One store's count of one kind and key (a fault, a model, a part, a booking status) on
    one local day; rewritten by the worker together with store_daily_stats, covered by the
    same span."""

    __tablename__ = "store_daily_counts"
    __table_args__ = (
        UniqueConstraint("store_id", "day", "kind", "key", "key2"),
        CheckConstraint("n >= 0 AND quantity >= 0", name="counts_nonnegative"),
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    day: Mapped[date]
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(200))
    key2: Mapped[str] = mapped_column(String(60), default="")
    n: Mapped[int] = mapped_column(default=0)
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreContactMedian(Base):
    """A store's median minutes to first contact over one of the comparison's periods
    (admin/group_stats.PERIODS), taken by the worker with the daily figures.

    A median does not add up over days, and over the whole group's period it reads every
    lead of the period (218k for 90 days at 1M customers, 400 ms). The page reads this row when
    its days are the period's days, else it takes the median from the raw leads."""

    __tablename__ = "store_contact_medians"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(12), primary_key=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    minutes: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
