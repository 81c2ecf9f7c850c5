"""Webhooks: a store's managers add endpoints (secret shown once), read each endpoint's
delivery log and replay an event; the worker does the sending."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from admin.base import StaffView
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store, WebhookEndpoint
from portal.services import audit, webhooks

ENDPOINTS_SHOWN = 100
DELIVERIES_SHOWN = 50


class EndpointForm(FlaskForm):
    url = StringField(_l("Endpoint URL"), validators=[DataRequired(), Length(max=500)])
    description = StringField(_l("What receives it"), validators=[Length(max=120)])
    events = SelectMultipleField(
        _l("Events to send"), widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )
    store = SelectField(_l("Store"), coerce=int)


class WebhookView(StaffView):
    """A store's webhook endpoints: add, switch off, rotate the secret, delivery log, replay."""

    def _form(self) -> EndpointForm:
        form = EndpointForm()
        form.events.choices = [(k, f"{k}: {label}") for k, label in webhooks.EVENT_TYPES.items()]
        stores = select(Store).order_by(Store.id)
        stores = access.store_scope(stores, Store.id, current_account())
        form.store.choices = [(s.id, s.name) for s in db.session.scalars(stores)]
        return form

    def _page(self, form: EndpointForm, secret: str | None = None, status: int = 200):
        rows = db.session.scalars(
            access.store_scope(
                select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc()).limit(ENDPOINTS_SHOWN),
                WebhookEndpoint.store_id,
                current_account(),
            )
        ).all()
        stores = dict(form.store.choices)
        page = self.render(
            "admin/webhooks/index.html", form=form, rows=rows, secret=secret, stores=stores
        )
        return page, status

    @expose("/")
    def index(self):
        return self._page(self._form())

    @expose("/new", methods=["POST"])
    def create(self):
        """Add an endpoint and show its signing secret this once."""
        form = self._form()
        if not form.validate_on_submit():
            return self._page(form, status=422)
        actor = current_account()
        try:
            endpoint, secret = webhooks.create_endpoint(
                actor, form.store.data, form.url.data, form.events.data, form.description.data
            )
        except DomainError as exc:
            db.session.rollback()
            field = {"events": form.events}.get(exc.field, form.url)
            field.errors = [*field.errors, exc.message]
            return self._page(form, status=422)
        audit.record("webhook_created", actor=actor, target=endpoint, store_id=endpoint.store_id)
        db.session.commit()
        return self._page(self._form(), secret=secret)

    def _detail(self, endpoint: WebhookEndpoint, secret: str | None = None):
        before = int_arg(request.args.get("before"), minimum=1)
        log = webhooks.deliveries(endpoint, before, DELIVERIES_SHOWN)
        more = log[-1].id if len(log) == DELIVERIES_SHOWN else None
        return self.render(
            "admin/webhooks/detail.html",
            endpoint=endpoint,
            log=log,
            more=more,
            secret=secret,
            labels=webhooks.EVENT_TYPES,
        )

    @expose("/<int:endpoint_id>/")
    def detail(self, endpoint_id: int):
        """Show an endpoint with its latest delivery tries."""
        try:
            endpoint = webhooks.endpoint_of(current_account(), endpoint_id)
        except NotFound as exc:
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        return self._detail(endpoint)

    @expose("/<int:endpoint_id>/rotate", methods=["POST"])
    def rotate(self, endpoint_id: int):
        """Replace the signing secret at once and show the new one this once."""
        actor = current_account()
        try:
            endpoint, secret = webhooks.rotate_secret(actor, endpoint_id)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        audit.record("webhook_secret_rotated", actor=actor, target=endpoint)
        db.session.commit()
        return self._detail(endpoint, secret=secret)

    @expose("/<int:endpoint_id>/active", methods=["POST"])
    def set_active(self, endpoint_id: int):
        """Switch the endpoint on or off."""
        actor = current_account()
        active = request.form.get("active") == "1"
        try:
            endpoint = webhooks.set_active(actor, endpoint_id, active)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        audit.record("webhook_switched", actor=actor, target=endpoint, active=active)
        db.session.commit()
        flash(_("The endpoint is on.") if active else _("The endpoint is off."), "success")
        return redirect(url_for(".detail", endpoint_id=endpoint_id), code=303)

    @expose("/<int:endpoint_id>/ping", methods=["POST"])
    def ping(self, endpoint_id: int):
        """Queue a signed test ping for this endpoint; its delivery log shows how it went."""
        actor = current_account()
        try:
            event = webhooks.ping(actor, endpoint_id)
        except NotFound as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".detail", endpoint_id=endpoint_id), code=303)
        audit.record(
            "webhook_pinged", actor=actor, store_id=event.store_id, endpoint_id=endpoint_id
        )
        db.session.commit()
        flash(_("A test ping is queued: its try appears in the delivery log below."), "success")
        return redirect(url_for(".detail", endpoint_id=endpoint_id), code=303)

    @expose("/<int:endpoint_id>/replay/<event_id>", methods=["POST"])
    def replay(self, endpoint_id: int, event_id: str):
        """Queue an event again for this endpoint, with the same event id."""
        actor = current_account()
        try:
            webhooks.replay(actor, endpoint_id, event_id)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        audit.record("webhook_replayed", actor=actor, event_id=event_id[:40])
        db.session.commit()
        flash(_("The event is queued again with the same event id."), "success")
        return redirect(url_for(".detail", endpoint_id=endpoint_id), code=303)
