"""Leads from third-party car platforms: read an Autohome, Dongchedi or Yiche export, check
every row (a dry run), then import all of it in one transaction, or nothing.

The file itself is read by the back office (admin/imports.py ``read_table``: CSV in UTF-8 or
GBK, or .xlsx); this module gets its rows as text. ``PLATFORM_COLUMNS`` below is the data that
says which header a platform's export gives each field; the platform is told from the header
(``detect_platform``) and the manager may override it. Each imported row dedupes to the known
customer by phone (group-wide, crm/customers.py), becomes a lead whose source is the platform
(or joins the customer's open lead at the store), and is routed like any other lead: an owner
and a first-contact task due from the moment of import (opening hours respected). The lead
keeps the platform's creation time; the platform's lead id is kept once per store
(crm_platform_leads), so importing the same export again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from crm import lead_import_apply
from crm.customers import find_customer
from crm.lead_import_apply import JOINS, NEW, SKIPPED
from crm.lead_import_models import PlatformLead
from crm.models import ACTIVE_STATES, AUTOHOME, DONGCHEDI, PLATFORMS, YICHE, Lead
from crm.pipeline_models import DemoCar
from crm.staffing_models import RoutingRule
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import MaintenancePlan, Store, User
from portal.models.accounts import OWNER
from portal.services.accounts import normalize_phone
from portal.timeutil import now

# Each platform's export: the header spellings of every field, the platform's own first.
# Headers are compared exactly after trimming (lower-cased, for the English ones). A field is
# lead_id (the platform's lead id), name, phone, model (the series or model of interest),
# created (when the customer left their details on the platform, store-local time), city,
# timeframe (when they plan to buy, free text: "1个月内", "3个月内"...) and note.
PLATFORM_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    AUTOHOME: {  # 汽车之家 经销商后台 "线索管理" export
        "lead_id": ("线索ID", "线索id", "lead_id"),
        "name": ("客户姓名", "姓名", "name"),
        "phone": ("手机号", "手机号码", "联系电话", "phone"),
        "model": ("意向车系", "意向车型", "model"),
        "created": ("线索创建时间", "创建时间", "created_at"),
        "city": ("城市", "所在城市", "city"),
        "timeframe": ("预计购车时间", "购车时间", "timeframe"),
        "note": ("备注", "note"),
    },
    DONGCHEDI: {  # 懂车帝 经销商 "留资线索" export
        "lead_id": ("留资ID", "线索ID", "线索id", "lead_id"),
        "name": ("姓名", "客户姓名", "name"),
        "phone": ("联系电话", "手机号", "phone"),
        "model": ("意向车型", "车型", "model"),
        "created": ("留资时间", "提交时间", "created_at"),
        "city": ("所在城市", "城市", "city"),
        "timeframe": ("购车时间", "预计购车时间", "timeframe"),
        "note": ("留言", "备注", "note"),
    },
    YICHE: {  # 易车 商家后台 "询价线索" export
        "lead_id": ("线索编号", "订单号", "线索ID", "lead_id"),
        "name": ("用户姓名", "客户姓名", "姓名", "name"),
        "phone": ("手机号码", "手机号", "联系电话", "phone"),
        "model": ("询价车型", "车系", "意向车型", "model"),
        "created": ("提交时间", "询价时间", "created_at"),
        "city": ("城市", "所在城市", "city"),
        "timeframe": ("预计购车时间", "购车周期", "购车时间", "timeframe"),
        "note": ("备注", "note"),
    },
}
REQUIRED = ("lead_id", "phone")
# When they plan to buy (the platform's free text) -> our timeframe; first match wins.
TIMEFRAME_WORDS = (
    ("15d", ("15天", "半个月", "两周", "2周")),
    ("7d", ("7天", "一周", "1周", "3天", "本周", "立即", "马上")),
    ("90d", ("3个月", "三个月", "90天")),
    ("30d", ("1个月", "一个月", "30天", "本月")),
)
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M",
)


@dataclass
class Row:
    """One checked row: its values, what applying it does, and why it cannot (errors) or
    what the manager should know (warnings)."""

    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outcome: str = NEW
    customer_id: int | None = None
    lead_id: int | None = None  # the open lead it joins, or the lead it was imported as
    submitted_at: datetime | None = None
    timeframe: str = "later"


def _spellings(platform: str) -> dict[str, str]:
    return {s.lower(): name for name, ss in PLATFORM_COLUMNS[platform].items() for s in ss}


def detect_platform(header: list[str]) -> str | None:
    """Return the platform whose own headers the file's header has most of (None: unclear)."""
    titles = {t.strip().lower() for t in header}
    scores = {}
    for platform in PLATFORMS:
        others = set().union(*(_spellings(p) for p in PLATFORMS if p != platform))
        scores[platform] = len(titles & (set(_spellings(platform)) - others))
    best = max(scores.values())
    winners = [p for p, n in scores.items() if n == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def column_map(header: list[str], platform: str) -> dict[str, int]:
    """Return each field's position in the header; ValidationError if a needed one is missing."""
    spelled = _spellings(platform)
    found: dict[str, int] = {}
    for i, title in enumerate(header):
        name = spelled.get(title.strip().lower())
        if name is not None and name not in found:
            found[name] = i
    missing = [" / ".join(PLATFORM_COLUMNS[platform][c][:2]) for c in REQUIRED if c not in found]
    if missing:
        raise ValidationError(_("Columns missing from the file: %(cols)s", cols=", ".join(missing)))
    return found


def timeframe_of(text: str) -> str:
    """Return our purchase timeframe for a platform's "when they buy" text ("later" if vague)."""
    for timeframe, words in TIMEFRAME_WORDS:
        if any(w in text for w in words):
            return timeframe
    return "later"


def parse_time(text: str, store: Store) -> datetime | None:
    """Return a store-local date and time written in a platform export, in UTC (None: bad)."""
    text = text.strip().replace("T", " ")
    for fmt in TIME_FORMATS:
        try:
            local = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=ZoneInfo(store.timezone)).astimezone(ZoneInfo("UTC"))
    return None


