"""Customer value (RFM) tables: the bands a store's managers define, and each customer's
nightly recency, frequency and spend with the band they fall in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime

WINDOW_DAYS = 730  # the last 24 months


class ValueBand(Base):
    """A band of customers by value; bands are tried in order and the first that fits holds."""

    __tablename__ = "crm_value_bands"
    __table_args__ = (
        UniqueConstraint("store_id", "name_zh", name="uq_crm_value_bands_store_name_zh"),
        CheckConstraint("position BETWEEN 1 AND 99", name="position_range"),
        CheckConstraint("name_zh <> ''", name="name_present"),
        CheckConstraint(
            f"recency_min_days IS NULL OR recency_min_days BETWEEN 0 AND {WINDOW_DAYS}",
            name="recency_min_range",
        ),
        CheckConstraint(
            f"recency_max_days IS NULL OR recency_max_days BETWEEN 0 AND {WINDOW_DAYS}",
            name="recency_max_range",
        ),
        CheckConstraint(
            "recency_min_days IS NULL OR recency_max_days IS NULL "
            "OR recency_min_days <= recency_max_days",
            name="recency_ordered",
        ),
        CheckConstraint("frequency_min >= 0", name="frequency_nonnegative"),
        CheckConstraint("spend_min_fen >= 0", name="spend_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(30))
    name_en: Mapped[str] = mapped_column(String(30), default="")
    position: Mapped[int] = mapped_column(default=1)
    # A customer fits when every threshold holds; None means "any". Recency is the days since
    # the last paid visit or order; a customer with none in the window has no recency, so a
    # band with a recency threshold never holds them.
    recency_min_days: Mapped[int | None] = mapped_column()
    recency_max_days: Mapped[int | None] = mapped_column()
    frequency_min: Mapped[int] = mapped_column(default=0)
    spend_min_fen: Mapped[int] = mapped_column(BigInteger, default=0)

    def label(self, locale: str) -> str:
        """Return the name in the reader's language (Chinese when no English is given)."""
        return self.name_en if locale.startswith("en") and self.name_en else self.name_zh


class CustomerValue(Base):
    """One customer's value over the last 24 months, recomputed nightly in one statement."""

    __tablename__ = "crm_customer_values"
    __table_args__ = (
        CheckConstraint("frequency >= 0", name="frequency_nonnegative"),
        Index("ix_crm_customer_values_store_band", "store_id", "band_id"),
    )

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    last_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recency_days: Mapped[int | None] = mapped_column()
    frequency: Mapped[int] = mapped_column(default=0)
    monetary_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    band_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_value_bands.id", ondelete="SET NULL")
    )
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    band: Mapped[ValueBand | None] = relationship()
