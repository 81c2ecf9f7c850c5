"""Back-office views for staff accounts, owners and unlock requests."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from admin import listing
from admin.base import StaffModelView, StaffView
from admin.labels import ROLE_LABELS
from crm import leavers
from portal import access
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Brand, Region, Store, UnlockRequest, User
from portal.models.accounts import ADVISOR, AGENT, OWNER, STAFF_ROLES, TECHNICIAN
from portal.services import accounts, advisors, sessions, unlock


class StaffCreateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in STAFF_ROLES])
    store = SelectField(_l("Store"), coerce=int, validators=[Optional()])
    region = SelectField(_l("Region (regional managers)"), coerce=int, validators=[Optional()])
    brand = SelectField(_l("Brand (manufacturer officers)"), coerce=int, validators=[Optional()])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    department = StringField(_l("Department"), validators=[Optional(), Length(max=80)])


STORE_ROLES = (ADVISOR, AGENT, TECHNICIAN)  # the accounts a store's manager creates


class StaffAdmin(StaffModelView):
    """Staff accounts of the store; created with a one-time initial password."""

    store_column = "store_id"
    can_view_details = True
    column_list = (
        "name",
        "role",
        "store",
        "phone",
        "email",
        "is_active",
        "locked_at",
        "last_login_at",
    )
    column_searchable_list = ("name", "phone", "email")
    search_rules = {"name": listing.NAME, "phone": listing.PHONE, "email": listing.EMAIL}
    column_filters = ("role", "is_active")
    column_details_exclude_list = ("password_hash",)
    form_columns = ("name",)

    def get_query(self):
        return super().get_query().filter(User.role.in_(STAFF_ROLES))

    def get_count_query(self):
        return super().get_count_query().filter(User.role.in_(STAFF_ROLES))

    def create_form(self, obj=None):
        form = StaffCreateForm()
        stores = db.session.scalars(select(Store).order_by(Store.id)).all()
        if not access.sees_all_stores(current_user):
            stores = [s for s in stores if s.id == current_user.store_id]
            form.role.choices = [SelectChoice(r, ROLE_LABELS[r]) for r in STORE_ROLES]
            form.store.choices = [SelectChoice(s.id, s.name) for s in stores]
            del form.region  # the group's roles are the administrators' to create
            del form.brand
        else:
            form.store.choices = [SelectChoice(0, "-")] + [
                SelectChoice(s.id, s.name) for s in stores
            ]
            regions = db.session.scalars(select(Region).order_by(Region.name)).all()
            form.region.choices = [SelectChoice(0, "-")] + [
                SelectChoice(r.id, r.name) for r in regions
            ]
            brands = db.session.scalars(select(Brand).order_by(Brand.code)).all()
            form.brand.choices = [SelectChoice(0, "-")] + [
                SelectChoice(b.id, str(b)) for b in brands
            ]
        return form

    def create_model(self, form):
        actor = current_account()
        store = db.session.get(Store, form.store.data) if form.store.data else None
        chosen = getattr(form, "region", None)
        region = db.session.get(Region, chosen.data) if chosen and chosen.data else None
        marque = getattr(form, "brand", None)
        brand = db.session.get(Brand, marque.data) if marque and marque.data else None
        phone = accounts.normalize_phone(form.phone.data or "") if form.phone.data else None
        if form.phone.data and not phone:
            flash(_("Enter an 11-digit mainland mobile number."), "error")
            return False
        try:
            user, initial = accounts.create_staff(
                actor,
                name=form.name.data,
                role=form.role.data,
                store=store,
                phone=phone,
                email=accounts.normalize_email(form.email.data or ""),
                department=form.department.data or "",
                region=region,
                brand=brand,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return False
        db.session.commit()
        flash(
            _(
                "Account created. One-time initial password for %(name)s: %(pw)s "
                "(shown once; it must be changed at first login).",
                name=user.name,
                pw=initial,
            ),
            "success",
        )
        return user

    @action(
        "deactivate", _l("Deactivate"), _l("Deactivate the selected accounts? Their sessions end.")
    )
    def action_deactivate(self, ids):
        self._set_active(ids, False)

    @action("activate", _l("Activate"))
    def action_activate(self, ids):
        self._set_active(ids, True)

    def _set_active(self, ids, active: bool) -> None:
        actor = current_account()
        for user in self.get_query().filter(User.id.in_([int(i) for i in ids])):
            if user.id == actor.id:
                continue
            if not active and _holds_work(user):
                flash(
                    _(
                        "%(name)s still has customers or open work (leads, tasks, test drives, "
                        "vettings). Hand them over with Advisors → Leaves the store, which "
                        "deactivates the account with them.",
                        name=user.name,
                    ),
                    "error",
                )
                continue
            try:
                accounts.set_staff_active(actor, user, active)
            except DomainError as exc:
                flash(exc.message, "error")
                continue
            if not active:
                sessions.revoke_all(user)
        db.session.commit()
        flash(_("Saved."), "success")


def _holds_work(user: User) -> bool:
    """Whether an advisor still serves customers or holds open work, which must not be
    stranded on a closed account (the Advisors page's leave flow moves them first)."""
    if user.role != ADVISOR:
        return False
    if advisors.customer_counts([user.id]).get(user.id, 0):
        return True
    return any(leavers.open_work(user.id).values())


class OwnerAdmin(StaffModelView):
    """Owners whose preferred store is the staff member's store."""

    store_column = "store_id"
    can_create = False
    can_edit = False
    can_view_details = True
    column_list = ("name", "phone", "email", "store", "advisor", "created_at")
    column_details_list = (
        "name",
        "phone",
        "email",
        "store",
        "advisor",
        "vehicles",
        "created_at",
        "last_login_at",
    )
    column_searchable_list = ("name", "phone", "email")
    # Names by trigram, phones by prefix, emails exactly: each through an index.
    search_rules = {"name": listing.NAME, "phone": listing.PHONE, "email": listing.EMAIL}
    column_default_sort = ("id", True)

    def get_query(self):
        return super().get_query().filter(User.role == OWNER)

    def get_count_query(self):
        return super().get_count_query().filter(User.role == OWNER)


class UnlockView(StaffView):
    """Pending unlock requests with approve (and, for admins, break-glass) buttons."""

    @expose("/")
    def index(self):
        me = current_account()
        rows = [
            (r, unlock.eligible_colleagues(r), any(a.approver_id == me.id for a in r.approvals))
            for r in unlock.open_requests(me)
        ]
        return self.render("admin/unlocks.html", rows=rows, form=FlaskForm())

    @expose("/<int:request_id>/approve", methods=["POST"])
    def approve(self, request_id: int):
        return self._act(request_id, lambda me, r: unlock.approve(me, r))

    @expose("/<int:request_id>/break-glass", methods=["POST"])
    def break_glass(self, request_id: int):
        reason = request.form.get("reason", "")
        return self._act(request_id, lambda me, r: unlock.break_glass(me, r, reason))

    def _act(self, request_id: int, fn):
        me = current_account()
        req = db.session.get(UnlockRequest, request_id)
        if req is None or not access.in_store(me, req.store_id):
            return self.render("admin/unlocks.html", rows=[], form=FlaskForm()), 404
        try:
            applied = fn(me, req)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        if applied is not False:
            sessions.revoke_all(req.user)
        db.session.commit()
        flash(
            _("Account unlocked. The user must change the password at next login.")
            if applied is not False
            else _("Approval recorded. One more colleague must approve."),
            "success",
        )
        return redirect(url_for(".index"), code=303)
