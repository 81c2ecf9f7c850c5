"""Built-in campaigns a store switches on instead of building: maintenance due but not booked,
policy renewal, a return visit after 12 months away, and birthdays. The worker starts each
switched-on one once a store day, for the customers who match and were not reached by it in the
last 30 days."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from crm import campaigns
from crm.campaign_models import (
    BIRTHDAY,
    BUILTINS,
    MAINTENANCE_DUE,
    POLICY_RENEWAL,
    RETURN_VISIT,
    BuiltinCampaign,
    Campaign,
    Segment,
)
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now, to_local

SPECS = {
    MAINTENANCE_DUE: {
        "label": _l("Maintenance due but not booked"),
        "segment": "保养到期未预约 · Maintenance due, not booked",
        "rule": {
            "all": [
                {"field": "maintenance", "op": "is", "value": "due"},
                {"field": "open_booking", "op": "is", "value": False},
            ]
        },
        "subject_zh": "{name}，您的爱车该保养了",
        "body_zh": "{name}您好，您的爱车已到保养时间。现在在线预约{store}，到店不排队。",
        "subject_en": "{name}, your car is due for maintenance",
        "body_en": "Hello {name}, your car is due for maintenance. Book {store} online now "
        "and skip the queue.",
    },
    POLICY_RENEWAL: {
        "label": _l("Insurance policy expiring within 30 days"),
        "segment": "保险30天内到期 · Policy expiring in 30 days",
        "rule": {"field": "policy_expiring_days", "op": "within", "value": 30},
        "subject_zh": "{name}，您的车险快到期了",
        "body_zh": "{name}您好，您的车险将在30天内到期。{store}可为您比较各家续保报价，"
        "欢迎回复或在线预约到店办理。",
        "subject_en": "{name}, your car insurance expires soon",
        "body_en": "Hello {name}, your car insurance expires within 30 days. {store} can "
        "compare renewal quotes for you: reply, or book a visit online.",
    },
    RETURN_VISIT: {
        "label": _l("No visit for 12 months"),
        "segment": "12个月未到店 · No visit for 12 months",
        # Customers who came before (a visit in ten years) but not in the last twelve months.
        "rule": {
            "all": [
                {"field": "last_visit_days", "op": "within", "value": 3650},
                {"field": "last_visit_days", "op": "not_within", "value": 365},
                {"field": "open_booking", "op": "is", "value": False},
            ]
        },
        "subject_zh": "{name}，好久不见",
        "body_zh": "{name}您好，您已有一年没来{store}了。"
        "欢迎在线预约，我们为您的爱车做一次全面检查。",
        "subject_en": "{name}, it has been a while",
        "body_en": "Hello {name}, it has been a year since your last visit to {store}. Book "
        "online and we will give your car a thorough check.",
    },
    BIRTHDAY: {
        "label": _l("Birthday in the next 7 days"),
        "segment": "7天内生日 · Birthday within 7 days",
        "rule": {"field": "birthday_in_days", "op": "within", "value": 7},
        "subject_zh": "{name}，生日快乐",
        "body_zh": "{name}您好，{store}全体员工祝您生日快乐，出行平安！",
        "subject_en": "Happy birthday, {name}",
        "body_en": "Hello {name}, everyone at {store} wishes you a happy birthday and safe "
        "travels!",
    },
}
CHANNELS = ("inapp", "email", "sms", "wechat")


def switches(store: Store) -> dict[str, bool]:
    """Return which built-in campaigns the store has switched on."""
    rows = db.session.execute(
        select(BuiltinCampaign.key, BuiltinCampaign.enabled).where(
            BuiltinCampaign.store_id == store.id
        )
    ).all()
    found = dict(rows)
    return {key: bool(found.get(key, False)) for key in BUILTINS}


def switch(actor: User, store: Store, key: str, on: bool) -> None:
    """Switch a built-in campaign on or off for the store (flushed)."""
    if key not in BUILTINS:
        raise ValidationError("unknown built-in campaign", field="key")
    row = db.session.get(BuiltinCampaign, (store.id, key), with_for_update=True)
    if row is None:
        row = BuiltinCampaign(store_id=store.id, key=key)
        db.session.add(row)
    row.enabled, row.changed_at, row.changed_by_id = on, now(), actor.id
    db.session.flush()


def _segment(store: Store, key: str) -> Segment:
    spec = SPECS[key]
    found = db.session.scalar(
        select(Segment).where(Segment.store_id == store.id, Segment.name == spec["segment"])
    )
    if found is None:
        found = Segment(store_id=store.id, name=spec["segment"], rule=spec["rule"])
        db.session.add(found)
        db.session.flush()
    return found


def start_today(store: Store, key: str) -> Campaign | None:
    """Start today's run of a switched-on built-in campaign once (claimed by one UPDATE)."""
    today = to_local(now(), store.timezone).date().isoformat()
    claimed = db.session.execute(
        update(BuiltinCampaign)
        .where(
            BuiltinCampaign.store_id == store.id,
            BuiltinCampaign.key == key,
            BuiltinCampaign.enabled.is_(True),
            or_(BuiltinCampaign.last_run_on.is_(None), BuiltinCampaign.last_run_on != today),
        )
        .values(last_run_on=today)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    spec = SPECS[key]
    text = {k: spec[k] for k in ("subject_zh", "body_zh", "subject_en", "body_en")}
    draft = campaigns.Draft(
        name=f"{spec['segment']} {today}",
        segment=_segment(store, key),
        texts=dict.fromkeys(CHANNELS, text),
        unit_costs={"sms": 5},  # 5 fen per SMS, the usual bulk price
        holdout_pct=10,
    )
    return campaigns.start(None, campaigns.create_campaign(None, draft, builtin=key))


def run_builtins() -> int:
    """Start today's run of every switched-on built-in campaign; return how many started."""
    started = 0
    rows = db.session.execute(
        select(BuiltinCampaign.store_id, BuiltinCampaign.key).where(
            BuiltinCampaign.enabled.is_(True)
        )
    ).all()
    for store_id, key in rows:
        store = db.session.get(Store, store_id)
        if store is not None and start_today(store, key) is not None:
            started += 1
        db.session.commit()
    return started
