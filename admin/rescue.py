"""Back office for roadside rescue: the live queue, escalation, reassignment and timings."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin.base import StaffView
from admin.charts import hbar
from admin.list_pages import chosen_store, store_choices
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Rescue, User
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.services import rescue as svc
from portal.timeutil import now

STATS_DAYS = 30
# The queue shows the most urgent open rescues; the count says how many are open in all.
RESCUES_SHOWN = 50


def _store_id() -> int | None:
    return access.store_filter(current_user)


def _advisors(store_ids: set[int]) -> dict[int, list[User]]:
    """Return the active advisors and managers of each of these stores, in one query."""
    of_store: dict[int, list[User]] = {store_id: [] for store_id in store_ids}
    if store_ids:
        for user in db.session.scalars(
            select(User)
            .where(
                User.store_id.in_(sorted(store_ids)),
                User.role.in_((ADVISOR, MANAGER)),
                User.is_active.is_(True),
            )
            .order_by(User.name, User.id)
        ):
            of_store[user.store_id].append(user)
    return of_store


def _reassign(staff: User, rescue: Rescue, form) -> None:
    advisor = db.session.get(User, int_arg(form.get("advisor"), minimum=1) or 0)
    if advisor is None:
        abort(400)
    svc.reassign(staff, rescue, advisor)


# The queue's actions: each takes (staff, rescue, form) and calls one service verb.
_STEPS = {
    "claim": lambda s, r, f: svc.claim(s, r),
    "dispatch": lambda s, r, f: svc.dispatch(s, r, int_arg(f.get("eta")), f.get("note", "")),
    "eta": lambda s, r, f: svc.update_eta(s, r, int_arg(f.get("eta")), f.get("note", "")),
    "on_site": lambda s, r, f: svc.arrive(s, r),
    "resolve": lambda s, r, f: svc.resolve(s, r, f.get("note", "")),
    "reassign": _reassign,
}


def _ctx(rescues: list[Rescue]) -> dict:
    at = now()
    can_reassign = current_user.role in (MANAGER, ADMIN)
    # Only those who reassign see the advisors' list: read it once for the stores shown.
    advisors = _advisors({r.store_id for r in rescues}) if can_reassign else {}
    return {
        "svc": svc,
        "now": at,
        "age": lambda r: int((at - r.created_at).total_seconds() // 60),
        "eta_in": lambda r: (
            max(int((r.eta_at - at).total_seconds() // 60), 0) if r.eta_at else None
        ),
        "advisors": lambda store_id: advisors.get(store_id, []),
        "can_reassign": can_reassign,
    }


def _queue() -> dict:
    """The most urgent open rescues (unclaimed first, oldest first) and how many are open."""
    store_id = _store_id()
    rescues = svc.open_rescues(store_id, limit=RESCUES_SHOWN)
    return {"rescues": rescues, "ctx": _ctx(rescues), "open_count": svc.open_count(store_id)}


class RescueQueueView(StaffView):
    """Open rescues of the store, oldest first; overdue ones are highlighted for the manager."""

    @expose("/")
    def index(self):
        return self.render("admin/rescue/queue.html", **_queue())

    @expose("/items")
    def items(self):
        """Return the live list (polled by htmx)."""
        return self.render("admin/rescue/_rescue_list.html", **_queue())

    @expose("/<int:rescue_id>/act", methods=["POST"])
    def act(self, rescue_id: int):
        """Claim, dispatch, update the ETA, mark on site, resolve or reassign a rescue."""
        staff = current_account()
        rescue = svc.store_rescue(staff, rescue_id)
        step = _STEPS.get(request.form.get("action", ""))
        if step is None:
            abort(400)
        try:
            step(staff, rescue, request.form)
        except DomainError as exc:
            db.session.rollback()
            rescue = svc.store_rescue(staff, rescue_id)
            if is_htmx():
                return self.render(
                    "admin/rescue/_rescue_item.html",
                    r=rescue,
                    ctx=_ctx([rescue]),
                    error=exc.message,
                ), 409 if exc.status == 409 else 422
            flash(_("Rescue #%(id)d: %(msg)s", id=rescue_id, msg=exc.message), "error")
            return redirect(url_for(".index"), code=303)
        db.session.commit()
        if is_htmx():
            return self.render(
                "admin/rescue/_rescue_item.html", r=rescue, ctx=_ctx([rescue]), error=None
            )
        flash(
            _("Rescue #%(id)d: %(status)s", id=rescue.id, status=svc.status_label(rescue.status)),
            "success",
        )
        return redirect(url_for(".index") + f"#rescue-{rescue_id}", code=303)


def advisor_timings(store_id: int | None, days: int = STATS_DAYS) -> list[dict]:
    """Return per advisor: rescues, average minutes to claim and to resolve (last `days`)."""
    # The advisor's name comes in the same statement: one lazy load per advisor made the
    # group's page run 400+ statements.
    stmt = (
        select(
            Rescue.advisor_id, User.name, Rescue.created_at, Rescue.claimed_at, Rescue.resolved_at
        )
        .join(User, User.id == Rescue.advisor_id)
        .where(Rescue.created_at >= now() - timedelta(days=days))
    )
    if store_id is not None:
        stmt = stmt.where(Rescue.store_id == store_id)
    per: dict[int, dict] = {}
    for advisor_id, name, created_at, claimed_at, resolved_at in db.session.execute(stmt):
        row = per.setdefault(advisor_id, {"name": name, "claim": [], "resolve": []})
        if claimed_at:
            row["claim"].append((claimed_at - created_at).total_seconds() / 60)
        if resolved_at:
            row["resolve"].append((resolved_at - created_at).total_seconds() / 60)
    out = []
    for row in per.values():
        out.append(
            {
                "name": row["name"],
                "count": len(row["claim"]),
                "claim": sum(row["claim"]) / len(row["claim"]) if row["claim"] else None,
                "resolve": sum(row["resolve"]) / len(row["resolve"]) if row["resolve"] else None,
            }
        )
    return sorted(out, key=lambda x: x["name"])


class RescueStatsView(StaffView):
    """Per advisor, time to claim and time to resolve, as bar charts (managers)."""

    @expose("/")
    def index(self):
        # Those who see every store see one store's advisors at a time (?store=, the first
        # store by default): the group's 400+ advisors made two charts nobody can read.
        stores = store_choices()
        store_id = chosen_store(stores) or (stores[0][0] if stores else None)
        rows = advisor_timings(store_id if stores else _store_id())
        minutes = _("min")
        charts = []
        for key, title in (
            ("claim", _("Average time to claim")),
            ("resolve", _("Average time to resolve")),
        ):
            chart = hbar(
                [(r["name"], r[key]) for r in rows],
                chart_id=f"rescue-{key}",
                title=title,
                fmt=lambda v: f"{v:.1f} {minutes}",
            )
            charts.append((title, chart))
        return self.render(
            "admin/rescue/stats.html",
            rows=rows,
            charts=charts,
            days=STATS_DAYS,
            pick_stores=stores,
            store_id=store_id,
        )
