"""The platform lead ids a store has imported: the same export imported twice adds nothing."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models import AUTOHOME, DONGCHEDI, PLATFORMS, YICHE, Lead
from portal.models.base import Base, UTCDateTime, in_values, utcnow

PLATFORM_LABELS = {AUTOHOME: _l("Autohome"), DONGCHEDI: _l("Dongchedi"), YICHE: _l("Yiche")}


class PlatformLead(Base):
    """One lead of a third-party platform (Autohome, Dongchedi, Yiche) imported at one store,
    and the lead it became or joined (the customer's open lead at the store)."""

    __tablename__ = "crm_platform_leads"
    __table_args__ = (
        # Idempotent re-import, held by the database even when two managers apply at once.
        UniqueConstraint("store_id", "source", "external_id"),
        CheckConstraint(in_values("source", PLATFORMS), name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int] = mapped_column(ForeignKey("crm_leads.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the platform's time
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship()
