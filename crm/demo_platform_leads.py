"""Demo platform leads: yesterday's Autohome export, imported into the demo store (idempotent:
the platform's lead ids are skipped the second time)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm import lead_import
from crm.models import AUTOHOME
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import MANAGER
from portal.timeutil import now

HEADER = [
    "线索ID",
    "客户姓名",
    "手机号",
    "意向车系",
    "城市",
    "线索创建时间",
    "预计购车时间",
    "备注",
]
ROWS = [  # (lead id, name, phone, series, city, hours before now, timeframe, note)
    ("AH-DEMO-0001", "欧阳先生", "13600008801", "汉EV", "深圳", 20, "1个月内", "想了解置换补贴"),
    ("AH-DEMO-0002", "林女士", "13600008802", "宋PLUS", "东莞", 15, "一周内", "周末到店看车"),
    ("AH-DEMO-0003", "黄先生", "13600008803", "海豹", "深圳", 3, "3个月内", ""),
]


def load_platform_leads_demo() -> dict[str, int]:
    """Import a small Autohome export into the demo manager's store, as the manager."""
    boss = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    if boss is None or boss.store_id is None:
        return {"rows": 0}
    store = db.session.get(Store, boss.store_id)
    zone = ZoneInfo(store.timezone)
    table = [HEADER] + [
        [lead_id, name, phone, series, city, _local(hours, zone), when, note]
        for lead_id, name, phone, series, city, hours, when, note in ROWS
    ]
    return lead_import.apply_rows(table, store, AUTOHOME, boss)


def _local(hours: int, zone: ZoneInfo) -> str:
    return (now() - timedelta(hours=hours)).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
