"""Back office of the CRM: my leads, a lead's page with its steps, staff entry, customer page."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from admin import listing
from admin.base import StaffView
from admin.campaigns import channel_labels
from admin.consent import CustomerConsentForm, prefill, record_staff_consent
from admin.customer_profile import CustomerProfilePages, tier_choices
from admin.list_pages import bad_cursor, chosen_store, store_choices
from admin.loading import preload
from admin.pipeline import PIPELINE_EVENT_LABELS, lead_pipeline
from crm import customer_search, merge, profiles, relations, stats, timeline
from crm import leads as svc
from crm.customers import clean_contact, find_customer
from crm.forms import StaffLeadForm
from crm.invitations import EVENT_LABELS as SHOWROOM_EVENT_LABELS
from crm.models import LOST_REASONS, STAGES, STATES, Lead
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import Store, User
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.outcome import flash_outcome
from portal.paging import BACK_PARAM, cursor_arg
from portal.services import consent as consent_svc
from portal.services import policy
from portal.services.accounts import normalize_phone
from portal.timeutil import now

LABELS = {
    "stage_labels": svc.STAGE_LABELS,
    "state_labels": svc.STATE_LABELS,
    "source_labels": svc.SOURCE_LABELS,
    "timeframe_labels": svc.TIMEFRAME_LABELS,
    "lost_labels": svc.LOST_REASON_LABELS,
    "event_labels": {**svc.EVENT_LABELS, **PIPELINE_EVENT_LABELS, **SHOWROOM_EVENT_LABELS},
    # A customer's timeline (the customer page, the call console's card).
    "card_labels": profiles.CARD_LABELS,
    "field_labels": profiles.FIELD_LABELS,
    "touch_labels": timeline.TOUCH_LABELS,
}
# What a merge moves, by the table and column it is counted on (the preview's rows).
MERGE_LABELS = {
    "vehicles.owner_id": _l("Vehicles"),
    "bookings.owner_id": _l("Bookings"),
    "ratings.owner_id": _l("Service ratings given"),
    "rescues.owner_id": _l("Rescue requests"),
    "used_car_requests.owner_id": _l("Used-car submissions"),
    "images.owner_id": _l("Uploaded photos"),
    "loans.customer_id": _l("Car loans"),
    "insurance_policies.customer_id": _l("Insurance policies"),
    "shop_orders.user_id": _l("Shop orders"),
    "shop_carts.user_id": _l("Shopping cart"),
    "shop_coupons.owner_id": _l("Shop coupons"),
    "crm_leads.customer_id": _l("Leads"),
    "crm_tasks.customer_id": _l("Tasks about the customer"),
    "crm_orders.customer_id": _l("Car orders"),
    "crm_campaign_members.customer_id": _l("Campaign audiences"),
    "crm_campaign_sends.customer_id": _l("Campaign messages received"),
    "crm_campaign_responses.customer_id": _l("Answers to campaigns"),
    "marketing_consents.user_id": _l("Marketing consents"),
    "channel_preferences.user_id": _l("Notification channel choices"),
    "wechat_bindings.user_id": _l("WeChat binding"),
    "notifications.user_id": _l("In-app notifications"),
    "video_sessions.viewer_id": _l("Workshop video viewings"),
    "video_follow_ups.owner_id": _l("Video follow-ups"),
    "usedcar_events.recipient_id": _l("Used-car messages"),
    "outbox_messages.user_id": _l("Messages sent to the customer"),
    "users.referred_by_id": _l("Customers they referred"),
    "consent_records.user_id": _l("Consent history"),
    "crm_complaints.customer_id": _l("Complaints"),
    "crm_surveys.customer_id": _l("Satisfaction surveys sent"),
    "crm_invitations.customer_id": _l("Showroom visits booked"),
    "crm_customer_profiles.customer_id": _l("Customer profile"),
    "crm_customer_tags.customer_id": _l("Tags"),
    "crm_customer_relations.low_id": _l("Links to other customers"),
    "crm_customer_relations.high_id": _l("Links to other customers (other side)"),
}


def _me() -> User:
    return current_account()


def _lead(lead_id: int) -> Lead:
    try:
        return access.store_record(_me(), Lead, lead_id, _("Lead not found."))
    except NotFound:
        abort(404)


def inquiry_from_form(me: User, form: StaffLeadForm) -> svc.Inquiry:
    """Return the inquiry a staff member typed (phone call or walk-in) at their own store."""
    store = db.session.get(Store, me.store_id) if me.store_id else None
    if store is None:
        raise DomainError(_("Only staff of a store enter leads."), field="source")
    phone, email, vin = clean_contact(
        form.phone.data or "", form.email.data or "", form.vin.data or ""
    )
    return svc.Inquiry(
        name=form.name.data or "",
        phone=phone,
        email=email,
        vin=vin,
        store=store,
        source=form.source.data or "",
        model_interest=form.model_interest.data or "",
        budget_fen=form.budget.fen,
        timeframe=form.timeframe.data or "",
        wants_test_drive=bool(form.test_drive.data),
        note=form.note.data or "",
    )


class LeadsView(StaffView):
    """My leads (overdue first contacts on top), the store's leads, one lead, a new lead."""

    @expose("/")
    def index(self):
        """Show one page of the leads (overdue first contacts on top), the list's count, and
        the next page by a cursor; those who see every store narrow it to one (?store=)."""
        me = _me()
        mine = request.args.get("scope", "mine" if me.role == "advisor" else "store") == "mine"
        state = request.args.get("state", "")
        state = state if state in STATES else ""
        stores = store_choices()
        # Those who see every store see one store's leads at a time (?store=, the first store by
        # default): ordering every active lead of the group by its first contact took 0.8 s.
        store_id = chosen_store(stores) or (stores[0][0] if stores else None)
        page = timeline.leads_page(
            me,
            mine=mine,
            state=state,
            store_id=store_id,
            before=cursor_arg("cursor"),
            back=cursor_arg(BACK_PARAM),
            size=timeline.PAGE_SIZE,
        )
        preload(
            Lead,
            [lead for lead, _due in page.items],
            selectinload(Lead.customer),
            selectinload(Lead.advisor),
        )
        counted = timeline.leads_counted(me, mine=mine, state=state, store_id=store_id)
        return self.render(
            "admin/crm/leads.html",
            rows=page.items,
            page=page,
            page_size=timeline.PAGE_SIZE,
            count=listing.count_label(counted),
            error=bad_cursor(page),
            stores=stores,
            store_id=store_id,
            mine=mine,
            state=state,
            now=now(),
            phone=lambda lead: svc.lead_phone(me, lead),
            **LABELS,
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        """Enter a phone call or a walk-in; it is deduplicated and routed like any lead."""
        me = _me()
        form = StaffLeadForm()
        if request.method == "POST":
            if form.validate_on_submit():
                try:
                    captured = svc.capture(inquiry_from_form(me, form), actor=me)
                except DomainError as exc:
                    db.session.rollback()
                    field_error(form, exc, "phone")
                else:
                    db.session.commit()
                    if not captured.created:
                        flash(_("This customer already has an open lead: it was updated."), "info")
                    if access.in_store(me, captured.lead.store_id):
                        return redirect(url_for(".show", lead_id=captured.lead.id), code=303)
                    return redirect(url_for(".index"), code=303)
            return self.render("admin/crm/lead_new.html", form=form), 422
        return self.render("admin/crm/lead_new.html", form=form)

    @expose("/<int:lead_id>")
    def show(self, lead_id: int):
        return self._show(_lead(lead_id))

    def _show(self, lead: Lead, revealed: str = ""):
        me = _me()
        advisors = []
        if svc.is_manager(me):
            advisors = db.session.scalars(
                select(User)
                .where(User.role == "advisor", User.store_id == lead.store_id)
                .where(User.is_active.is_(True))
                .order_by(User.name)
            ).all()
        return self.render(
            "admin/crm/lead.html",
            lead=lead,
            phone=revealed or svc.lead_phone(me, lead),
            revealed=bool(revealed),
            can_work=svc.may_work(me, lead),
            is_manager=svc.is_manager(me),
            later_stages=[s for s in STAGES if STAGES.index(s) > STAGES.index(lead.stage)],
            lost_reasons=LOST_REASONS,
            advisors=advisors,
            pipeline=lead_pipeline(me, lead),
            **LABELS,
        )

    @expose("/<int:lead_id>/reveal", methods=["POST"])
    def reveal(self, lead_id: int):
        """Show a colleague's customer's full number; the reveal is logged."""
        lead = _lead(lead_id)
        full = svc.reveal_phone(_me(), lead)
        db.session.commit()
        return self._show(lead, revealed=full)

    @expose("/<int:lead_id>/act", methods=["POST"])
    def act(self, lead_id: int):
        """Apply one step: advance, ask lost, approve or refuse lost, reassign."""
        me, lead = _me(), _lead(lead_id)
        verb = request.form.get("verb", "")
        with flash_outcome(_("Saved.")):
            self._apply(me, lead, verb)
        return redirect(url_for(".show", lead_id=lead_id), code=303)

    def _apply(self, me: User, lead: Lead, verb: str) -> None:
        form = request.form
        note = (form.get("note") or "")[:2000]
        if verb == "advance":
            svc.advance(me, lead, form.get("stage", ""), note)
        elif verb == "lost":
            svc.request_lost(me, lead, form.get("reason", ""), note)
        elif verb in ("approve_lost", "refuse_lost"):
            svc.decide_lost(me, lead, approve=verb == "approve_lost")
        elif verb == "reassign":
            advisor_id = int_arg(form.get("advisor"))
            advisor = db.session.get(User, advisor_id) if advisor_id else None
            svc.reassign(me, lead, advisor)
        else:
            raise DomainError(_("Unknown step."))


class CustomerView(CustomerProfilePages, StaffView):
    """Find a customer, and see one customer's whole history on one timeline."""

    @expose("/")
    def index(self):
        me = _me()
        q, tag = request.args.get("q", ""), profiles.normalize_tag(request.args.get("tag", ""))
        tier = int_arg(request.args.get("tier"), minimum=1)
        found = customer_search.find_customers(me, q, tag=tag, tier_id=tier)
        return self.render(
            "admin/crm/customers.html",
            q=q,
            tag=tag,
            tier=tier,
            found=found,
            short=customer_search.name_too_short(me, q),
            tags=profiles.store_tags(me.store_id) if me.store_id else [],
            tiers=tier_choices(me.store_id)[1:] if me.store_id else [],
        )

    @expose("/<int:customer_id>")
    def show(self, customer_id: int):
        me = _me()
        key = int_arg(str(customer_id), minimum=1)
        # The customer with their advisor in one statement; a merge closes the merged record,
        # so only a closed one is looked up among the merges.
        found = db.session.get(User, key, options=[joinedload(User.advisor)]) if key else None
        survivor = merge.resolve(key) if found is not None and not found.is_active else key
        if survivor != key:
            return redirect(url_for(".show", customer_id=survivor))  # a merged record
        customer = self._customer(me, key)
        profile, value = profiles.profile_and_value(customer)
        if value is not None and not access.in_store(me, value.store_id):
            value = None  # another store's figures stay with that store
        vehicles = customer.vehicles  # the page's list and the timeline's: read once
        return self.render(
            "admin/crm/customer.html",
            customer=customer,
            phone=timeline.customer_phone(me, customer),
            entries=timeline.timeline(me, customer, vehicles=vehicles),
            can_merge=merge.is_manager(me),
            may_edit=profiles.may_edit(me, customer),
            profile=profile,
            tier_name=profile.tier.label(str(get_locale())) if profile and profile.tier else "",
            value=value,
            band_name=value.band.label(str(get_locale())) if value and value.band else "",
            tags=profiles.tags_of(customer),
            related=relations.related(me, customer),
            link_labels=relations.LINK_LABELS,
            may_record_consent=consent_svc.staff_may_record(me, customer),
            may_set_warranty=me.role in (ADVISOR, MANAGER, ADMIN),
            **LABELS,
        )

    @expose("/<int:customer_id>/consent", methods=["GET", "POST"])
    def consent(self, customer_id: int):
        """Record how a customer consented, and their marketing choices, with the history."""
        me = _me()
        customer = db.session.get(User, customer_id)
        if customer is None or not consent_svc.staff_may_record(me, customer):
            abort(404)
        form = CustomerConsentForm()
        if form.validate_on_submit():
            record_staff_consent(me, customer, form)
            db.session.commit()
            flash(_("Consent recorded."), "success")
            return redirect(url_for(".consent", customer_id=customer.id), code=303)
        if request.method == "GET":
            prefill(form, customer)
        return self.render(
            "admin/crm/consent.html",
            customer=customer,
            form=form,
            history=policy.consent_history(customer),
            source_labels=policy.SOURCE_LABELS,
            method_labels=policy.METHOD_LABELS,
            channel_labels=channel_labels(),
        ), 422 if form.errors else 200

    @expose("/<int:customer_id>/merge", methods=["GET", "POST"])
    def merge_records(self, customer_id: int):
        """Preview two records side by side; on POST fold the other one into this one."""
        me = _me()
        if not merge.is_manager(me):
            abort(403)
        keep = self._customer(me, int_arg(str(customer_id), minimum=1))
        raw = request.values.get("other", "")
        other = self._other(me, raw)
        if other is None:
            if raw.strip():
                flash(_("No customer record you may open has this number or id."), "error")
            return redirect(url_for(".show", customer_id=keep.id), code=303)
        if request.method == "POST":
            with flash_outcome(_("The records are merged: everything is on this customer now.")):
                merge.merge(me, keep, other)
            return redirect(url_for(".show", customer_id=keep.id), code=303)
        shown = merge.preview(me, keep, other)
        return self.render(
            "admin/crm/customer_merge.html",
            p=shown,
            keys=sorted(set(shown.survivor_counts) | set(shown.merged_counts)),
            labels=MERGE_LABELS,
            phones=(
                timeline.customer_phone(me, keep),
                timeline.customer_phone(me, other),
            ),
        )

    def _customer(self, me: User, key: int | None) -> User:
        customer = db.session.get(User, key) if key else None
        if customer is None or not timeline.customer_visible(me, customer):
            abort(404)
        return customer

    def _other(self, me: User, raw: str) -> User | None:
        text = (raw or "").strip()
        phone = normalize_phone(text) if len(text) >= 11 else None
        found = find_customer(phone) if phone else None
        if found is None:
            key = int_arg(text, minimum=1)
            found = db.session.get(User, merge.resolve(key)) if key else None
        if found is None or not timeline.customer_visible(me, found):
            return None
        return found


class LeadSpeedView(StaffView):
    """Speed to lead for managers: median and 90th percentile minutes to first contact."""

    @expose("/")
    def index(self):
        """Show the speed to lead of the viewer's store (one who sees every store picks one,
        the first by default: the whole group's leads of a month are far too many to list)."""
        stores = store_choices()
        store_id = chosen_store(stores) or (stores[0][0] if stores else None)
        return self.render(
            "admin/crm/speed.html",
            rows=stats.speed_to_lead(_me(), store_id=store_id),
            target=stats.store_target(_me(), store_id),
            pick_stores=stores,
            store_id=store_id,
        )
