"""The back office's exports page: pick a list and a format; small files come at once, large
ones are made by the worker behind a progress bar."""

from __future__ import annotations

from flask import abort, flash, redirect, send_file, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField
from wtforms.validators import InputRequired

from admin import export_sources, exports
from admin.base import StaffView
from admin.models import DONE, FAILED, ExportJob
from portal.auth import current_account, is_htmx
from portal.extensions import db

RECENT_JOBS = 10


class ExportForm(FlaskForm):
    kind = SelectField(_l("List to export"), validators=[InputRequired()])
    fmt = SelectField(_l("File format"), validators=[InputRequired()])


def export_form() -> ExportForm:
    """Return the export form with the lists and formats to choose from."""
    form = ExportForm()
    form.kind.choices = [(s.name, str(s.title)) for s in export_sources.SOURCES.values()]
    form.fmt.choices = [(k, str(v[0])) for k, v in exports.FORMATS.items()]
    return form


def _own_job(export_id: int) -> ExportJob:
    job = db.session.get(ExportJob, export_id)
    if job is None or job.user_id != current_account().id:
        abort(404)  # someone else's export does not exist for this user
    return job


class ExportView(StaffView):
    """Exports of the customers, leads, bookings and shop orders lists."""

    def _page(self, form: ExportForm, status: int = 200):
        jobs = db.session.scalars(
            select(ExportJob)
            .where(ExportJob.user_id == current_account().id)
            .order_by(ExportJob.id.desc())
            .limit(RECENT_JOBS)
        ).all()
        titles = {j.kind: exports.title_of(j.kind) for j in jobs}
        return self.render("admin/exports/index.html", form=form, jobs=jobs, titles=titles), status

    @expose("/")
    def index(self):
        return self._page(export_form())

    @expose("/", methods=["POST"])
    def start(self):
        """Send a small export at once; queue a large one and show its progress."""
        form = export_form()
        if not form.validate_on_submit():
            return self._page(form, status=422)
        me = current_account()
        ready = exports.small_export(me, form.kind.data, form.fmt.data)
        if ready is not None:
            return exports.download(*ready)
        job = exports.queue_export(me, form.kind.data, form.fmt.data, str(get_locale() or "zh_CN"))
        db.session.commit()
        flash(_("This list is long: the file is being prepared. You can leave this page."), "info")
        return redirect(url_for(".job", export_id=job.id), code=303)

    @expose("/jobs/<int:export_id>")
    def job(self, export_id: int):
        """Show an export's progress (the fragment alone for htmx polling), then its link."""
        job = _own_job(export_id)
        context = {
            "job": job,
            "title": exports.title_of(job.kind),
            "link": exports.download_token(job) if job.status == DONE and job.file_name else None,
            "finished": job.status in (DONE, FAILED),
        }
        if is_htmx():
            return self.render("admin/exports/_job.html", **context)
        return self.render("admin/exports/job.html", **context)

    @expose("/file/<token>")
    def fetch(self, token: str):
        """Send an export's file to the user who asked for it, while the link is valid."""
        try:
            path, job = exports.file_for(token, current_account())
        except exports.LinkRefused as refused:
            if not refused.expired:
                abort(404)
            message = _("This download link has expired. Open the export again for a new link.")
            return self.render("admin/exports/expired.html", message=message), 410
        name = exports.file_name(job.kind, job.fmt)
        response = send_file(
            path, mimetype=exports.FORMATS[job.fmt][1], as_attachment=True, download_name=name
        )
        response.headers["Cache-Control"] = "no-store"
        return response
