"""Back office: the advisor directory, performance pages, reassignment, customer registration
and store notices."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import (
    EmailField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from admin import list_pages
from admin.base import HOME_PANELS, StaffView
from admin.consent import StaffConsentFields, record_staff_consent
from admin.loading import preload
from crm import leavers
from portal.auth import current_account
from portal.errors import DomainError, NotFound, ValidationError
from portal.extensions import db
from portal.forms import field_error
from portal.i18n import in_language_of
from portal.inputs import MAX_ID
from portal.mail import send_mail
from portal.models import Notice, NoticeRecipient, User
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.services import accounts, advisors, notices

MANAGER_ROLES = (MANAGER, ADMIN)


def _me() -> User:
    return current_account()


def _managers_only() -> None:
    if current_user.role not in MANAGER_ROLES:
        abort(403)


def _advisor_id(value) -> int:
    """An advisor id as an int; one past the database's integers is refused, not sent on."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


class LeaveForm(FlaskForm):
    mode = RadioField(
        _l("Customers go"),
        choices=[
            SelectChoice("one", _l("all to one advisor")),
            SelectChoice("spread", _l("spread evenly over the chosen advisors")),
        ],
        default="one",
    )
    to = SelectField(_l("Advisor taking over"), coerce=int, validate_choice=False)
    spread = SelectMultipleField(
        _l("Advisors sharing them"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )


class CustomerForm(StaffConsentFields, FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    vin = StringField(_l("VIN (optional)"), validators=[Optional(), Length(max=24)])


class NoticeForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    body = TextAreaField(_l("Notice"), validators=[DataRequired(), Length(max=10_000)])
    audience = RadioField(
        _l("Send to"),
        choices=[
            SelectChoice("all", _l("all advisors of the store")),
            SelectChoice("chosen", _l("the advisors chosen below")),
        ],
        default="all",
    )
    advisors = SelectMultipleField(
        _l("Advisors"),
        coerce=_advisor_id,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )


class AdvisorView(StaffView):
    """The advisor directory, each advisor's performance, and their departure."""

    @expose("/")
    def index(self):
        # Those who see every store see one store's advisors at a time (?store=, the first store
        # by default): the whole group's cards and their customer counts are far too many.
        stores = list_pages.store_choices()
        store_id = list_pages.chosen_store(stores) or (stores[0][0] if stores else None)
        rows = advisors.directory(
            _me(), include_inactive=current_user.role in MANAGER_ROLES, store_id=store_id
        )
        preload(User, rows, selectinload(User.profile), selectinload(User.store))
        counts = advisors.customer_counts([a.id for a in rows])
        return self.render(
            "admin/advisors/index.html",
            rows=rows,
            counts=counts,
            pick_stores=stores,
            store_id=store_id,
        )

    @expose("/<int:advisor_id>")
    def show(self, advisor_id: int):
        _managers_only()
        advisor = self._advisor(advisor_id)
        return self.render(
            "admin/advisors/show.html",
            advisor=advisor,
            perf=advisors.performance(advisor),
            code=advisors.referral_code(advisor),
        )

    @expose("/<int:advisor_id>/leave", methods=["GET", "POST"])
    def leave(self, advisor_id: int):
        _managers_only()
        advisor = self._advisor(advisor_id)
        form = LeaveForm()
        colleagues = [a for a in advisors.directory(_me()) if a.id != advisor.id]
        colleagues = [a for a in colleagues if a.store_id == advisor.store_id]
        form.to.choices = [SelectChoice(a.id, a.name) for a in colleagues]
        form.spread.choices = [SelectChoice(a.id, a.name) for a in colleagues]
        if form.validate_on_submit():
            by_id = {a.id: a for a in colleagues}
            try:
                if not advisor.is_active:
                    raise ValidationError(_("This advisor has already left."), field="to")
                if form.mode.data == "spread":
                    chosen = [by_id[i] for i in form.spread.data or [] if i in by_id]
                    plan = advisors.reassign_and_deactivate(_me(), advisor, spread=chosen)
                else:
                    plan = advisors.reassign_and_deactivate(
                        _me(), advisor, to=by_id.get(form.to.data)
                    )
                # Open leads, tasks, test drives and vettings follow, in the same transaction.
                moved = leavers.move_open_work(_me(), advisor, plan, [by_id[i] for i in plan])
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                return self.render(
                    "admin/advisors/leave.html", advisor=advisor, form=form, count=None, work=None
                ), 422
            _tell_customers(plan)  # queued in the outbox with the move, sent after commit
            db.session.commit()
            flash(
                _(
                    "%(name)s is deactivated; %(n)d customers have a new advisor.",
                    name=advisor.name,
                    n=sum(len(v) for v in plan.values()),
                ),
                "success",
            )
            flash(
                _(
                    "Moved with them: %(leads)d open leads, %(tasks)d open tasks, "
                    "%(drives)d test drives and %(vettings)d used-car vettings.",
                    leads=moved["leads"],
                    tasks=moved["tasks"],
                    drives=moved["test_drives"],
                    vettings=moved["vettings"],
                ),
                "info",
            )
            return redirect(url_for(".index"), code=303)
        count = advisors.customer_counts([advisor.id]).get(advisor.id, 0)
        work = leavers.open_work(advisor.id)
        return self.render(
            "admin/advisors/leave.html", advisor=advisor, form=form, count=count, work=work
        )

    @expose("/customers/new", methods=["GET", "POST"])
    def customer_new(self):
        form = CustomerForm()
        result = None
        if form.validate_on_submit():
            phone = accounts.normalize_phone(form.phone.data or "")
            email = accounts.normalize_email(form.email.data or "") if form.email.data else None
            try:
                result = advisors.register_customer(
                    _me(), name=form.name.data, phone=phone, email=email, vin=form.vin.data or ""
                )
            except DomainError as exc:
                db.session.rollback()
                field_error(form, exc, "phone")
            else:
                if result.created:  # an existing customer's consents are changed on their page
                    record_staff_consent(_me(), result.customer, form)
                db.session.commit()
        status = 422 if form.errors else 200
        return self.render("admin/advisors/customer_new.html", form=form, result=result), status

    def _advisor(self, advisor_id: int) -> User:
        try:
            return advisors.visible_advisor(_me(), advisor_id)
        except NotFound:
            abort(404)


def _tell_customers(plan: dict[int, list[int]]) -> None:
    """Email each moved customer who has an email the name and number of the new advisor."""
    for advisor_id, owner_ids in plan.items():
        advisor = db.session.get(User, advisor_id)
        profile = advisors.profile_of(advisor)
        phone = (profile.phone if profile else "") or advisor.phone or ""
        for owner in db.session.scalars(select(User).where(User.id.in_(owner_ids))):
            if not owner.email:
                continue
            with in_language_of(owner):  # the owner reads it, not the manager who moved them
                subject = _("Your new M4S advisor")
                body = _(
                    "Your advisor is now %(name)s (%(phone)s). You find them on your "
                    "M4S home page.",
                    name=advisor.name,
                    phone=phone,
                )
            send_mail(owner.email, subject, body)


class NoticeView(StaffView):
    """Store notices: managers publish and see who read them; advisors read them."""

    @expose("/")
    def index(self):
        rows = notices.listing(_me())
        preload(
            Notice, [r[0] for r in rows], selectinload(Notice.store), selectinload(Notice.author)
        )
        return self.render("admin/advisors/notices.html", rows=rows)

    @expose("/new", methods=["GET", "POST"])
    def create(self):
        if current_user.role != MANAGER:
            abort(403)
        form = NoticeForm()
        form.advisors.choices = [SelectChoice(a.id, a.name) for a in advisors.directory(_me())]
        if form.validate_on_submit():
            chosen = form.advisors.data if form.audience.data == "chosen" else None
            try:
                notice = notices.publish(
                    _me(), title=form.title.data, body=form.body.data, advisor_ids=chosen
                )
            except DomainError as exc:
                db.session.rollback()
                field_error(form, exc, "title")
            else:
                db.session.commit()
                flash(_("Notice published."), "success")
                return redirect(url_for(".show", notice_id=notice.id), code=303)
        status = 422 if form.errors else 200
        return self.render("admin/advisors/notice_new.html", form=form), status

    @expose("/<int:notice_id>")
    def show(self, notice_id: int):
        notice = self._notice(notice_id)
        # The readers' table names every recipient: their names in one query, not one each.
        preload(
            Notice,
            [notice],
            selectinload(Notice.recipients).selectinload(NoticeRecipient.advisor),
            selectinload(Notice.store),
        )
        mine = next((r for r in notice.recipients if r.advisor_id == current_user.id), None)
        return self.render("admin/advisors/notice.html", notice=notice, mine=mine)

    @expose("/<int:notice_id>/read", methods=["POST"])
    def read(self, notice_id: int):
        if current_user.role != ADVISOR:
            abort(403)
        notice = self._notice(notice_id)
        notices.mark_read(_me(), notice)
        db.session.commit()
        if request.headers.get("HX-Request") == "true":
            return self.render("admin/advisors/_notice_read.html", notice=notice)
        return redirect(request.referrer or url_for(".show", notice_id=notice.id), code=303)

    def _notice(self, notice_id: int):
        try:
            return notices.visible_notice(_me(), notice_id)
        except NotFound:
            abort(404)


def unread_notices_panel():
    """Home panel: the advisor's unread notices, each with a mark-as-read button."""
    if not current_user.is_authenticated or current_user.role != ADVISOR:
        return None
    me = current_account()
    return (_("Unread notices"), "admin/advisors/_unread.html", {"notices": notices.unread_for(me)})


HOME_PANELS.append(unread_notices_panel)
