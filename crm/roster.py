"""The store's duty roster and routing rules: managers add and remove shifts and rules."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.models import SOURCES
from crm.staffing_models import DutyShift, RoutingRule
from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADVISOR, MANAGER
from portal.services import audit

WEEKDAY_LABELS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
MAX_RULES = 50


def _require_manager(actor: User) -> int:
    if actor.role != MANAGER or not actor.is_active or actor.store_id is None:
        raise NotAllowed(_("Only the store's managers change the duty roster and rules."))
    return actor.store_id


def _advisor(store_id: int, advisor_id: int | None) -> User:
    advisor = db.session.get(User, advisor_id) if advisor_id else None
    if (
        advisor is None
        or advisor.role != ADVISOR
        or not advisor.is_active
        or advisor.store_id != store_id
    ):
        raise ValidationError(_("Choose an active advisor of this store."), field="advisor")
    return advisor


def shifts(store_id: int) -> list[DutyShift]:
    """Return the store's shifts by weekday, start and advisor."""
    return list(
        db.session.scalars(
            select(DutyShift)
            .where(DutyShift.store_id == store_id)
            .order_by(DutyShift.weekday, DutyShift.start_minute, DutyShift.advisor_id)
        )
    )


def rules(store_id: int) -> list[RoutingRule]:
    """Return the store's routing rules in the order they are tried."""
    return list(
        db.session.scalars(
            select(RoutingRule)
            .where(RoutingRule.store_id == store_id)
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


def add_shift(
    actor: User, advisor_id: int | None, weekday: int | None, start: int | None, end: int | None
) -> DutyShift:
    """Put an advisor on duty on a weekday from one minute of the day to a later one."""
    store_id = _require_manager(actor)
    advisor = _advisor(store_id, advisor_id)
    if weekday is None or not 0 <= weekday <= 6:
        raise ValidationError(_("Choose a day of the week."), field="weekday")
    if start is None or end is None or not 0 <= start < end <= 1440:
        raise ValidationError(_("A shift starts before it ends, within one day."), field="start")
    overlap = db.session.scalar(
        select(DutyShift.id).where(
            DutyShift.advisor_id == advisor.id,
            DutyShift.weekday == weekday,
            DutyShift.start_minute < end,
            DutyShift.end_minute > start,
        )
    )
    if overlap is not None:
        raise ValidationError(_("This advisor already has a shift at that time."), field="start")
    shift = DutyShift(
        store_id=store_id,
        advisor_id=advisor.id,
        weekday=weekday,
        start_minute=start,
        end_minute=end,
    )
    db.session.add(shift)
    db.session.flush()
    audit.record("duty_shift_added", actor=actor, target=shift, advisor_id=advisor.id)
    return shift


def remove_shift(actor: User, shift_id: int) -> None:
    """Take a shift off the store's roster."""
    _require_manager(actor)
    shift = access.store_record(actor, DutyShift, shift_id, _("Shift not found."))
    audit.record("duty_shift_removed", actor=actor, target=shift, advisor_id=shift.advisor_id)
    db.session.delete(shift)


LANGUAGES = ("zh_CN", "en")  # a rule's customer language ("" for any)


def add_rule(
    actor: User, advisor_id: int | None, source: str, model_contains: str, language: str = ""
) -> RoutingRule:
    """Add a rule at the end of the store's list: such leads go to this advisor."""
    store_id = _require_manager(actor)
    advisor = _advisor(store_id, advisor_id)
    source = (source or "").strip()
    model = (model_contains or "").strip()[:40]
    if source and source not in SOURCES:
        raise ValidationError(_("Choose where the lead came from."), field="source")
    language = (language or "").strip()
    if language and language not in LANGUAGES:
        raise ValidationError(_("Choose the customer's language."), field="language")
    if not source and not model and not language:
        raise ValidationError(
            _("A rule names a source, a model line, a language or several."), field="model"
        )
    count, last = db.session.execute(
        select(func.count(RoutingRule.id), func.max(RoutingRule.position)).where(
            RoutingRule.store_id == store_id
        )
    ).one()
    if count >= MAX_RULES:
        raise ValidationError(_("A store keeps at most 50 routing rules."), field="model")
    rule = RoutingRule(
        store_id=store_id,
        position=(last or 0) + 1,
        source=source,
        model_contains=model,
        language=language,
        advisor_id=advisor.id,
    )
    db.session.add(rule)
    db.session.flush()
    audit.record("routing_rule_added", actor=actor, target=rule, advisor_id=advisor.id)
    return rule


def remove_rule(actor: User, rule_id: int) -> None:
    """Delete one of the store's routing rules."""
    _require_manager(actor)
    rule = access.store_record(actor, RoutingRule, rule_id, _("Rule not found."))
    audit.record("routing_rule_removed", actor=actor, target=rule, advisor_id=rule.advisor_id)
    db.session.delete(rule)


def clock_minutes(raw: str | None) -> int | None:
    """Return "HH:MM" as minutes after midnight ("24:00" is 1440), else None."""
    text = (raw or "").strip()
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        return None
    hours, mins = int(text[:2]), int(text[3:])
    if mins > 59 or hours > 24 or (hours == 24 and mins):
        return None
    return hours * 60 + mins
