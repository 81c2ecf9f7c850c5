"""Back office: the customer card's profile, tags and links, and the store's customer tiers."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _

from admin.base import StaffView
from crm import profiles, relations
from crm.customers import find_customer
from crm.forms import ProfileForm
from crm.merge import resolve
from crm.profiles import ProfileInput
from portal.auth import current_account
from portal.errors import DomainError, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import User
from portal.outcome import flash_outcome
from portal.services.accounts import normalize_phone


def tier_choices(store_id: int | None) -> list[tuple[str, str]]:
    """Return the store's tiers as select choices, in the reader's language, "none" first."""
    locale = str(get_locale() or "zh_CN")
    return [("", "—")] + [(str(t.id), t.label(locale)) for t in profiles.tiers(store_id)]


def other_customer(raw: str) -> User | None:
    """Return the customer named by a mobile number or a record id (merged ones resolved)."""
    text = (raw or "").strip()
    phone = normalize_phone(text) if len(text) >= 11 else None
    found = find_customer(phone) if phone else None
    if found is None:
        key = int_arg(text, minimum=1)
        found = db.session.get(User, resolve(key)) if key else None
    return found


class CustomerProfilePages:
    """The customer page's own sub-pages (mixed into CustomerView, which supplies _customer)."""

    @expose("/<int:customer_id>/profile", methods=["GET", "POST"])
    def profile(self, customer_id: int):
        """Edit the customer's profile, tier and tags (their advisor or a manager)."""
        me = current_account()
        customer = self._customer(me, customer_id)
        if not profiles.may_edit(me, customer):
            abort(403)
        form = ProfileForm()
        form.tier.choices = tier_choices(customer.store_id)
        if request.method == "POST":
            if form.validate_on_submit():
                try:
                    profiles.save_profile(me, customer, _input(form))
                except DomainError as exc:
                    db.session.rollback()
                    field_error(form, exc, "notes")
                else:
                    db.session.commit()
                    flash(_("Profile saved."), "success")
                    return redirect(url_for(".show", customer_id=customer.id), code=303)
            return self.render("admin/crm/profile.html", customer=customer, form=form), 422
        _prefill(form, customer)
        return self.render("admin/crm/profile.html", customer=customer, form=form)

    @expose("/<int:customer_id>/relations", methods=["POST"])
    def relation_add(self, customer_id: int):
        """Link another customer to this one: family, company and driver, or referral."""
        me = current_account()
        customer = self._customer(me, customer_id)
        other = other_customer(request.form.get("other", ""))
        with flash_outcome(_("Link added.")):
            relations.add_relation(me, customer, other, request.form.get("link", ""))
        return redirect(url_for(".show", customer_id=customer.id), code=303)

    @expose("/<int:customer_id>/relations/<int:relation_id>/delete", methods=["POST"])
    def relation_delete(self, customer_id: int, relation_id: int):
        """Remove a link of this customer's."""
        me = current_account()
        customer = self._customer(me, customer_id)
        try:
            with flash_outcome(_("Link removed."), catch=NotAllowed):
                relations.remove_relation(me, customer, relation_id)
        except NotFound:
            abort(404)
        return redirect(url_for(".show", customer_id=customer.id), code=303)


def _input(form: ProfileForm) -> ProfileInput:
    tier = (form.tier.data or "").strip()
    tier_id = int_arg(tier, minimum=1) if tier else None
    if tier and tier_id is None:
        tier_id = -1  # not a tier's id: the service says so
    return ProfileInput(
        model_interest=form.model_interest.data or "",
        budget_fen=form.budget.fen,
        timeframe=form.timeframe.data or None,
        trade_in=form.trade_in.data or "",
        driving=form.driving.data or "",
        competitors=form.competitors.data or "",
        notes=form.notes.data or "",
        tier_id=tier_id,
        tags=form.tags.data or "",
        birthday=form.birthday.data,
    )


def _prefill(form: ProfileForm, customer: User) -> None:
    form.tags.data = ", ".join(profiles.tags_of(customer))
    profile = profiles.profile_of(customer)
    if profile is None:
        return
    for name in ("model_interest", "trade_in", "driving", "competitors", "notes"):
        getattr(form, name).data = getattr(profile, name)
    form.timeframe.data = profile.timeframe or ""
    form.birthday.data = profile.birthday
    form.tier.data = str(profile.tier_id or "")
    if profile.budget_fen is not None:
        form.budget.data = f"{profile.budget_fen / 100:.2f}".removesuffix(".00")


class TierView(StaffView):
    """The store's customer tiers (managers): name in Chinese and English, and order."""

    @expose("/")
    def index(self):
        me = current_account()
        if me.store_id is None:
            abort(404)
        return self.render("admin/crm/tiers.html", tiers=profiles.tiers(me.store_id))

    @expose("/", methods=["POST"])
    def tier_add(self):
        """Add a tier."""
        form = request.form
        with flash_outcome(_("Tier added.")):
            profiles.add_tier(
                current_account(),
                form.get("name_zh", ""),
                form.get("name_en", ""),
                int_arg(form.get("position"), minimum=1, maximum=99),
            )
        return redirect(url_for(".index"), code=303)

    @expose("/<int:tier_id>", methods=["POST"])
    def tier_save(self, tier_id: int):
        """Rename, reorder or delete a tier."""
        me, form = current_account(), request.form
        try:
            if form.get("verb") == "delete":
                with flash_outcome(_("Tier removed."), catch=NotAllowed):
                    profiles.remove_tier(me, tier_id)
            else:
                with flash_outcome(_("Saved."), catch=(NotAllowed, ValidationError)):
                    profiles.update_tier(
                        me,
                        tier_id,
                        form.get("name_zh", ""),
                        form.get("name_en", ""),
                        int_arg(form.get("position"), minimum=1, maximum=99),
                    )
        except NotFound:
            abort(404)
        return redirect(url_for(".index"), code=303)
