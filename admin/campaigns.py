"""Back office of marketing: segments with a live count and preview, campaigns with their
progress, pause and resume, measured return, and the built-in campaigns a store switches on."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin import charts, listing
from admin.base import StaffView
from admin.campaign_offer_form import offer_draft
from admin.list_pages import newest_page
from crm import (
    builtins,
    campaign_offers,
    campaign_responses,
    campaign_schedule,
    campaign_sending,
    campaigns,
    customer_value,
    returns,
    segments,
)
from crm.campaign_models import BUILTINS, Campaign, Segment
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError, NotFound, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store, User
from portal.models.channels import MARKETING_CHANNELS
from portal.money import MoneyError, parse_yuan
from shop.coupons import worth as coupon_worth

PAGE_SIZE = 50  # the segments, or the campaigns, a page lists
SEGMENT_CHOICES = 200  # the segments a new campaign's select offers (a name search narrows)
EXAMPLE = builtins.SPECS["maintenance_due"]["rule"]


def _me() -> User:
    return current_account()


def _stores(me: User) -> list[Store]:
    stmt = select(Store).where(Store.is_active.is_(True)).order_by(Store.id)
    return list(db.session.scalars(access.store_scope(stmt, Store.id, me)))


def _record(model, record_id: int):
    try:
        return access.store_record(_me(), model, record_id, _("Not found."))
    except NotFound:
        abort(404)


def channel_labels() -> dict[str, str]:
    """Return the marketing channels as the back office names them."""
    return {"inapp": _("In-app"), "email": _("Email"), "sms": _("SMS"), "wechat": _("WeChat")}


def status_labels() -> dict[str, str]:
    """Return the campaign states as the back office names them."""
    return {
        "draft": _("Draft"),
        "sending": _("Sending"),
        "paused": _("Paused"),
        "done": _("Done"),
    }


class SegmentView(StaffView):
    """The store's segments; the editor shows a live count and the first members."""

    @expose("/")
    def index(self):
        """Show one page of the segments, the newest first, and how many there are."""
        return self.render(
            "admin/campaigns/segments.html",
            **newest_page(Segment, PAGE_SIZE, (selectinload(Segment.store),)),
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        """Write a new segment (pre-filled with an example rule)."""
        return self._edit(None)

    @expose("/<int:segment_id>", methods=["GET", "POST"])
    def edit(self, segment_id: int):
        """Change a segment's name or rule."""
        return self._edit(_record(Segment, segment_id))

    def _edit(self, segment: Segment | None):
        me = _me()
        form = {
            "name": segment.name if segment else "",
            "rule": json.dumps(segment.rule if segment else EXAMPLE, ensure_ascii=False, indent=2),
            "store": str(segment.store_id if segment else (me.store_id or "")),
        }
        if request.method == "POST":
            form = {k: (request.form.get(k) or "")[:20_000] for k in form}
            try:
                store = segment.store if segment else self._store(me, form["store"])
                saved = campaigns.save_segment(
                    me, store, form["name"], _parse(form["rule"]), segment
                )
            except DomainError as exc:
                db.session.rollback()
                return self._page(segment, form, error=exc), 422
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".edit", segment_id=saved.id), code=303)
        return self._page(segment, form)

    def _store(self, me: User, raw: str) -> Store:
        return campaigns.store_for(me, int_arg(raw, minimum=1))

    def _page(self, segment, form, error=None, preview=None):
        return self.render(
            "admin/campaigns/segment.html",
            segment=segment,
            form=form,
            error=error,
            preview=preview if preview is not None else self._preview(segment, form),
            stores=_stores(_me()),
            fields=segments.FIELDS,
            labels=segments.field_labels(),
            value_bands=self._value_bands(segment, form),
        )

    def _value_bands(self, segment, form) -> list[tuple[int, str]]:
        """Return the (id, name) of the store's value bands, for the value_band field."""
        me = _me()
        store_id = segment.store_id if segment else int_arg(form["store"], minimum=1)
        if store_id is None or not access.in_store(me, store_id):
            return []
        locale = str(get_locale())
        return [(b.id, b.label(locale)) for b in customer_value.bands(store_id)]

    def _preview(self, segment, form) -> dict:
        me = _me()
        try:
            store = segment.store if segment else self._store(me, form["store"])
            rule = segments.validate(_parse(form["rule"]))
            return {
                "count": segments.count(store, rule),
                "members": segments.preview(me, store, rule),
                "error": None,
            }
        except DomainError as exc:
            return {"count": None, "members": [], "error": exc.message}

    @expose("/preview", methods=["POST"])
    def preview(self):
        """Count the rule being typed and show its first members (htmx), or the whole page."""
        form = {k: (request.form.get(k) or "")[:20_000] for k in ("name", "rule", "store")}
        segment_id = int_arg(request.form.get("segment"), minimum=1)
        segment = _record(Segment, segment_id) if segment_id else None
        found = self._preview(segment, form)
        if is_htmx():
            return self.render("admin/campaigns/_segment_preview.html", preview=found)
        return self._page(segment, form, preview=found)


