"""Merging two customer records that are the same person: a manager's verb, in one transaction.

Every row that belongs to the merged customer moves to the survivor, table by table, with one
UPDATE each. A row whose move would break a UNIQUE rule (a consent of the same channel, a cart,
a campaign already sent) stays with the merged record, and the merge record says so. Both
customers' rows are locked first, in id order (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
write lock), and ``crm_customer_merges`` has the merged id as its key: two managers merging at
once, or A into B while B goes into C, end in one consistent result. The merged account is
closed but kept, its number still leads to the survivor, and its page redirects there."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from crm import relations
from crm.models import ACTIVE_STATES, Lead
from crm.staffing_models import CustomerMerge
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import OWNER
from portal.models.base import Base
from portal.services import audit, sessions
from portal.timeutil import now

# (table, column, columns that must stay unique beside it): the customer's rows that move.
MOVES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("vehicles", "owner_id", ()),
    ("bookings", "owner_id", ()),
    ("ratings", "owner_id", ()),
    ("rescues", "owner_id", ("idempotency_key",)),
    ("used_car_requests", "owner_id", ()),
    ("images", "owner_id", ()),
    ("loans", "customer_id", ()),
    ("insurance_policies", "customer_id", ()),
    ("shop_orders", "user_id", ()),
    ("shop_carts", "user_id", ()),
    ("shop_coupons", "owner_id", ("offer_id",)),  # one per offer: the survivor's stays
    ("crm_leads", "customer_id", ()),
    ("crm_tasks", "customer_id", ()),
    ("crm_orders", "customer_id", ()),
    ("crm_campaign_members", "customer_id", ("campaign_id",)),
    ("crm_campaign_sends", "customer_id", ("campaign_id", "channel")),
    ("crm_campaign_responses", "customer_id", ()),
    ("marketing_consents", "user_id", ("channel",)),
    ("consent_records", "user_id", ("kind", "policy_id")),  # one acceptance per version
    ("crm_complaints", "customer_id", ()),
    ("crm_surveys", "customer_id", ()),
    ("crm_invitations", "customer_id", ()),
    ("channel_preferences", "user_id", ("kind",)),
    ("wechat_bindings", "user_id", ()),
    ("notifications", "user_id", ()),
    ("video_sessions", "viewer_id", ("booking_id",)),
    ("video_follow_ups", "owner_id", ()),
    ("usedcar_events", "recipient_id", ()),
    ("outbox_messages", "user_id", ()),
    ("users", "referred_by_id", ()),
    ("crm_customer_profiles", "customer_id", ()),
    ("crm_customer_tags", "customer_id", ("tag_id",)),
    ("crm_customer_relations", "low_id", ()),  # both sides move together: crm.relations.move
    ("crm_customer_relations", "high_id", ()),
)
# The copy of the customer's store a moving row carries (kept equal by a foreign key to
# users (id, store_id)): it takes the survivor's.
OWNERS_STORE = {"vehicles": "store_id", "crm_leads": "customer_store_id"}
ONE_PER_USER = {
    "shop_carts",
    "wechat_bindings",
    "crm_customer_profiles",
}  # the survivor keeps theirs if they have one
# Columns that point at users but are not the customer's belongings: who acted, who served,
# and the merged account's own sign-in records (closed with it). tests/crm/test_merge.py checks
# that every foreign key to users is named in MOVES or here, so a new table is decided on.
STAYS: frozenset[str] = frozenset(
    {
        *"advisor_profiles.user_id api_tokens.created_by_id audit_events.actor_id".split(),
        *"booking_events.actor_id bookings.advisor_id crm_builtin_campaigns.changed_by_id".split(),
        *"crm_campaigns.created_by_id crm_lead_events.actor_id crm_leads.advisor_id".split(),
        *"crm_orders.advisor_id crm_quotes.decided_by_id crm_quotes.author_id".split(),
        *"crm_screen_pops.agent_id crm_segments.created_by_id crm_tasks.decided_by_id".split(),
        *"crm_tasks.asked_by_id crm_tasks.owner_id crm_test_drives.advisor_id".split(),
        *"crm_test_drives.licence_checked_by_id inspections.inspector_id".split(),
        *"inspections.sent_by_id insurance_policies.created_by_id loans.created_by_id".split(),
        # the technician who finished an inspection; the staff member who uploaded a clip
        *"inspections.finished_by_id inspection_clips.uploaded_by_id".split(),
        *"login_sessions.user_id notice_recipients.advisor_id notices.author_id".split(),
        *"password_history.user_id password_reset_tokens.user_id ratings.advisor_id".split(),
        *"recent_login_failures.user_id rescue_events.actor_id rescues.advisor_id".split(),
        *"service_records.advisor_id shop_refunds.actor_id shop_stock_moves.actor_id".split(),
        *"sms_login_codes.user_id staff_devices.user_id staff_totp.user_id".split(),
        *"totp_recovery_codes.user_id unlock_approvals.approver_id unlock_requests.user_id".split(),
        *"unlock_requests.resolved_by_id used_car_flags.resolved_by_id".split(),
        *"used_car_leads.advisor_id used_car_requests.expert_id".split(),
        *"used_car_transitions.actor_id users.advisor_id video_follow_ups.staff_id".split(),
        *"video_sessions.assigned_by_id crm_customer_merges.merged_id".split(),
        *"crm_customer_merges.survivor_id crm_customer_merges.actor_id".split(),
        *"crm_duty_shifts.advisor_id crm_routing_rules.advisor_id".split(),
        *"crm_task_escalations.from_id crm_task_escalations.to_id".split(),
        # who asked for an export; who added a webhook endpoint; a car's store follows its owner
        *"export_jobs.user_id webhook_endpoints.created_by_id vehicles.store_id".split(),
        "crm_leads.customer_store_id",  # a lead's copy of its customer's store follows them
        *"consent_records.recorded_by_id privacy_policies.published_by_id".split(),
        *"crm_complaints.entered_by_id crm_complaints.technician_id".split(),
        *"crm_complaints.advisor_id crm_surveys.advisor_id".split(),
        # the workshop's technicians on a job, on its labour lines and on the service items
        *"booking_technicians.technician_id job_labour_lines.technician_id".split(),
        *"job_labour_lines.added_by_id job_part_lines.added_by_id".split(),
        "service_items.technician_id",
        *"crm_call_logs.actor_id crm_invitations.agent_id crm_invitations.advisor_id".split(),
        *"crm_invitations.checked_in_by_id crm_delivery_checks.done_by_id".split(),
        *"crm_customer_profiles.updated_by_id crm_customer_relations.created_by_id".split(),
        "shop_scheduled_prices.actor_id",  # who scheduled a price list
        "import_jobs.user_id",  # who applied an import
        "crm_recall_lists.created_by_id",  # who uploaded a recall's VINs
        # a customer's value is derived, recomputed nightly: the survivor's next run counts the
        # moved visits and orders, and the merged (closed) account drops out of the table
        "crm_customer_values.customer_id",
    }
)


@dataclass
class Preview:
    """Both records side by side: what each holds, and what would stop the merge."""

    survivor: User
    merged: User
    survivor_counts: dict[str, int]
    merged_counts: dict[str, int]
    problem: str = ""


def is_manager(user: User) -> bool:
    """Return whether the user may merge customers (an active manager or admin)."""
    return user.is_active and user.role in ("manager", "admin")


def resolve(customer_id: int) -> int:
    """Return the id of the record that stands for this one now (itself unless merged)."""
    seen = {customer_id}
    current = customer_id
    while True:
        nxt = db.session.scalar(
            select(CustomerMerge.survivor_id).where(CustomerMerge.merged_id == current)
        )
        if nxt is None or nxt in seen:
            return current
        seen.add(nxt)
        current = nxt


# A link between two customers is one row, whichever side this customer is on: the preview
# counts both sides as one kind.
SAME_KIND = {"crm_customer_relations.high_id": "crm_customer_relations.low_id"}


def holdings(customer_id: int) -> dict[str, int]:
    """Return how many rows of each moving kind point at this customer (for the preview)."""
    counts: dict[str, int] = {}
    for table_name, column, _keys in MOVES:
        table = Base.metadata.tables[table_name]
        n = db.session.scalar(
            select(func.count()).select_from(table).where(table.c[column] == customer_id)
        )
        if n:
            key = f"{table_name}.{column}"
            key = SAME_KIND.get(key, key)
            counts[key] = counts.get(key, 0) + n
    return counts


def preview(actor: User, survivor: User, merged: User) -> Preview:
    """Return both records' holdings and the reason the merge cannot go ahead, if any."""
    _check_actor(actor)
    problem = ""
    try:
        _check_pair(survivor, merged)
    except (ValidationError, Conflict) as exc:
        problem = exc.message
    return Preview(survivor, merged, holdings(survivor.id), holdings(merged.id), problem)


