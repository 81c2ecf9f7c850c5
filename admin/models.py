"""Back-office tables: the exports too large for a request, made by the worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import User
from portal.models.base import Base, UTCDateTime, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
EXPORT_STATES = (QUEUED, RUNNING, DONE, FAILED)


class ExportJob(Base):
    """One staff member's export of a list, written to a file by the worker."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="export_status"),
        CheckConstraint("done_rows >= 0", name="export_done_rows"),
        # The worker looks for queued jobs, oldest first.
        Index("ix_export_jobs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # customers, leads, bookings, orders; or "list:<endpoint>", a back-office list
    kind: Mapped[str] = mapped_column(String(40))
    # That list's query string: its search, filters and order (admin/list_export.py).
    list_args: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    fmt: Mapped[str] = mapped_column(String(8))  # csv (UTF-8 with BOM), gbk, xlsx
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    total_rows: Mapped[int | None] = mapped_column()
    done_rows: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str | None] = mapped_column(String(120))  # in the exports folder
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def percent(self) -> int:
        """Return how far the export is, 0 to 100."""
        if self.status == DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.done_rows * 100 // self.total_rows)
