"""Staff bases: every back-office view checks role and store here."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm as AdminBaseForm
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import IntegerField
from wtforms.fields.core import UnboundField
from wtforms.validators import NumberRange

from admin import display, exports, list_export, listing
from admin.labels import COLUMN_LABELS, column_choices_of
from portal import access
from portal.auth import current_account
from portal.extensions import db
from portal.inputs import MAX_ID, int_arg
from portal.models.accounts import ADMIN, MANAGER, STAFF_ROLES
from portal.services import audit

MAX_PAGE = 100_000  # list pages: past this, OFFSET would only scan for nothing


def staff_allowed(roles: tuple[str, ...]) -> bool:
    """Return whether the current user is active staff with one of these roles."""
    return (
        current_user.is_authenticated
        and current_user.role in STAFF_ROLES
        and current_user.role in roles
    )


def deny():
    """Send anonymous users to the login page and refuse everyone else."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


def refuse_broken_return_url() -> None:
    """Answer 400 when a back-office request's return address (Flask-Admin's ``url``) holds a
    control character: Flask-Admin would put it in the Location header and fail with a 500."""
    if not request.path.startswith("/admin"):
        return
    if any(ch < " " or ch == "\x7f" for value in request.values.getlist("url") for ch in value):
        abort(400)


class _RoleMixin:
    roles: tuple[str, ...] = ()  # set from the table in admin/__init__.py: nobody until then

    def is_accessible(self) -> bool:
        return staff_allowed(self.roles)

    def inaccessible_callback(self, name, **kwargs):
        return deny()


class StaffView(_RoleMixin, BaseView):
    """A custom back-office page for staff of the listed roles."""

    own_heading = True  # our templates carry their own <h1>; skip Flask-Admin's title


class ModelForm(AdminBaseForm, FlaskForm):
    """Flask-Admin's form base (it keeps the edited row, so a unique column's own value is not
    "Already exists") with Flask-WTF's CSRF, like every other form."""


class StaffModelView(_RoleMixin, ModelView):
    """A declarative model view, scoped to the staff member's store (admins see all)."""

    form_base_class = ModelForm
    can_delete = False
    page_size = 50
    can_set_page_size = True
    store_column: str | None = None  # the model attribute that holds the row's store id
    # Staff read dates and times in their store's zone and language, everywhere the view
    # shows them (list, details, export) and types them (filters).
    column_type_formatters = display.LIST_FORMATTERS
    column_type_formatters_detail = display.DETAIL_FORMATTERS
    column_type_formatters_export = display.EXPORT_FORMATTERS
    filter_converter = display.StoreTimeFilterConverter()
    # No exact COUNT(*) per page view: the count is bounded (admin/listing.py) and a longer
    # list pages forward with the planner's estimate.
    simple_list_pager = True
    list_template = "admin/model/m4s_list.html"
    # How the search box matches each searchable column (admin/listing.py): PREFIX, UPPER_PREFIX
    # (phone, plate, VIN), NAME (trigram index); columns not named here: TEXT (small tables).
    search_rules: dict[str, str] = {}

    def __init__(self, model, *args, **kwargs):
        # Coded columns (status, role, kind) show translated labels in cells and filters;
        # a view's own column_choices win.
        self.column_choices = {**column_choices_of(model), **(self.column_choices or {})}
        self.column_labels = {**COLUMN_LABELS, **(self.column_labels or {})}
        # A customer's phone (a row with an advisor) reads through the access rule in the
        # list, its details and its export: masked for a colleague's customer.
        if all(hasattr(model, a) for a in ("phone", "store_id", "advisor_id")):
            self.column_formatters = {
                "phone": seen_phone,
                "email": seen_email,
                **(self.column_formatters or {}),
            }
        super().__init__(model, *args, **kwargs)

    def scope(self, query):
        if self.store_column is None:
            return query
        return access.store_scope(query, getattr(self.model, self.store_column), current_user)

    def get_query(self):
        query = self.scope(super().get_query())
        searching = g.get("m4s_search")
        return query if searching is None else query.filter(*searching)

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id):
        # Objects outside the staff member's store behave as if they did not exist, and so
        # does an id no row can have.
        row_id = int_arg(id, minimum=1)
        if row_id is None:
            return None
        return self.get_query().filter(self.model.id == row_id).one_or_none()

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        # A page past the end is empty; a page number too large for OFFSET is the same page.
        page = max(0, min(page or 0, MAX_PAGE))
        g.m4s_search = self.search_conditions(search) if search else None
        try:
            _count, query = super().get_list(
                page, sort_column, sort_desc, None, filters, execute=False, page_size=page_size
            )
        finally:
            g.m4s_search = None
        if not execute:  # the export walks the query itself
            return None, query
        rows = listing.page_rows(
            self.model, query, listing.shown_relations(self.model, self.column_list)
        )
        every = g.m4s_every = listing.rows_of(self.model, query)
        count = listing.bounded_count(every)
        g.m4s_estimate = None if count is not None else listing.planner_estimate(every)
        return count, rows

    def search_conditions(self, search: str) -> list:
        """Return the conditions of the search box's text (every term must match a column)."""
        rules = {name: self.search_rules.get(name, listing.TEXT)
                 for name in self.column_searchable_list or ()}  # fmt: skip
        conditions, too_short = listing.search_clause(self.model, rules, search)
        if too_short:
            flash(
                _(
                    "Search needs at least %(n)d characters of a name, phone number, plate "
                    "or VIN: %(terms)s",
                    n=listing.MIN_NAME,
                    terms=" ".join(too_short),
                ),
                "warning",
            )
        return conditions

    def every_row_ids(self):
        """Return the ids of every row the last list's search and filters keep (a select)."""
        return g.m4s_every

    @expose("/export-list/", methods=("POST",))
    def list_export(self):
        """Export the rows this list shows (its search, filters and order) in the chosen format:
        at once when small, else by the worker behind a progress bar."""
        fmt = request.form.get("fmt", "")
        back = url_for(".index_view") + (
            "?" + request.query_string.decode() if request.args else ""
        )
        if fmt not in exports.FORMATS:
            flash(_("Choose a file format for the export."), "error")
            return redirect(back, code=303)
        args = request.query_string.decode()
        if len(args) > list_export.MAX_ARGS:
            flash(
                _("This list has too many filters to export. Remove some and try again."), "error"
            )
            return redirect(back, code=303)
        ready = exports.small_list_export(self, fmt, request.args)
        if ready is not None:
            return exports.download(*ready)
        me = current_account()
        kind = list_export.kind_of(self)
        job = exports.queue_export(me, kind, fmt, str(get_locale() or "zh_CN"), args)
        db.session.commit()
        flash(_("This list is long: the file is being prepared. You can leave this page."), "info")
        return redirect(url_for("exports.job", export_id=job.id), code=303)

    def list_estimate(self) -> str:
        """Return how many rows a list too long to count has, for the pager."""
        return listing.estimate_label(g.get("m4s_estimate"))

    def scaffold_form(self):
        """Bound every integer field of a generated form to the column's 32-bit range."""
        form_class = super().scaffold_form()
        for name in dir(form_class):
            field = getattr(form_class, name)
            if isinstance(field, UnboundField) and issubclass(field.field_class, IntegerField):
                validators = list(field.kwargs.get("validators") or [])
                validators.append(NumberRange(min=-MAX_ID, max=MAX_ID))
                field.kwargs["validators"] = validators
        return form_class

    def handle_view_exception(self, exc: Exception) -> bool:
        # Flask-Admin would show the database's own message (SQL and values); say it plainly.
        if isinstance(exc, IntegrityError):
            flash(_("This clashes with an existing record. Nothing was changed."), "error")
            return True
        return super().handle_view_exception(exc)

    def on_model_change(self, form, model, is_created):
        audit.record(
            ("admin_create_" if is_created else "admin_update_") + self.model.__tablename__,
            actor=current_account(),
            target=model,
        )