def _segment_query() -> str:
    return (request.args.get("q") or "").strip()[:60]


def _segment_choices(me: User, q: str) -> list[Segment]:
    """Return the segments a new campaign may go to, by name: those whose name holds q, the
    first SEGMENT_CHOICES and one more if there are more (the page then says to narrow them)."""
    stmt = access.store_scope(select(Segment), Segment, me)
    if q:
        stmt = stmt.where(listing.term_clause(Segment.name, listing.TEXT, q))
    stmt = stmt.order_by(Segment.name, Segment.id).limit(SEGMENT_CHOICES + 1)
    return list(db.session.scalars(stmt))


def _parse(raw: str) -> dict:
    try:
        return json.loads(raw or "")
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." thousands deep
        raise ValidationError(
            _("The rule is not valid JSON (line %(n)d).", n=getattr(exc, "lineno", 0)),
            field="rule",
        ) from exc


class CampaignView(StaffView):
    """The store's campaigns: write, send, follow, pause, resume, and read their return."""

    @expose("/")
    def index(self):
        """Show one page of the campaigns, the newest first, and the built-in switches."""
        me = _me()
        store = db.session.get(Store, me.store_id) if me.store_id else None
        return self.render(
            "admin/campaigns/campaigns.html",
            **newest_page(Campaign, PAGE_SIZE, sort_col=Campaign.created_at),
            statuses=status_labels(),
            switches=builtins.switches(store) if store else None,
            builtin_labels={k: builtins.SPECS[k]["label"] for k in BUILTINS},
        )

    @expose("/builtin", methods=["POST"])
    def builtin(self):
        """Switch a built-in campaign on or off for the manager's store."""
        me = _me()
        key = request.form.get("key", "")
        store = db.session.get(Store, me.store_id) if me.store_id else None
        if store is None or key not in BUILTINS:
            flash(_("Only a store's manager switches its built-in campaigns."), "error")
            return redirect(url_for(".index"), code=303)
        builtins.switch(me, store, key, request.form.get("on") == "1")
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for(".index"), code=303)

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        """Write a draft campaign for one of the store's segments."""
        me = _me()
        choices = _segment_choices(me, _segment_query())
        form = {
            "holdout_pct": "10",
            "variant_b_pct": "0",
            "window_days": "14",
            "cost": "0",
            "offer_kind": "amount",
        }
        if request.method == "POST":
            form = {k: (v or "")[:4000] for k, v in request.form.items()}
            try:
                campaign = campaigns.create_campaign(me, _draft(me, form))
                coupon = offer_draft(form)
                if coupon is not None:
                    offer = campaign_offers.make_offer(campaign.store, coupon)
                    campaign_offers.attach(campaign, offer)
            except DomainError as exc:
                db.session.rollback()
                return self._new_page(choices, form, exc), 422
            db.session.commit()
            return redirect(url_for(".show", campaign_id=campaign.id), code=303)
        return self._new_page(choices, form)

    def _new_page(self, choices, form, error=None):
        return self.render(
            "admin/campaigns/campaign_new.html",
            segments=choices[:SEGMENT_CHOICES],
            more_segments=len(choices) > SEGMENT_CHOICES,
            segment_limit=SEGMENT_CHOICES,
            q=_segment_query(),
            form=form,
            error=error,
            channels=MARKETING_CHANNELS,
            channel_labels=channel_labels(),
            available=campaigns.available_channels(),
        )

    @expose("/<int:campaign_id>")
    def show(self, campaign_id: int):
        campaign = _record(Campaign, campaign_id)
        result = returns.measure(campaign)
        progress = campaign_sending.progress(campaign)
        steps = campaign_responses.funnel(
            campaign, progress, result.reached.revenue_fen if result else 0
        )
        return self.render(
            "admin/campaigns/campaign.html",
            c=campaign,
            progress=progress,
            steps=steps,
            funnel_chart=_funnel_chart(steps),
            result=result,
            coupons=campaign_offers.report(campaign),
            worth=coupon_worth,
            statuses=status_labels(),
            channel_labels=channel_labels(),
            chart_rows=_chart_rows(result),
        )

    @expose("/<int:campaign_id>/progress")
    def progress(self, campaign_id: int):
        """The progress bar, polled while the campaign sends."""
        campaign = _record(Campaign, campaign_id)
        return self.render(
            "admin/campaigns/_progress.html",
            c=campaign,
            progress=campaign_sending.progress(campaign),
            statuses=status_labels(),
        )

    @expose("/<int:campaign_id>/act", methods=["POST"])
    def act(self, campaign_id: int):
        """Send now or at a time (store's zone), cancel that schedule, pause or resume."""
        from admin.calls import parse_local  # admin.calls imports this module

        campaign = _record(Campaign, campaign_id)
        verb = request.form.get("verb", "")
        steps = {
            "send": lambda: campaigns.start(_me(), campaign),
            "pause": lambda: campaign_schedule.pause(campaign),
            "resume": lambda: campaign_schedule.resume(campaign),
            "schedule": lambda: campaign_schedule.schedule(
                campaign, parse_local(request.form.get("send_at"), campaign.store.timezone)
            ),
            "unschedule": lambda: campaign_schedule.unschedule(campaign),
        }
        try:
            if verb not in steps:
                raise ValidationError(_("Unknown step."))
            steps[verb]()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
        return redirect(url_for(".show", campaign_id=campaign_id), code=303)