def known_models(store: Store) -> set[str]:
    """Return the model names the store knows (demo cars, maintenance plans, routing rules)."""
    names = set()
    for car in db.session.scalars(select(DemoCar).where(DemoCar.store_id == store.id)):
        names |= {car.model_zh, car.model_en}
    names |= set(db.session.scalars(select(MaintenancePlan.series)))
    names |= set(
        db.session.scalars(
            select(RoutingRule.model_contains).where(RoutingRule.store_id == store.id)
        )
    )
    return {n.strip().casefold() for n in names if n and n.strip()}


def check_rows(table: list[list[str]], store: Store, platform: str) -> list[Row]:
    """Check every row (values, duplicates in the file, ids already imported); change nothing."""
    if platform not in PLATFORMS:
        raise ValidationError(_("Choose the platform the file comes from."), field="platform")
    if len(table) < 2:
        raise ValidationError(_("The file has no leads: only a header, or nothing."))
    cap = current_app.config["LEAD_IMPORT_MAX_ROWS"]
    if len(table) - 1 > cap:
        raise ValidationError(_("The file has more than %(n)d rows: split it.", n=cap))
    cols = column_map(table[0], platform)
    models, seen, rows = known_models(store), {"lead_id": {}, "phone": {}}, []
    for line, cells in enumerate(table[1:], start=2):
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in cols.items()}
        row = Row(line=line, values=values)
        _check_values(row, store, models)
        _check_duplicates(row, seen)
        if not row.errors:
            _check_records(row, store, platform)
        rows.append(row)
    return rows


def _check_values(row: Row, store: Store, models: set[str]) -> None:
    v = row.values
    if not v["lead_id"]:
        row.errors.append(_("The platform's lead ID is empty."))
    elif len(v["lead_id"]) > 64:
        row.errors.append(_("The platform's lead ID is longer than 64 characters."))
    if not v["phone"]:
        row.errors.append(_("The phone number is missing."))
    else:
        phone = normalize_phone(v["phone"])
        if phone is None:
            row.errors.append(_("Bad phone number: %(value)s", value=v["phone"]))
        else:
            v["phone"] = phone
    if not v.get("name"):
        row.warnings.append(_("No name: the customer is named by their phone number."))
    created = v.get("created", "")
    row.submitted_at = parse_time(created, store) if created else now()
    if row.submitted_at is None:
        row.errors.append(_("Bad creation time: %(value)s", value=created))
    elif row.submitted_at > now() + timedelta(hours=1):
        row.errors.append(_("The creation time is in the future: %(value)s", value=created))
    row.timeframe = timeframe_of(v.get("timeframe", ""))
    model = v.get("model", "").casefold()
    if model and models and not any(m in model or model in m for m in models):
        row.warnings.append(
            _("Unknown model %(value)s: kept as written.", value=v.get("model", ""))
        )


def _check_duplicates(row: Row, seen: dict[str, dict]) -> None:
    v = row.values
    earlier = seen["lead_id"].setdefault(v["lead_id"], row.line) if v["lead_id"] else row.line
    if earlier != row.line:
        row.errors.append(_("Duplicate row: the same lead ID as line %(line)d.", line=earlier))
        return
    if v["phone"] and not row.errors:
        earlier = seen["phone"].setdefault(v["phone"], row.line)
        if earlier != row.line:
            row.errors.append(
                _("Duplicate row: the same phone number as line %(line)d.", line=earlier)
            )


def _check_records(row: Row, store: Store, platform: str) -> None:
    v = row.values
    done = db.session.scalar(
        select(PlatformLead.lead_id).where(
            PlatformLead.store_id == store.id,
            PlatformLead.source == platform,
            PlatformLead.external_id == v["lead_id"],
        )
    )
    if done is not None:
        row.outcome, row.lead_id = SKIPPED, done
        return
    found = find_customer(v["phone"])
    if found is None:
        return
    if found.role != OWNER:
        row.errors.append(_("This number belongs to a staff account."))
        return
    row.customer_id = found.id
    row.lead_id = db.session.scalar(
        select(Lead.id).where(
            Lead.customer_id == found.id,
            Lead.store_id == store.id,
            Lead.state.in_(ACTIVE_STATES),
        )
    )
    if row.lead_id is not None:
        row.outcome = JOINS


def apply_rows(table: list[list[str]], store: Store, platform: str, actor: User) -> dict:
    """Import every lead of the file, or raise ValidationError and import nothing; the caller
    commits (or rolls back)."""
    rows = check_rows(table, store, platform)
    bad = sum(1 for r in rows if r.errors)
    if bad:
        raise ValidationError(
            _(
                "Nothing was imported: %(n)d rows have errors. Correct them and try again.",
                n=bad,
            )
        )
    return lead_import_apply.apply(rows, store, platform, actor)
