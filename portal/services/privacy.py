"""Personal information rights (PIPL art. 45): an owner downloads everything we hold about them.

What is "about them" is read from the schema, so a table added later is exported without
editing this module: every row whose owner column (owner_id, user_id, customer_id, viewer_id,
actor_id) is the owner, then every row of a table that points at one of those rows (a
booking's events, an order's lines, a car's mileage readings), and so on down. Left out:
security internals (password history, reset and login codes, devices, TOTP), other people's
data reached through the owner's rows (the buyers who asked about their used car), rows of
parents that are not theirs (stores, products), and columns that hold secrets or bytes
(hashes, tokens, keys, image data).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import LargeBinary, Table, or_, select

from portal.extensions import db
from portal.models import Base, User
from portal.timeutil import now

# Columns that say "this row is the person's own" when they hold the person's id.
OWNER_COLUMNS = ("owner_id", "user_id", "customer_id", "viewer_id", "actor_id")
# Never exported: security internals, other people's data, provider payloads.
SKIP_TABLES = frozenset({
    "password_history", "password_reset_tokens", "sms_login_codes", "channel_tokens",
    "staff_devices", "staff_totp", "totp_recovery_codes", "recent_login_failures",
    "unlock_requests", "unlock_approvals", "advisor_profiles", "notice_recipients",
    "outbox_messages", "job_runs", "shop_stripe_events", "shop_stock_moves",
    "used_car_leads",  # the buyers who asked about the owner's car: their data, not the owner's
})  # fmt: skip
SECRET_MARKS = ("hash", "token", "secret", "idempotency", "password")
USER_COLUMNS_KEPT = (
    "id", "role", "name", "phone", "email", "store_id", "advisor_id", "is_active",
    "locale", "remind_inapp", "remind_email", "created_at", "last_login_at",
    "password_changed_at",
)  # fmt: skip
README = """M4S: your personal information / 您的个人信息

data.json holds every table with rows about you; csv/ holds the same, one file per table
(UTF-8 with BOM, opens in Excel). Times are UTC (ISO 8601). Money is in fen (1/100 yuan).
data.json 包含与您有关的全部数据表；csv/ 目录是同样的数据，每张表一个文件
（UTF-8 带 BOM，可直接用 Excel 打开）。时间为 UTC（ISO 8601 格式），金额单位为分。
"""


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _columns(table: Table) -> list:
    if table.name == "users":
        return [table.c[name] for name in USER_COLUMNS_KEPT if name in table.c]
    return [
        c
        for c in table.columns
        if not isinstance(c.type, LargeBinary) and not any(m in c.name for m in SECRET_MARKS)
    ]


def collect(owner: User) -> dict[str, list[dict[str, Any]]]:
    """Return {table: rows} of everything held about the owner (rows as JSON-ready dicts)."""
    found: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, list[Any]] = {}
    for table in Base.metadata.sorted_tables:  # parents before the tables that point at them
        if table.name in SKIP_TABLES:
            continue
        if table.name == "users":
            conditions = [table.c.id == owner.id]
        else:
            conditions = [table.c[n] == owner.id for n in OWNER_COLUMNS if n in table.c]
            for column in table.columns:
                for fk in column.foreign_keys:
                    parent = fk.column.table.name
                    if parent != "users" and ids.get(parent):
                        conditions.append(column.in_(ids[parent]))
        if not conditions:
            continue
        pk = list(table.primary_key.columns)
        rows = db.session.execute(
            select(*_columns(table)).where(or_(*conditions)).order_by(*pk)
        ).mappings()
        rows = [{k: _value(v) for k, v in row.items()} for row in rows]
        if rows:
            found[table.name] = rows
            if len(pk) == 1 and pk[0].name in rows[0]:
                ids[table.name] = [row[pk[0].name] for row in rows]
    return found


def export_zip(owner: User) -> bytes:
    """Return a zip of data.json, one CSV per table and a short bilingual README."""
    tables = collect(owner)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        document = {"exported_at": now().isoformat(), "account_id": owner.id, "tables": tables}
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=1))
        for name, rows in tables.items():
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=list(rows[0]))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _csv(v) for k, v in row.items()})
            archive.writestr(f"csv/{name}.csv", "\ufeff" + text.getvalue())
    return buffer.getvalue()


def _csv(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet must not run a note as a formula (OWASP CSV injection)
    return value
