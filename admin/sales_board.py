"""The manager's sales board: the pipeline by stage per advisor, and the period's funnel."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from admin import charts, list_pages
from admin.base import StaffView
from admin.display import staff_zone
from crm import board
from crm.leads import LOST_REASON_LABELS, STAGE_LABELS
from crm.models import STAGES
from crm.pipeline_models import SalesSettings
from crm.test_drives import settings_for
from portal.auth import current_account
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.money import fen_from_form

SLOT_CHOICES = (30, 45, 60, 90)
LIMIT_MAX_FEN = 1_000_000_00  # a million yuan: beyond any discount


class SalesBoardView(StaffView):
    """Open leads by stage per advisor, the funnel and the actuals of a period, in store time."""

    @expose("/")
    def index(self):
        me = current_account()
        asked = request.args.get("period", "")
        span = board.period(asked, staff_zone())
        error = (
            _("Unknown period; showing this month.")
            if asked and asked not in board.PERIODS
            else None
        )
        # Those who see every store see one store's board at a time (?store=, the first store
        # by default): the group's open leads per advisor were 1.2 s at 1M and no one's board.
        stores = list_pages.store_choices()
        store_id = list_pages.chosen_store(stores) or (stores[0][0] if stores else None)
        advisors = board.store_advisors(me, store_id)
        wanted = int_arg(request.args.get("advisor"), minimum=1)
        advisor_id = wanted if any(a.id == wanted for a in advisors) else None
        reached = board.funnel(me, span, advisor_id, store_id)
        funnel_chart = charts.funnel(
            [(str(board.FUNNEL_LABELS[s]), n) for s, n in reached],
            chart_id="sales-funnel",
            title=_("Funnel of the leads received in the period"),
        )
        by_advisor = charts.hbar(
            board.orders_by_advisor(me, span, store_id),
            chart_id="orders-by-advisor",
            title=_("Orders signed per advisor"),
        )
        lost_chart = charts.hbar(
            [(str(LOST_REASON_LABELS[r]), n) for r, n in board.lost_reasons(me, span, store_id)],
            chart_id="lost-reasons",
            title=_("Leads lost per reason"),
        )
        return self.render(
            "admin/crm/board.html",
            lost_chart=lost_chart,
            error=error,
            span=span,
            periods=board.PERIODS,
            advisors=advisors,
            advisor_id=advisor_id,
            rows=board.pipeline(me, store_id),
            cards=board.cards(me, advisor_id, store_id),
            stages=STAGES[:-1],
            stage_labels=STAGE_LABELS,
            funnel_chart=funnel_chart,
            by_advisor=by_advisor,
            actuals=board.actuals(me, span, store_id),
            pick_stores=stores,
            store_id=store_id,
            settings=settings_for(me.store_id) if me.store_id else None,
            slot_choices=SLOT_CHOICES,
        )

    @expose("/settings", methods=["POST"])
    def settings(self):
        """Set the store's discount limit (above it a manager approves) and slot length."""
        me = current_account()
        target = url_for(".index")
        try:
            if not me.store_id:
                raise ValidationError(_("Only a store's manager sets its sales rules."))
            limit = fen_from_form(request.form.get("discount_limit"), max_fen=LIMIT_MAX_FEN)
            slot = int_arg(request.form.get("slot_minutes"))
            if slot not in SLOT_CHOICES:
                raise ValidationError(_("Choose a slot length."), field="slot_minutes")
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(target, code=303)
        row = db.session.get(SalesSettings, me.store_id)
        if row is None:
            try:
                with db.session.begin_nested():  # two managers saving the first time at once
                    db.session.add(SalesSettings(store_id=me.store_id))
            except IntegrityError:
                pass
            row = db.session.get(SalesSettings, me.store_id, with_for_update=True)
        row.discount_limit_fen, row.slot_minutes = limit, slot
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(target, code=303)
