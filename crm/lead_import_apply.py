"""Applying a checked platform lead export (crm/lead_import.py): customers, leads, routing,
first-contact tasks and the kept platform ids, in the caller's transaction (all rows at once,
or a row at a time for the worker, admin/import_jobs.py)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import select

from crm import hours, routing
from crm import tasks as task_svc
from crm.customers import find_or_add
from crm.lead_import_models import PLATFORM_LABELS, PlatformLead
from crm.leads import GRADE_OF_TIMEFRAME, emit_created
from crm.models import ACTIVE_STATES, Lead, LeadEvent
from crm.models import NEW as STAGE_NEW
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Notification, Store, User
from portal.services import audit, brands
from portal.timeutil import now

if TYPE_CHECKING:
    from crm.lead_import import Row

NEW, JOINS, SKIPPED = "new", "joins", "skipped"  # what applying a good row does


def apply(rows: list[Row], store: Store, platform: str, actor: User) -> dict:
    """Import the checked rows (none has errors): skipped ids stay skipped, known customers'
    open leads are joined, the rest become routed leads; return the counts."""
    run = LeadApply(store, platform, actor)
    for row in rows:
        run.apply(row)  # a concurrent import of the same ids fails the whole file
    return run.finish()


class LeadApply:
    """One import's apply step, a row at a time (the worker commits between batches).

    A resumed job passes the owners its earlier attempts saved (advisor id -> new leads), so
    that finish() tells each advisor of every row the job gave them, whichever attempt did."""

    def __init__(
        self, store: Store, platform: str, actor: User, owners: dict[int, int] | None = None
    ) -> None:
        self.store, self.platform, self.actor = store, platform, actor
        self.at = now()
        self.due = hours.first_contact(store, self.at)  # first contact counts from the import
        self.counts: Counter[str] = Counter()
        self.owners: Counter[int] = Counter(owners or {})

    def apply(self, row: Row) -> str:
        """Apply one checked row; return what it did (NEW, JOINS or SKIPPED)."""
        outcome, advisor_id = self._apply(row)
        self.counts[outcome] += 1
        if advisor_id is not None:
            self.owners[advisor_id] += 1
        return outcome

    def _apply(self, row: Row) -> tuple[str, int | None]:
        if row.outcome == SKIPPED:
            return SKIPPED, None
        store, platform, v = self.store, self.platform, row.values
        customer, _added = find_or_add(v.get("name", ""), v["phone"], None, None, store)
        lead = _active_lead(customer.id, store.id)
        if lead is None:
            lead = _new_lead(row, customer, store, platform, self.actor, self.at, self.due)
            outcome, advisor_id = NEW, lead.advisor_id
        else:
            _join(lead, row, platform, self.actor, self.at)
            outcome, advisor_id = JOINS, None
        row.lead_id = lead.id
        db.session.add(
            PlatformLead(
                store_id=store.id,
                source=platform,
                external_id=v["lead_id"],
                lead_id=lead.id,
                submitted_at=row.submitted_at,
                imported_at=self.at,
            )
        )
        db.session.flush()  # a concurrent import of the same id fails here, before it counts
        return outcome, advisor_id

    def finish(self) -> dict:
        """Tell each owner how many imported leads are theirs, audit the import; return the
        counts."""
        for advisor_id, n in sorted(self.owners.items()):
            advisor = db.session.get(User, advisor_id) if n > 0 else None
            if advisor is None:
                continue
            with in_language_of(advisor):  # the advisor reads it, not whoever imported
                text = _("%(n)d imported leads are yours: call them first.", n=n)
            db.session.add(Notification(user_id=advisor_id, text=text, link="/admin/leads/"))
        counts = self.counts
        result = {"rows": counts.total(), "new": counts[NEW], "joined": counts[JOINS]}
        result["skipped"] = counts[SKIPPED]
        audit.record(
            "leads_imported", actor=self.actor, store_id=self.store.id, source=self.platform,
            **result,
        )  # fmt: skip
        return result


def _active_lead(customer_id: int, store_id: int) -> Lead | None:
    return db.session.scalar(
        select(Lead).where(
            Lead.customer_id == customer_id,
            Lead.store_id == store_id,
            Lead.state.in_(ACTIVE_STATES),
        )
    )


def _note(row: Row, platform: str) -> str:
    v = row.values
    parts = [
        _("%(platform)s lead %(id)s", platform=PLATFORM_LABELS[platform], id=v["lead_id"]),
        v.get("city", ""),
        v.get("timeframe", ""),
        v.get("note", ""),
    ]
    return " · ".join(p for p in parts if p)[:2000]


def _new_lead(row, customer: User, store: Store, platform: str, actor, at, due) -> Lead:
    v = row.values
    model = v.get("model", "")[:80]
    advisor = routing.route(customer, store, platform, model)
    if advisor is not None and customer.advisor_id is None:
        customer.advisor_id = advisor.id  # the advisor of record from now on
    lead = Lead(
        customer_id=customer.id,
        store_id=store.id,
        advisor_id=advisor.id if advisor else None,
        source=platform,
        utm_source=platform,
        utm_medium="platform_export",
        model_interest=model,
        brand_id=brands.asked_brand(model, store.id),
        timeframe=row.timeframe,
        grade=GRADE_OF_TIMEFRAME[row.timeframe],
        note=_note(row, platform),
        created_at=min(row.submitted_at, at),  # reports count the platform's day
        arrived_at=at,
        updated_at=at,
    )
    db.session.add(lead)
    db.session.flush()
    db.session.add(
        LeadEvent(
            lead_id=lead.id,
            kind="created",
            stage=STAGE_NEW,
            actor_id=actor.id,
            note=_("Imported from %(platform)s.", platform=PLATFORM_LABELS[platform]),
            at=lead.created_at,
        )
    )
    task_svc.first_contact(lead, due.due_at, at)
    emit_created(lead)
    return lead


def _join(lead: Lead, row, platform: str, actor: User, at) -> None:
    """Add what the platform lead says to the customer's open lead (ask nothing twice)."""
    model = row.values.get("model", "")
    if model and not lead.model_interest:
        lead.model_interest = model[:80]
        lead.brand_id = brands.asked_brand(lead.model_interest, lead.store_id)
    lead.updated_at = at
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="repeat", actor_id=actor.id, note=_note(row, platform))
    )
