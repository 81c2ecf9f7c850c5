"""Back-office tables: the exports too large for a request and the imports' apply steps, both
run by the worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Store, User
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


CUSTOMERS_IMPORT, LEADS_IMPORT = "customers", "leads"
# The catalog's imports (admin/catalog_imports.py KINDS), each applied in one transaction.
CATALOG_IMPORTS = ("products", "stock", "prices")
IMPORT_KINDS = (CUSTOMERS_IMPORT, LEADS_IMPORT, *CATALOG_IMPORTS)


class ImportJob(Base):
    """The apply step of one checked import file (customers, platform leads, or a catalog
    import) at one store, run by the worker in batches that commit as they go (a catalog
    import: the whole file in one)."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="import_status"),
        CheckConstraint(
            "kind IN ('customers', 'leads', 'products', 'stock', 'prices')", name="import_kind"
        ),
        CheckConstraint("done_rows >= 0", name="import_done_rows"),
        CheckConstraint("attempts >= 0", name="import_attempts"),
        # One job per checked file: a second click on "apply" (or a twin request) finds the
        # first one's job instead of queueing the file again.
        UniqueConstraint("upload"),
        Index("ix_import_jobs_status_id", "status", "id"),
        Index("ix_import_jobs_store_id_id", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    upload: Mapped[str] = mapped_column(String(64))  # the checked file's name in its folder
    platform: Mapped[str] = mapped_column(String(16), default="")  # leads: autohome...
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    total_rows: Mapped[int | None] = mapped_column()
    done_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)  # new customers, or new leads
    merged: Mapped[int] = mapped_column(default=0)  # rows added to a known customer or open lead
    skipped: Mapped[int] = mapped_column(default=0)  # rows that changed nothing
    vehicles: Mapped[int] = mapped_column(default=0)  # customers: vehicles added
    failed: Mapped[int] = mapped_column(default=0)  # rows refused while applying
    # Leads: how many new leads each advisor was given so far, JSON {advisor id: n}, saved
    # with each batch so that a resumed job tells every advisor of all their rows, once.
    owners: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    error: Mapped[str] = mapped_column(String(500), default="")
    # The lease of the worker running the job: renewed with each committed batch. A running
    # job whose heartbeat is older than IMPORT_LEASE_SECONDS lost its worker and is claimed
    # again, resuming after done_rows; attempts counts the claims (IMPORT_MAX_ATTEMPTS).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    store: Mapped[Store] = relationship()
    failures: Mapped[list[ImportFailure]] = relationship(
        back_populates="job", order_by="ImportFailure.line", passive_deletes=True
    )

    @property
    def percent(self) -> int:
        """Return how far the apply is, 0 to 100."""
        if self.status == DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.done_rows * 100 // self.total_rows)


class ImportFailure(Base):
    """A row of an import job that was refused when applied, and why."""

    __tablename__ = "import_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int] = mapped_column()  # the row's line in the file (the header is line 1)
    reason: Mapped[str] = mapped_column(String(500))
    values: Mapped[str] = mapped_column(String(4000), default="{}")  # the row's cells, JSON

    job: Mapped[ImportJob] = relationship(back_populates="failures")
