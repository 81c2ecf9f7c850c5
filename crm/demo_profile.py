"""Demo customer cards: the store's tiers, and one customer with a full profile, tags and a
household (idempotent)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm import profiles, relations
from crm.profile_models import CustomerTier
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import User
from portal.models.accounts import MANAGER, OWNER
from portal.timeutil import now, to_local

TIERS = (("钻石客户", "Diamond", 1), ("金卡客户", "Gold", 2), ("普通客户", "Standard", 3))


def load_profile_demo() -> dict[str, int]:
    """Give the demo store tiers, and the demo owner a full card with two family members."""
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    owner = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[OWNER]))
    if manager is None or owner is None or manager.store_id is None:
        return {"tiers": 0}
    if db.session.scalar(select(CustomerTier.id).where(CustomerTier.store_id == manager.store_id)):
        return {"tiers": 0}
    made = [profiles.add_tier(manager, zh, en, pos) for zh, en, pos in TIERS]
    if owner.store_id != manager.store_id:
        return {"tiers": len(made)}
    profiles.save_profile(
        manager,
        owner,
        profiles.ProfileInput(
            model_interest="大众 ID.4 CROZZ",
            budget_fen=22_000_000,
            timeframe="30d",
            trade_in="2016 款大众朗逸 1.6L，约 9 万公里",
            driving="每天通勤 40 公里，周末带家人自驾；看重空间和续航",
            competitors="比亚迪宋 PLUS、丰田 bZ4X",
            notes="喜欢钓鱼和露营；孩子上小学，周六上午方便到店。",
            tier_id=made[1].id,
            tags="置换意向, 二胎家庭, 新能源",
            birthday=_birthday_in(3, 1986, owner),  # the birthday campaign greets them
        ),
    )
    family = db.session.scalars(
        select(User)
        .where(User.role == OWNER, User.store_id == owner.store_id, User.id != owner.id)
        .order_by(User.id)
        .limit(2)
    ).all()
    for n, member in enumerate(family):
        relations.add_relation(manager, owner, member, "household")
        birthday = _birthday_in(40 + 90 * n, 1988 + 25 * n, owner)
        profiles.save_profile(manager, member, profiles.ProfileInput(birthday=birthday))
    db.session.flush()
    return {"tiers": len(made), "household": len(family)}


def _birthday_in(days: int, year: int, owner: User) -> date:
    """Return a birthday in that year whose day comes round in so many days (store time)."""
    zone = owner.store.timezone if owner.store else "Asia/Shanghai"
    day = to_local(now(), zone).date() + timedelta(days=days)
    if (day.month, day.day) == (2, 29):
        day -= timedelta(days=1)
    return day.replace(year=year)