def seen_phone(view, context, model, name) -> str:
    """Column formatter: a customer's phone as the signed-in staff member may see it."""
    return access.customer_phone(current_user, model) or access.mask_phone(model.phone)


def seen_email(view, context, model, name) -> str:
    """Column formatter: a customer's email, hidden where their phone is masked."""
    whole = access.customer_phone(current_user, model) == (model.phone or "")
    return (getattr(model, "email", "") or "") if whole else ""


class GroupDataView(StaffModelView):
    """Group-wide data (catalog, discounts, maintenance plans): every store's managers read
    it, only the group's editors change it. Store-level settings (stock) live elsewhere."""

    roles = (MANAGER, ADMIN)
    editors: tuple[str, ...] = (ADMIN,)  # a group role joins here when there is one

    @property
    def can_create(self) -> bool:
        return staff_allowed(self.editors)

    @property
    def can_edit(self) -> bool:
        return staff_allowed(self.editors)


class StaffHomeView(_RoleMixin, AdminIndexView):
    """The back-office home: the staff member's work at a glance."""

    own_heading = True

    @expose("/")
    def index(self):
        from portal.models import UnlockRequest, User

        user = current_user
        if not access.sees_all_stores(user) and access.compares_stores(user):
            return redirect(url_for("group_dashboard.index"))  # no store: only the figures
        if access.is_technician(user):
            return redirect(url_for("my_jobs.index"))  # only their own jobs
        owners = select(User.id).where(User.role == "owner")
        unlocks = select(func.count(UnlockRequest.id)).where(UnlockRequest.status == "open")
        owners = access.store_scope(owners, User.store_id, user)
        unlocks = access.store_scope(unlocks, UnlockRequest.store_id, user)
        stats = {
            "owners": listing.count_label(owners),  # no exact COUNT(*) of a million owners
            "unlocks": db.session.scalar(unlocks),
        }
        return self.render("admin/home.html", stats=stats, panels=home_panels())


# Later packages add dashboard panels here: callables returning (title, template, context).
HOME_PANELS: list = []


def home_panels() -> list:
    """Return the dashboard panels visible to the current staff member."""
    panels = (panel() for panel in HOME_PANELS)  # each panel runs its queries once
    return [p for p in panels if p is not None]
