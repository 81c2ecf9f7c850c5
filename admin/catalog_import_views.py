"""The back office's catalog imports: products and price lists (the group's editors) and stock
counts (a store's manager, or an admin for any store). Upload, see every row's check, apply."""

from __future__ import annotations

import csv
import io

from flask import abort, current_app, redirect, request, url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from openpyxl import Workbook
from wtforms import SelectField

from admin import catalog_imports as ci
from admin import import_jobs, imports
from admin.base import StaffView, staff_allowed
from admin.checked_uploads import CheckedUploads, store_choices
from admin.import_job_views import ImportJobPages
from admin.models import ImportJob
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Store, User
from shop import prices

UPLOADS = CheckedUploads("catalog_imports", salt="m4s-catalog-import-upload")
ROWS_SHOWN = 500  # the preview lists the rows with errors first, then at most this many
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def allowed_kinds() -> list[str]:
    """Return the imports the current user may run."""
    return [k for k in ci.KINDS if staff_allowed(ci.EDITORS[k])]


class CatalogImportForm(FlaskForm):
    upload = FileField(_l("CSV or Excel file"), validators=[FileRequired()])
    kind = SelectField(_l("What the file holds"))
    store = SelectField(_l("Store"), coerce=int)


def import_form(me: User, kind: str | None = None) -> CatalogImportForm:
    """Return the upload form with the kinds and stores this person may import."""
    form = CatalogImportForm(kind=kind)
    form.kind.choices = [(k, str(ci.KIND_LABELS[k])) for k in allowed_kinds()]
    form.store.choices = store_choices(me)
    return form


def _kind_or_403(kind: str) -> str:
    if kind not in ci.KINDS or kind not in allowed_kinds():
        abort(403)
    return kind


def _csv_download(table: list[list[str]], name: str):
    out = io.StringIO()
    csv.writer(out).writerows(table)
    data = ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8
    return current_app.response_class(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _xlsx_download(table: list[list[str]], name: str):
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return current_app.response_class(
        out.getvalue(),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class CatalogImportView(ImportJobPages, StaffView):
    """Products, stock counts and price lists from a file: upload, check, apply."""

    counts = {
        ci.PRODUCTS: {"created": _l("new products"), "merged": _l("products updated")},
        ci.STOCK: {"merged": _l("stock changed"), "skipped": _l("unchanged")},
        ci.PRICES: {
            "created": _l("prices scheduled"),
            "merged": _l("prices changed now"),
            "skipped": _l("unchanged"),
        },
    }

    def job_kinds(self) -> tuple[str, ...]:
        return tuple(allowed_kinds())

    def labels_of(self, job: ImportJob) -> dict[str, str]:
        labels = {"created": "", "merged": "", "skipped": "", "failed": ""}
        return labels | {k: str(v) for k, v in self.counts[job.kind].items()}

    def _page(self, form: CatalogImportForm, error: str = "", status: int = 200):
        kind = form.kind.data if form.kind.data in allowed_kinds() else allowed_kinds()[0]
        return self.render(
            "admin/catalog_imports/index.html",
            form=form,
            error=error,
            kind=kind,
            kinds=allowed_kinds(),
            labels=ci.KIND_LABELS,
            columns=ci.COLUMNS,
            scheduled=prices.pending() if ci.PRICES in allowed_kinds() else [],
            jobs=import_jobs.recent_jobs(current_account(), kind),
        ), status

    @expose("/")
    def index(self):
        kind = request.args.get("kind", "")
        if kind not in allowed_kinds():
            kind = allowed_kinds()[0]
        return self._page(import_form(current_account(), kind))

    @expose("/<kind>/template")
    def template(self, kind: str):
        """Download the empty CSV template of an import, with bilingual headers."""
        kind = _kind_or_403(kind)
        return _csv_download(ci.template_rows(kind), f"m4s-{kind}-template.csv")

    @expose("/<kind>/sample")
    def sample(self, kind: str):
        """Download a sample Excel file of an import, made from the catalog."""
        kind = _kind_or_403(kind)
        choices = store_choices(current_account())
        store = db.session.get(Store, choices[0][0]) if choices else None
        return _xlsx_download(ci.sample_rows(kind, store), f"m4s-{kind}-sample.xlsx")

    @expose("/preview", methods=["POST"])
    def preview(self):
        """Check every row of the uploaded file and list what applying it would do."""
        me = current_account()
        form = import_form(me)
        if not form.validate_on_submit():
            return self._page(form, status=422)
        kind, store = form.kind.data, db.session.get(Store, form.store.data)
        data = form.upload.data.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
        try:
            rows = ci.check_rows(kind, imports.read_table(data), store)
        except DomainError as exc:
            return self._page(form, error=exc.message, status=422)
        bad = [r for r in rows if r.errors]
        token = UPLOADS.keep(data, me, kind, store.id) if not bad else None
        shown = (bad + [r for r in rows if not r.errors])[:ROWS_SHOWN]
        return self.render(
            "admin/catalog_imports/preview.html",
            rows=shown,
            total=len(rows),
            bad=len(bad),
            kind=kind,
            label=ci.KIND_LABELS[kind],
            columns=ci.COLUMNS[kind],
            describe=lambda row: ci.describe(kind, row, store),
            store=store,
            token=token,
        ), (422 if bad else 200)

    @expose("/apply", methods=["POST"])
    def apply(self):
        """Queue a checked file for the worker, which applies it in one transaction (every
        row, or none), and show its progress."""
        me = current_account()
        kept = UPLOADS.take_posted(me, details=2, valid=lambda d: d[0] in allowed_kinds())
        if kept is None:
            return redirect(url_for(".index"), code=303)
        path, (kind, store_id) = kept
        return self.queue(me, path, store_id, kind=kind)
