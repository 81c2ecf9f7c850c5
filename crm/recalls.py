"""Recall notices: a manager uploads the VINs a manufacturer's recall affects; the list becomes
a segment (the owners of those cars at the store) and one tap sends the notice.

A recall notice is a safety message, not marketing (《缺陷汽车产品召回管理条例》 has owners
told): it goes to every affected owner the store can reach, on each channel they can be reached
on, whatever their marketing consent, with no holdout and without using up the marketing cap.
A file with a bad VIN is refused whole, each bad line named, so no owner is silently missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm import campaigns
from crm.campaign_models import RECALL, Campaign, RecallList, RecallVin, Segment
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import Store, User, Vehicle
from portal.timeutil import now
from portal.validation import InvalidIdentifier, normalize_vin

MAX_VINS = 50_000
RESEND_AFTER = timedelta(days=1)
SHOWN_ERRORS = 20
HEADERS = {"vin", "vin码", "车架号", "车辆识别代号", "车辆识别号"}
CHANNELS = ("inapp", "sms", "email", "wechat")
NOTICE = {
    "subject_zh": "{name}，您的车辆在召回范围内",
    "body_zh": "{name}您好，您的车辆在厂家本次召回范围内。{store}将免费为您检修，"
    "请尽快在线预约或致电到店，检修约需半天。",
    "subject_en": "{name}, your car is part of a recall",
    "body_en": "Hello {name}, your car is part of the manufacturer's recall. {store} will "
    "repair it free of charge: please book online or call us soon; it takes about half a day.",
}


@dataclass(frozen=True)
class Checked:
    vins: list[str]
    errors: list[tuple[int, str, str]]  # line, what was there, why it is not a VIN
    duplicates: int


def check_table(table: list[list[str]]) -> Checked:
    """Check the VINs of an uploaded table (the back office reads the CSV or .xlsx file): a
    header row is optional; the VIN column is the one headed VIN or 车架号, else the first."""
    column, start = 0, 0
    header = [cell.strip().lower() for cell in table[0]] if table else []
    for i, name in enumerate(header):
        if name in HEADERS:
            column, start = i, 1
            break
    seen: dict[str, None] = {}
    errors, duplicates = [], 0
    for line, row in enumerate(table[start:], start=start + 1):
        raw = row[column].strip() if column < len(row) else ""
        try:
            vin = normalize_vin(raw)
        except InvalidIdentifier as exc:
            errors.append((line, raw[:40], _(str(exc))))
            continue
        if vin in seen:
            duplicates += 1
        seen[vin] = None
    if len(seen) > MAX_VINS:
        raise ValidationError(_("A recall list holds at most %(n)d VINs: split it.", n=MAX_VINS))
    if not seen and not errors:
        raise ValidationError(_("The file holds no VINs."))
    return Checked(list(seen), errors, duplicates)


def affected(recall: RecallList) -> int:
    """Return how many of the store's owners drive a car of the recall (one statement)."""
    return db.session.scalar(
        select(func.count(func.distinct(Vehicle.owner_id)))
        .join(User, User.id == Vehicle.owner_id)
        .join(RecallVin, RecallVin.vin == Vehicle.vin)
        .where(RecallVin.list_id == recall.id, User.store_id == recall.store_id)
    )


def save_list(actor: User, store: Store, name: str, checked: Checked) -> RecallList:
    """Keep the recall's VINs and its segment (flushed); refuse a file with bad lines."""
    name = (name or "").strip()[:120]
    if not name:
        raise ValidationError(_("Name the recall, e.g. the manufacturer's recall number."), "name")
    if checked.errors:
        raise ValidationError(
            _("%(n)d lines are not VINs: correct them and upload again.", n=len(checked.errors))
        )
    segment = Segment(store_id=store.id, name=f"召回 · Recall: {name}"[:80], rule={})
    recall = RecallList(
        store_id=store.id, name=name, vins=len(checked.vins), created_by_id=actor.id
    )
    try:
        with db.session.begin_nested():
            db.session.add(segment)
            db.session.flush()
            recall.segment_id = segment.id
            db.session.add(recall)
            db.session.flush()
    except IntegrityError as exc:
        raise ValidationError(_("The store already has a recall of that name."), "name") from exc
    segment.rule = {"field": "recall", "op": "is", "value": recall.id}
    for start in range(0, len(checked.vins), 5000):
        db.session.execute(
            insert(RecallVin),
            [{"list_id": recall.id, "vin": v} for v in checked.vins[start : start + 5000]],
        )
    db.session.flush()
    return recall


def send_notice(actor: User, recall: RecallList, texts: dict[str, str]) -> Campaign:
    """Write the recall's notice on every channel and start sending it (flushed). A second
    tap within a day (a double click, a colleague at the same moment) is refused: the claim
    is a conditional UPDATE, so of two at once one wins."""
    if not (texts.get("body_zh") or "").strip():
        raise ValidationError(_("Write the notice in Chinese."), field="body_zh")
    at = now()
    claimed = db.session.execute(
        update(RecallList)
        .where(
            RecallList.id == recall.id,
            or_(RecallList.notice_at.is_(None), RecallList.notice_at < at - RESEND_AFTER),
        )
        .values(notice_at=at)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict(_("This recall's notice went out less than a day ago."))
    text = {k: (texts.get(k) or "").strip() for k in NOTICE}
    draft = campaigns.Draft(
        name=f"召回通知 · Recall notice: {recall.name}"[:120],
        segment=recall.segment,
        texts=dict.fromkeys(CHANNELS, text),
        unit_costs={"sms": 5},
        holdout_pct=0,  # a safety notice is never withheld
        window_days=60,
    )
    campaign = campaigns.create_campaign(actor, draft, builtin=RECALL)
    return campaigns.start(actor, campaign)


def notices(recall: RecallList) -> list[Campaign]:
    """Return the notices sent for a recall, newest first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.segment_id == recall.segment_id, Campaign.builtin == RECALL)
            .order_by(Campaign.id.desc())
        )
    )
