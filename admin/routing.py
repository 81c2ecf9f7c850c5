"""Back office: the store's duty roster and lead routing rules (the store's managers)."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.base import StaffView
from crm import leads as lead_svc
from crm import roster
from crm.models import SOURCES
from crm.routing import active_advisors
from portal.auth import current_account
from portal.errors import NotAllowed, NotFound
from portal.inputs import int_arg
from portal.outcome import flash_outcome


class RoutingView(StaffView):
    """Who is on duty when, and which leads go to whom before the round robin."""

    @expose("/")
    def index(self):
        me = current_account()
        if me.store_id is None:
            abort(404)
        return self.render(
            "admin/crm/routing.html",
            shifts=roster.shifts(me.store_id),
            rules=roster.rules(me.store_id),
            advisors=active_advisors(me.store_id),
            weekdays=roster.WEEKDAY_LABELS,
            sources=SOURCES,
            source_labels=lead_svc.SOURCE_LABELS,
        )

    @expose("/shifts", methods=["POST"])
    def shift_add(self):
        """Add a shift to the roster."""
        form = request.form
        with flash_outcome(_("Shift added.")):
            roster.add_shift(
                current_account(),
                int_arg(form.get("advisor"), minimum=1),
                int_arg(form.get("weekday")),
                roster.clock_minutes(form.get("start")),
                roster.clock_minutes(form.get("end")),
            )
        return redirect(url_for(".index"), code=303)

    @expose("/shifts/<int:shift_id>/delete", methods=["POST"])
    def shift_delete(self, shift_id: int):
        """Remove a shift from the roster."""
        try:
            with flash_outcome(_("Shift removed."), catch=NotAllowed):
                roster.remove_shift(current_account(), shift_id)
        except NotFound:
            abort(404)
        return redirect(url_for(".index"), code=303)

    @expose("/rules", methods=["POST"])
    def rule_add(self):
        """Add a routing rule at the end of the list."""
        form = request.form
        with flash_outcome(_("Routing rule added.")):
            roster.add_rule(
                current_account(),
                int_arg(form.get("advisor"), minimum=1),
                form.get("source", ""),
                form.get("model", ""),
                form.get("language", ""),
            )
        return redirect(url_for(".index"), code=303)

    @expose("/rules/<int:rule_id>/delete", methods=["POST"])
    def rule_delete(self, rule_id: int):
        """Delete a routing rule."""
        try:
            with flash_outcome(_("Routing rule removed."), catch=NotAllowed):
                roster.remove_rule(current_account(), rule_id)
        except NotFound:
            abort(404)
        return redirect(url_for(".index"), code=303)
