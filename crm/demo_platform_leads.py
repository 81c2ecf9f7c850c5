"""Demo platform leads: yesterday's Autohome export for the demo store (the back office's demo
imports it through an import job: admin/demo_imports.py)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from portal.models import Store
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


def demo_table(store: Store) -> list[list[str]]:
    """Return yesterday's Autohome export for the store, as the file's rows of text."""
    zone = ZoneInfo(store.timezone)
    return [HEADER] + [
        [lead_id, name, phone, series, city, _local(hours, zone), when, note]
        for lead_id, name, phone, series, city, hours, when, note in ROWS
    ]


def _local(hours: int, zone: ZoneInfo) -> str:
    return (now() - timedelta(hours=hours)).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
