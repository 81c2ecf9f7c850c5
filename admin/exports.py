"""Exports of the back office's lists: CSV (UTF-8 with BOM, or GBK) and Excel.

A small export is written in the request. A larger one (more than EXPORT_SYNC_ROWS rows) is
queued: the worker writes the file, a keyset batch at a time, and records its progress; the
staff member watches a progress bar and downloads the file through a signed link that only
they may use and that expires (EXPORT_LINK_SECONDS). Files are deleted after EXPORT_KEEP_SECONDS.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app, make_response, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from openpyxl import Workbook
from sqlalchemy import select, update

from admin import export_sources, list_export
from admin.job_claims import claim_oldest
from admin.models import DONE, FAILED, QUEUED, ExportJob
from portal import access
from portal.extensions import db
from portal.models import User
from portal.timeutil import now

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# format -> (label, MIME type, file extension)
FORMATS = {
    "csv": (_l("CSV, UTF-8 (Excel 2016 and later, WPS)"), "text/csv; charset=utf-8", "csv"),
    "gbk": (_l("CSV, GBK (older Excel in Chinese Windows)"), "text/csv; charset=gbk", "csv"),
    "xlsx": (_l("Excel workbook (.xlsx)"), XLSX, "xlsx"),
}
# A cell starting with one of these is a formula to Excel: written as text instead.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LINK_SALT = "m4s-export-link"


def safe_cell(value):
    """Return a cell value that a spreadsheet shows as written (never runs it as a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_file(
    out, fmt: str, title: str, header: list[str], rows: Iterable[list],
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Write the rows to a binary stream in the format; return how many rows were written."""
    counted = _counting(rows, progress)
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title[:31] or "Sheet1")
        sheet.append(header)
        for row in counted:
            sheet.append([safe_cell(v) for v in row])
        book.save(out)
    else:
        # GBK cannot write every character (rare names, emoji): those become "?", not an error.
        encoding = "gbk" if fmt == "gbk" else "utf-8-sig"  # the BOM tells Excel it is UTF-8
        text = io.TextIOWrapper(out, encoding=encoding, errors="replace", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for row in counted:
            writer.writerow([safe_cell(v) for v in row])
        text.flush()
        text.detach()
    return counted.n


class _counting:
    """Iterate over rows, counting them, and report progress every batch."""

    def __init__(self, rows: Iterable[list], progress: Callable[[int], None] | None) -> None:
        self.rows, self.progress, self.n = rows, progress, 0

    def __iter__(self) -> Iterator[list]:
        for row in self.rows:
            self.n += 1
            if self.progress is not None and self.n % export_sources.BATCH == 0:
                self.progress(self.n)
            yield row


def file_name(kind: str, fmt: str) -> str:
    """Return the name the downloaded file gets: the list and today's date."""
    kind = kind.removeprefix(list_export.KIND)
    return f"{kind}-{now().strftime('%Y%m%d')}.{FORMATS[fmt][2]}"


def title_of(kind: str) -> str:
    """Return the title of the list an export kind names (the kind itself if it is gone)."""
    view = list_export.view_of(kind)
    if view is not None:
        return str(view.name)
    source = export_sources.SOURCES.get(kind)
    return str(source.title) if source is not None else kind


def download(content: bytes, mime: str, name: str):
    """Return a response that downloads the content as a file, never cached."""
    response = make_response(content)
    response.headers["Content-Type"] = mime
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def small_export(viewer: User, kind: str, fmt: str) -> tuple[bytes, str, str] | None:
    """Return (content, MIME type, file name) of an export small enough for a request, or None
    when it has more than EXPORT_SYNC_ROWS rows (then it goes to the worker)."""
    source = export_sources.SOURCES[kind]
    limit = current_app.config["EXPORT_SYNC_ROWS"]
    if export_sources.count_rows(source, viewer, limit=limit) > limit:
        return None
    out = io.BytesIO()
    header = export_sources.header_row(source)
    write_file(out, fmt, str(source.title), header, export_sources.rows(source, viewer))
    return out.getvalue(), FORMATS[fmt][1], file_name(kind, fmt)


def small_list_export(view, fmt: str, args) -> tuple[bytes, str, str] | None:
    """Return (content, MIME type, file name) of a list as the signed-in staff member sees it
    (search, filters and order of the query string args), or None when it has more than
    EXPORT_SYNC_ROWS rows (then it goes to the worker)."""
    limit = current_app.config["EXPORT_SYNC_ROWS"]
    ids = list_export.ordered_ids(view, args, limit=limit + 1)
    if len(ids) > limit:
        return None
    out = io.BytesIO()
    header = list_export.header(view)
    write_file(out, fmt, str(view.name), header, list_export.rows(view, ids))
    return out.getvalue(), FORMATS[fmt][1], file_name(list_export.kind_of(view), fmt)


def queue_export(viewer: User, kind: str, fmt: str, locale: str, list_args: str = "") -> ExportJob:
    """Queue an export for the worker; the caller commits."""
    job = ExportJob(
        user_id=viewer.id, kind=kind, fmt=fmt, locale=locale[:10], status=QUEUED,
        list_args=list_args,
    )  # fmt: skip
    db.session.add(job)
    db.session.flush()
    return job


def export_dir() -> Path:
    """Return the folder of the worker's export files (made if missing)."""
    folder = Path(current_app.config["EXPORT_DIR"] or Path(current_app.instance_path) / "exports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- the worker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who asked for an export, as the access rule reads them: a plain snapshot that outlives
    the worker's commits and the batches it releases from the session."""

    id: int
    role: str
    store_id: int | None
    is_active: bool
    # Flask-Login reads these when the worker signs in as the viewer (admin/list_export.py).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.role, user.store_id, bool(user.is_active))


def _progress(job_id: int) -> Callable[[int], None]:
    def report(n: int) -> None:
        db.session.execute(update(ExportJob).where(ExportJob.id == job_id).values(done_rows=n))
        db.session.commit()

    return report


@contextmanager
def _content(job: ExportJob, viewer: Viewer):
    """Yield (title, header, total rows, rows) of a job's export, read as the viewer."""
    view = list_export.view_of(job.kind)
    if view is not None:
        if not view.roles or viewer.role not in view.roles:
            raise PermissionError("the export's owner may no longer open this list")
        with list_export.acting_as(view, viewer, job.list_args), force_locale(job.locale):
            ids = list_export.ordered_ids(view, request.args)
            rows = list_export.rows(view, ids, release=True)
            yield str(view.name), list_export.header(view), len(ids), rows
        return
    source = export_sources.SOURCES.get(job.kind)
    if source is None:
        raise PermissionError("the export's owner may no longer export this list")
    with force_locale(job.locale):
        total = export_sources.count_rows(source, viewer)
        rows = export_sources.rows(source, viewer, release=True)
        yield str(source.title), export_sources.header_row(source), total, rows


def make_file(job_id: int) -> None:
    """Write a claimed export's file, recording progress; a failure is recorded, not raised."""
    job = db.session.get(ExportJob, job_id)
    viewer, fmt = Viewer.of(job.user), job.fmt
    folder = export_dir()
    name = f"{job_id}-{secrets.token_hex(8)}.{FORMATS[fmt][2]}"
    partial = folder / (name + ".part")
    try:
        if not access.is_active_staff(viewer):
            raise PermissionError("the export's owner may no longer export this list")
        with _content(job, viewer) as (title, header, total, rows):
            job.total_rows = total
            db.session.commit()
            with partial.open("wb") as out:
                n = write_file(out, fmt, title, header, rows, _progress(job_id))
        os.replace(partial, folder / name)
        values = {"status": DONE, "done_rows": n, "file_name": name, "finished_at": now()}
    except Exception as exc:  # recorded on the job, shown to its owner
        db.session.rollback()
        partial.unlink(missing_ok=True)
        current_app.logger.exception("export %s failed", job_id)
        values = {"status": FAILED, "error": f"{type(exc).__name__}: {exc}"[:500]}
        values["finished_at"] = now()
    db.session.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))
    db.session.commit()


def purge_old_files() -> int:
    """Delete export files older than EXPORT_KEEP_SECONDS; return how many (checked import
    uploads have their own retention, admin/upload_retention.py)."""
    cutoff = now() - timedelta(seconds=current_app.config["EXPORT_KEEP_SECONDS"])
    old = db.session.scalars(
        select(ExportJob).where(
            ExportJob.status == DONE,
            ExportJob.file_name.is_not(None),
            ExportJob.finished_at < cutoff,
        )
    ).all()
    for job in old:
        (export_dir() / job.file_name).unlink(missing_ok=True)
        job.file_name = None
    db.session.commit()
    return len(old)


def run_exports(limit: int = 3) -> dict:
    """The worker's job: make the queued exports (a few per run), then purge old files."""
    made = 0
    while made < limit:
        job_id = claim_oldest(ExportJob)
        if job_id is None:
            break
        make_file(job_id)
        made += 1
    return {"made": made, "purged": purge_old_files()}


# -- the download link ------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=LINK_SALT)


def download_token(job: ExportJob) -> str:
    """Return a signed token for the job's file, for its owner, issued now."""
    return _serializer().dumps([job.id, job.user_id, int(now().timestamp())])


class LinkRefused(Exception):
    """A download link that is not valid (404) or has expired (410)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def file_for(token: str, viewer: User) -> tuple[Path, ExportJob]:
    """Return the file and job a download token names, if valid, unexpired and the viewer's."""
    try:
        job_id, user_id, issued = _serializer().loads(token)
        job_id, user_id, issued = int(job_id), int(user_id), int(issued)
    except (BadSignature, TypeError, ValueError):
        raise LinkRefused(expired=False) from None
    if viewer is None or user_id != viewer.id:
        raise LinkRefused(expired=False)  # someone else's link: as if there were none
    if now().timestamp() - issued > current_app.config["EXPORT_LINK_SECONDS"]:
        raise LinkRefused(expired=True)
    job = db.session.get(ExportJob, job_id)
    if job is None or job.user_id != viewer.id or job.status != DONE or not job.file_name:
        raise LinkRefused(expired=job is not None and job.status == DONE)
    path = export_dir() / job.file_name
    if not path.is_file():
        raise LinkRefused(expired=True)
    return path, job
