"""Staff bases: every back-office view checks role and store here."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from portal.auth import current_account
from portal.extensions import db
from portal.models.accounts import ADMIN, STAFF_ROLES
from portal.services import audit


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


class _RoleMixin:
    roles: tuple[str, ...] = STAFF_ROLES

    def is_accessible(self) -> bool:
        return staff_allowed(self.roles)

    def inaccessible_callback(self, name, **kwargs):
        return deny()


class StaffView(_RoleMixin, BaseView):
    """A custom back-office page for staff of the listed roles."""

    own_heading = True  # our templates carry their own <h1>; skip Flask-Admin's title


class StaffModelView(_RoleMixin, ModelView):
    """A declarative model view, scoped to the staff member's store (admins see all)."""

    form_base_class = FlaskForm  # CSRF from Flask-WTF, like every other form
    can_delete = False
    page_size = 50
    can_set_page_size = True
    store_column: str | None = None  # the model attribute that holds the row's store id

    def scope(self, query):
        if current_user.role == ADMIN or self.store_column is None:
            return query
        return query.filter(getattr(self.model, self.store_column) == current_user.store_id)

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id):
        # Objects outside the staff member's store behave as if they did not exist.
        return self.get_query().filter(self.model.id == int(id)).one_or_none()

    def on_model_change(self, form, model, is_created):
        audit.record(
            ("admin_create_" if is_created else "admin_update_") + self.model.__tablename__,
            actor=current_account(),
            target=model,
        )


class StaffHomeView(_RoleMixin, AdminIndexView):
    """The back-office home: the staff member's work at a glance."""

    own_heading = True

    @expose("/")
    def index(self):
        from portal.models import UnlockRequest, User

        user = current_user
        owners = select(func.count(User.id)).where(User.role == "owner")
        unlocks = select(func.count(UnlockRequest.id)).where(UnlockRequest.status == "open")
        if user.role != ADMIN:
            owners = owners.where(User.store_id == user.store_id)
            unlocks = unlocks.where(UnlockRequest.store_id == user.store_id)
        stats = {
            "owners": db.session.scalar(owners),
            "unlocks": db.session.scalar(unlocks),
        }
        return self.render("admin/home.html", stats=stats, panels=home_panels())


# Later packages add dashboard panels here: callables returning (title, template, context).
HOME_PANELS: list = []


def home_panels() -> list:
    """Return the dashboard panels visible to the current staff member."""
    panels = (panel() for panel in HOME_PANELS)  # each panel runs its queries once
    return [p for p in panels if p is not None]