def _number(form: dict, key: str, low: int, high: int, message: str) -> int:
    value = int_arg(form.get(key), minimum=low, maximum=high)
    if value is None:
        raise ValidationError(message, field=key)
    return value


def _yuan(form: dict, key: str) -> int:
    try:
        return parse_yuan(form.get(key) or "0", max_fen=10**10)
    except MoneyError as exc:
        raise ValidationError(_(str(exc)), field=key) from exc


def _draft(me: User, form: dict) -> campaigns.Draft:
    segment_id = int_arg(form.get("segment"), minimum=1)
    segment = db.session.get(Segment, segment_id) if segment_id else None
    if segment is None or not access.in_store(me, segment.store_id):
        raise ValidationError(_("Choose a segment."), field="segment")
    texts, texts_b, costs = {}, {}, {}
    parts = ("subject_zh", "body_zh", "subject_en", "body_en")
    for channel in MARKETING_CHANNELS:
        texts[channel] = {part: (form.get(f"{channel}-{part}") or "").strip() for part in parts}
        texts_b[channel] = {part: (form.get(f"{channel}-b-{part}") or "").strip() for part in parts}
        costs[channel] = _yuan(form, f"{channel}-cost")
    return campaigns.Draft(
        name=form.get("name", ""),
        segment=segment,
        texts=texts,
        texts_b=texts_b,
        variant_b_pct=_number(  # no A/B test when the field is left empty
            {**form, "variant_b_pct": form.get("variant_b_pct") or "0"},
            "variant_b_pct",
            0,
            90,
            _("Variant B's share is 0 to 90 %."),
        ),
        unit_costs=costs,
        holdout_pct=_number(form, "holdout_pct", 0, 50, _("The holdout is 0 to 50 %.")),
        window_days=_number(form, "window_days", 1, 180, _("The window is 1 to 180 days.")),
        cost_fen=_yuan(form, "cost"),
    )


def _chart_rows(result) -> list[tuple[str, float | None]]:
    if result is None:
        return []
    ab = result.comparison
    reached = (
        [(_("Variant A"), round(ab.a.rate * 100, 1)), (_("Variant B"), round(ab.b.rate * 100, 1))]
        if ab
        else [(_("Reached group"), round(result.reached.rate * 100, 1))]
    )
    return [*reached, (_("Holdout"), round(result.holdout.rate * 100, 1))]


def _funnel_chart(steps: campaign_responses.Funnel):
    return charts.funnel(
        [
            (_("Messages sent"), steps.sent),
            (_("Messages delivered"), steps.delivered),
            (_("Clicked"), steps.clicked),
            (_("Replied"), steps.replied),
            (_("Leads"), steps.leads),
            (_("Bookings"), steps.bookings),
        ],
        chart_id="campaign-funnel-chart",
        title=_("Responses to the campaign"),
    )