def merge(actor: User, survivor: User, merged: User) -> CustomerMerge:
    """Fold the merged customer into the survivor: everything moves, the merge is recorded."""
    _check_actor(actor)
    if survivor.id == merged.id:
        raise ValidationError(_("Choose two different customers to merge."), field="merged")
    first, second = sorted((survivor.id, merged.id))
    for user_id in (first, second):  # one order for everyone: no deadlock between merges
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    db.session.refresh(survivor)
    db.session.refresh(merged)
    _check_pair(survivor, merged)
    record = CustomerMerge(
        merged_id=merged.id, survivor_id=survivor.id, actor_id=actor.id, at=now(), moved={}
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError as exc:
        raise Conflict(_("This customer has just been merged by someone else.")) from exc
    moved, stayed = _move_rows(survivor.id, merged.id)
    _fill_identity(survivor, merged)
    merged.is_active = False
    sessions.revoke_all(merged)
    record.moved = {"moved": moved, "stayed": stayed}
    audit.record(
        "customers_merged",
        actor=actor,
        target=survivor,
        store_id=actor.store_id,
        merged_id=merged.id,
        moved=moved,
        stayed=stayed or None,
    )
    db.session.flush()
    return record


def _check_actor(actor: User) -> None:
    if not is_manager(actor):
        raise NotAllowed(_("Only a manager may merge customer records."))


def _check_pair(survivor: User, merged: User) -> None:
    if survivor.id == merged.id:
        raise ValidationError(_("Choose two different customers to merge."), field="merged")
    if survivor.role != OWNER or merged.role != OWNER:
        raise ValidationError(_("Only customer records can be merged."), field="merged")
    done = db.session.scalar(
        select(func.count())
        .select_from(CustomerMerge)
        .where(CustomerMerge.merged_id.in_((survivor.id, merged.id)))
    )
    if done:
        raise Conflict(_("One of these records has already been merged into another."))
    clash = db.session.scalar(
        select(Lead.store_id)
        .where(Lead.customer_id == merged.id, Lead.state.in_(ACTIVE_STATES))
        .where(
            Lead.store_id.in_(
                select(Lead.store_id).where(
                    Lead.customer_id == survivor.id, Lead.state.in_(ACTIVE_STATES)
                )
            )
        )
        .limit(1)
    )
    if clash is not None:
        raise ValidationError(
            _("Both customers have an open lead at the same store: close one of them first."),
            field="merged",
        )


def _move_rows(survivor_id: int, merged_id: int) -> tuple[dict[str, int], dict[str, int]]:
    moved: dict[str, int] = {}
    stayed: dict[str, int] = {}
    for table_name, column, keys in MOVES:
        if table_name == "crm_customer_relations":
            if column == "low_id":  # a pair is kept lower id first: moved row by row
                _count(
                    moved, stayed, f"{table_name}.{column}", *relations.move(survivor_id, merged_id)
                )
            continue
        table = Base.metadata.tables[table_name]
        col = table.c[column]
        stmt = update(table).where(col == merged_id)
        if keys or table_name in ONE_PER_USER:
            twin = table.alias("twin")
            same = [twin.c[column] == survivor_id, *(twin.c[k] == table.c[k] for k in keys)]
            stmt = stmt.where(~exists().where(and_(*same)))
        values = {column: survivor_id}
        if table_name in OWNERS_STORE:  # a composite foreign key: the owner's store moves too
            values[OWNERS_STORE[table_name]] = (
                select(User.store_id).where(User.id == survivor_id).scalar_subquery()
            )
        n = db.session.execute(
            stmt.values(values).execution_options(synchronize_session=False)
        ).rowcount
        if n:
            moved[f"{table_name}.{column}"] = n
        left = db.session.scalar(select(func.count()).select_from(table).where(col == merged_id))
        if left and table_name != "users":
            stayed[f"{table_name}.{column}"] = left
    db.session.expire_all()
    return moved, stayed


def _count(moved: dict, stayed: dict, key: str, n_moved: int, n_stayed: int) -> None:
    if n_moved:
        moved[key] = n_moved
    if n_stayed:
        stayed[key] = n_stayed


def _fill_identity(survivor: User, merged: User) -> None:
    """Give the survivor what only the merged record knew: email, advisor, referrer."""
    if survivor.email is None and merged.email is not None:
        survivor_email, merged.email = merged.email, None
        db.session.flush()  # the email is UNIQUE: free it before the survivor takes it
        survivor.email = survivor_email
    if survivor.advisor_id is None:
        survivor.advisor_id = merged.advisor_id
    if survivor.referred_by_id is None and merged.referred_by_id != survivor.id:
        survivor.referred_by_id = merged.referred_by_id
