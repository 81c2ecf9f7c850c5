"""The pages an import job has in the import views (customers, platform leads, catalog): "apply"
queues the job; its page shows a progress bar that updates itself, then the counts and the
list of rows refused while applying."""

from __future__ import annotations

import io
from pathlib import Path

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _

from admin import exports, import_jobs
from admin.models import DONE, FAILED, ImportJob
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError
from portal.extensions import db
from portal.models import User


class ImportJobPages:
    """Mixed into an import view: its job's queueing, progress page and failure list."""

    job_kind: str  # admin.models.CUSTOMERS_IMPORT or LEADS_IMPORT (catalog: job_kinds())
    labels: dict[str, str]  # created / merged / skipped, in this import's words

    def job_kinds(self) -> tuple[str, ...]:
        """Return the kinds of import job this view shows to the current person."""
        return (self.job_kind,)

    def labels_of(self, job: ImportJob) -> dict[str, str]:
        """Return the job's counts' labels (an empty one: the count is not shown)."""
        return {k: str(v) for k, v in self.labels.items()}

    def queue(self, me: User, path: Path, store_id: int, platform: str = "", kind: str = ""):
        """Queue the kept file's apply step (once, however many clicks) and show its page."""
        try:
            access.require_store(me, store_id, _("Store not found."))
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        locale = str(get_locale() or "zh_CN")
        kind = kind or self.job_kind
        job, queued = import_jobs.queue_import(me, kind, path, store_id, platform, locale)
        db.session.commit()
        if queued:
            flash(_("The file is being imported. You can leave this page."), "info")
        return redirect(url_for(".job", import_id=job.id), code=303)

    def _job_or_404(self, import_id: int) -> ImportJob:
        job = import_jobs.visible_job(current_account(), import_id, self.job_kinds())
        if job is None:
            abort(404)  # another store's import does not exist for this person
        return job

    @expose("/jobs/<int:import_id>")
    def job(self, import_id: int):
        """Show an import's progress (the fragment alone for htmx polling), then its result."""
        job = self._job_or_404(import_id)
        context = {
            "job": job,
            "labels": self.labels_of(job),
            "finished": job.status in (DONE, FAILED),
        }
        if is_htmx():
            return self.render("admin/import_jobs/_job.html", **context)
        return self.render("admin/import_jobs/job.html", **context)

    @expose("/jobs/<int:import_id>/failures")
    def failures(self, import_id: int):
        """Download the rows of an import that were refused, with the reasons, as CSV."""
        job = self._job_or_404(import_id)
        header, rows = import_jobs.failure_rows(job)
        out = io.BytesIO()
        exports.write_file(out, "csv", str(self.name), header, rows)
        name = f"import-{job.id}-failures.csv"
        return exports.download(out.getvalue(), exports.FORMATS["csv"][1], name)
