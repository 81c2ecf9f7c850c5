"""The back office's platform lead import: a manager uploads an Autohome, Dongchedi or Yiche
export, sees every row's check (a dry run that changes nothing), then has the worker import the
whole file (admin/import_jobs.py)."""

from __future__ import annotations

from flask import current_app, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from admin import import_jobs, imports
from admin.base import StaffView
from admin.checked_uploads import CheckedUploads, store_choices
from admin.import_job_views import ImportJobPages
from admin.models import LEADS_IMPORT
from crm import lead_import
from crm.lead_import_apply import JOINS, NEW, SKIPPED
from crm.lead_import_models import PLATFORM_LABELS
from crm.models import PLATFORMS
from portal.auth import current_account
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.models import Store, User

UPLOADS = CheckedUploads("lead_imports", salt="m4s-lead-import-upload")
ROWS_SHOWN = 500  # the preview lists the errors first, then the warnings, then the rest
AUTO = ""


class LeadImportForm(FlaskForm):
    upload = FileField(_l("CSV or Excel file"), validators=[FileRequired()])
    platform = SelectField(_l("Platform"))
    store = SelectField(_l("Store"), coerce=int)


def import_form(me: User) -> LeadImportForm:
    """Return the upload form; only admins choose the store (a manager imports into theirs)."""
    form = LeadImportForm()
    form.platform.choices = [(AUTO, _("Tell from the columns"))] + [
        (p, str(PLATFORM_LABELS[p])) for p in PLATFORMS
    ]
    form.store.choices = store_choices(me)
    return form


def _platform(chosen: str, table: list[list[str]]) -> str:
    """Return the chosen platform, or the one the header shows; ValidationError if unclear."""
    if chosen:
        return chosen
    found = lead_import.detect_platform(table[0]) if table else None
    if found is None:
        raise ValidationError(
            _("The platform cannot be told from the columns: choose it."), field="platform"
        )
    return found


class LeadImportView(ImportJobPages, StaffView):
    """Leads from Autohome, Dongchedi and Yiche exports: upload, check, import."""

    job_kind = LEADS_IMPORT
    labels = {
        "created": _l("new leads"),
        "merged": _l("added to open leads"),
        "skipped": _l("already imported (skipped)"),
    }

    def _page(self, form: LeadImportForm, error: str = "", status: int = 200):
        return self.render(
            "admin/lead_imports/index.html",
            form=form,
            error=error,
            columns=lead_import.PLATFORM_COLUMNS,
            labels=PLATFORM_LABELS,
            jobs=import_jobs.recent_jobs(current_account(), self.job_kind),
        ), status

    @expose("/")
    def index(self):
        return self._page(import_form(current_account()))

    @expose("/preview", methods=["POST"])
    def preview(self):
        """Check every row of the uploaded export and list what importing it would do."""
        me = current_account()
        form = import_form(me)
        if not form.validate_on_submit():
            return self._page(form, status=422)
        store = db.session.get(Store, form.store.data)
        data = form.upload.data.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
        try:
            table = imports.read_table(data)
            platform = _platform(form.platform.data, table)
            rows = lead_import.check_rows(table, store, platform)
        except DomainError as exc:
            return self._page(form, error=exc.message, status=422)
        bad = [r for r in rows if r.errors]
        token = None
        if not bad:  # keep the checked file for the import step, named by a signed token
            token = UPLOADS.keep(data, me, store.id, platform)
        warned = [r for r in rows if r.warnings and not r.errors]
        rest = [r for r in rows if not r.warnings and not r.errors]
        return self.render(
            "admin/lead_imports/preview.html",
            rows=(bad + warned + rest)[:ROWS_SHOWN],
            total=len(rows),
            bad=len(bad),
            counts={
                k: sum(1 for r in rows if r.outcome == k and not r.errors)
                for k in (NEW, JOINS, SKIPPED)
            },
            warned=len(warned),
            platform=PLATFORM_LABELS[platform],
            detected=not form.platform.data,
            store=store,
            token=token,
        ), (422 if bad else 200)

    @expose("/apply", methods=["POST"])
    def apply(self):
        """Queue a checked export's import for the worker and show its progress."""
        me = current_account()
        kept = UPLOADS.take_posted(me, details=2)
        if kept is None:
            return redirect(url_for(".index"), code=303)
        path, (store_id, platform) = kept
        return self.queue(me, path, store_id, platform)
