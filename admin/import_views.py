"""The back office's import page: upload a previous DMS's customers and vehicles, see every
row's check (a dry run that changes nothing), then have the worker apply
the whole file (admin/import_jobs.py)."""

from __future__ import annotations

from flask import current_app, redirect, url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from admin import import_jobs, imports
from admin.base import StaffView
from admin.checked_uploads import CheckedUploads, store_choices
from admin.import_job_views import ImportJobPages
from admin.models import CUSTOMERS_IMPORT
from portal.auth import current_account
from portal.errors import DomainError
from portal.models import User

UPLOADS = CheckedUploads("imports", salt="m4s-import-upload")
ROWS_SHOWN = 500  # the preview lists the errors first, then at most this many rows


class ImportForm(FlaskForm):
    upload = FileField(_l("CSV or Excel file"), validators=[FileRequired()])
    store = SelectField(_l("New customers' store"), coerce=int)


def import_form(me: User) -> ImportForm:
    """Return the upload form; only admins choose the store (a manager imports into theirs)."""
    form = ImportForm()
    form.store.choices = store_choices(me)
    return form


class ImportView(ImportJobPages, StaffView):
    """Customers and vehicles from a previous DMS: upload, check, apply."""

    job_kind = CUSTOMERS_IMPORT
    labels = {
        "created": _l("new customers"),
        "merged": _l("added to known customers"),
        "skipped": _l("nothing new (skipped)"),
    }

    def _page(self, form: ImportForm, error: str = "", status: int = 200):
        return self.render(
            "admin/imports/index.html",
            form=form,
            error=error,
            columns=imports.COLUMNS,
            jobs=import_jobs.recent_jobs(current_account(), self.job_kind),
        ), status

    @expose("/")
    def index(self):
        return self._page(import_form(current_account()))

    @expose("/preview", methods=["POST"])
    def preview(self):
        """Check every row of the uploaded file and list what applying it would do."""
        me = current_account()
        form = import_form(me)
        if not form.validate_on_submit():
            return self._page(form, status=422)
        data = form.upload.data.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
        try:
            table = imports.read_table(data)
            rows = imports.check_rows(table)
        except DomainError as exc:
            return self._page(form, error=exc.message, status=422)
        bad = [r for r in rows if r.errors]
        token = None
        if not bad:  # keep the checked file for the apply step, named by a signed token
            token = UPLOADS.keep(data, me, form.store.data)
        shown = (bad + [r for r in rows if not r.errors])[:ROWS_SHOWN]
        return self.render(
            "admin/imports/preview.html",
            rows=shown,
            total=len(rows),
            bad=len(bad),
            new_vehicles=sum(1 for r in rows if r.adds_vehicle),
            known=sum(1 for r in rows if r.customer_id),
            token=token,
        ), (422 if bad else 200)

    @expose("/apply", methods=["POST"])
    def apply(self):
        """Queue a checked file's import for the worker and show its progress."""
        me = current_account()
        kept = UPLOADS.take_posted(me, details=1)
        if kept is None:
            return redirect(url_for(".index"), code=303)
        path, (store_id,) = kept
        return self.queue(me, path, store_id)
