"""API tokens: admins make one per integration (shown once) and revoke it."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from admin.base import StaffView
from api import tokens
from api.models import SCOPES, ApiToken
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Store
from portal.services import audit

TOKENS_SHOWN = 200


def scope_labels() -> dict[str, str]:
    """Each scope in words (the resource, then read or write)."""
    resources = {
        "customers": _("Customers and vehicles"),
        "service_records": _("Service records"),
        "bookings": _("Bookings"),
        "shop": _("Shop products and stock"),
        "cameras": _("Camera status"),
        "leads": _("New-car sales leads"),
        "orders": _("Shop orders and their lines"),
    }
    verbs = {"read": _("read"), "write": _("write")}
    return {s: f"{resources[s.split(':')[0]]}: {verbs[s.split(':')[1]]}" for s in SCOPES}


class TokenForm(FlaskForm):
    name = StringField(_l("Integration"), validators=[DataRequired(), Length(max=80)])
    scopes = SelectMultipleField(
        _l("Scopes"), widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )
    store = SelectField(_l("Store limit"), coerce=int)
    full_phones = BooleanField(_l("Whole phone numbers (otherwise masked)"))


class ApiTokenView(StaffView):
    """The integrations' tokens: scopes, store limit, last use; create and revoke."""

    def _form(self) -> TokenForm:
        form = TokenForm()
        labels = scope_labels()
        form.scopes.choices = [(s, labels[s]) for s in SCOPES]
        stores = db.session.scalars(select(Store).order_by(Store.id)).all()
        form.store.choices = [(0, _("Every store"))] + [(s.id, s.name) for s in stores]
        return form

    def _page(self, form: TokenForm, secret: str | None = None, status: int = 200):
        rows = db.session.scalars(
            select(ApiToken).order_by(ApiToken.id.desc()).limit(TOKENS_SHOWN)
        ).all()
        page = self.render(
            "admin/api_tokens.html", form=form, rows=rows, secret=secret, labels=scope_labels()
        )
        return page, status

    @expose("/")
    def index(self):
        return self._page(self._form())

    @expose("/new", methods=["POST"])
    def create(self):
        """Create a token and show its secret this once."""
        form = self._form()
        if not form.validate_on_submit():
            return self._page(form, status=422)
        store = db.session.get(Store, form.store.data) if form.store.data else None
        actor = current_account()
        try:
            token, secret = tokens.create_token(
                actor, form.name.data, form.scopes.data, store, form.full_phones.data
            )
        except DomainError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, exc.message]
            return self._page(form, status=422)
        audit.record("api_token_created", actor=actor, target=token, scopes=token.scopes)
        db.session.commit()
        return self._page(self._form(), secret=secret)

    @expose("/<int:token_id>/revoke", methods=["POST"])
    def revoke(self, token_id: int):
        """Revoke a token at once."""
        actor = current_account()
        try:
            token = tokens.revoke_token(actor, token_id)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        audit.record("api_token_revoked", actor=actor, target=token)
        db.session.commit()
        flash(_("The token is revoked."), "success")
        return redirect(url_for(".index", _anchor=f"token-{token_id}"), code=303)
