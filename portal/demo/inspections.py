"""Demo inspections: a checklist per store, a year of decided inspections on completed jobs
(so "what other owners chose" has data), and a sent inspection with photos waiting for the
owner on a car in the workshop now."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from PIL import Image as PILImage
from PIL import ImageDraw
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Booking,
    Inspection,
    InspectionItem,
    InspectionTemplate,
    JobLine,
    Store,
    TemplateItem,
)
from portal.models.bookings import COMPLETED, IN_PROGRESS
from portal.models.inspections import AMBER, APPROVED, DECLINED, GREEN, PENDING, RED, SENT
from portal.services.inspections.decisions import _count
from portal.services.media import store_image
from portal.timeutil import now

# (zh, en, maintenance plan code or None, price in yuan, chance amber, chance red)
CHECKLIST = [
    ("刹车片", "Brake pads", None, 480, 0.25, 0.08),
    ("刹车油", "Brake fluid", "brake_fluid", 300, 0.20, 0.05),
    ("机油", "Engine oil", "engine_oil", 380, 0.15, 0.03),
    ("空调滤清器", "Cabin filter", "cabin_filter", 150, 0.30, 0.05),
    ("空气滤清器", "Air filter", "air_filter", 120, 0.25, 0.04),
    ("轮胎", "Tyres", "tyre_rotation", 100, 0.20, 0.05),
    ("蓄电池", "Battery", "battery_check", 650, 0.10, 0.04),
    ("冷却液", "Coolant", "coolant", 350, 0.10, 0.02),
    ("雨刮片", "Wiper blades", None, 120, 0.30, 0.05),
    ("灯光", "Lights", None, 80, 0.08, 0.02),
]
# How often owners approve, by severity (the demo's behaviour, not a claim about the world).
APPROVE_CHANCE = {AMBER: 0.42, RED: 0.78}
HISTORY_PER_STORE = 150


def _template(store: Store) -> InspectionTemplate:
    template = db.session.scalar(
        select(InspectionTemplate).where(InspectionTemplate.store_id == store.id)
    )
    if template is not None:
        return template
    template = InspectionTemplate(store_id=store.id, name="多项检查 · Multipoint")
    for position, (zh, en, code, yuan, *_) in enumerate(CHECKLIST, start=1):
        template.items.append(
            TemplateItem(
                position=position, name_zh=zh, name_en=en, plan_item_code=code, price_fen=yuan * 100
            )
        )
    db.session.add(template)
    db.session.flush()
    return template


def _worn_part_jpeg(rng: random.Random, severity: str) -> bytes:
    """Draw a placeholder 'photo' of a worn part: a disc with a coloured wear mark."""
    img = PILImage.new("RGB", (800, 600), (rng.randint(60, 90),) * 3)
    d = ImageDraw.Draw(img)
    d.ellipse((200, 100, 600, 500), fill=(150, 150, 155), outline=(40, 40, 40), width=12)
    d.ellipse((350, 250, 450, 350), fill=(70, 70, 70))
    mark = (200, 40, 40) if severity == RED else (230, 160, 20)
    d.arc((180, 80, 620, 520), rng.randint(0, 180), rng.randint(200, 340), fill=mark, width=24)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _inspect(rng, booking: Booking, template: InspectionTemplate, sent_at) -> Inspection:
    inspection = Inspection(
        booking_id=booking.id,
        store_id=booking.store_id,
        template_id=template.id,
        inspector_id=booking.advisor_id,
        status=SENT,
        created_at=sent_at - timedelta(minutes=25),
        sent_at=sent_at,
        sent_by_id=booking.advisor_id,
    )
    for position, (zh, en, code, yuan, amber, red) in enumerate(CHECKLIST, start=1):
        roll = rng.random()
        severity = RED if roll < red else AMBER if roll < red + amber else GREEN
        inspection.items.append(
            InspectionItem(
                position=position,
                name_zh=zh,
                name_en=en,
                plan_item_code=code,
                severity=severity,
                price_fen=yuan * 100,
                decision=PENDING,
            )
        )
    db.session.add(inspection)
    db.session.flush()
    return inspection


def _decided_history(rng, store: Store, template: InspectionTemplate) -> None:
    done = db.session.scalars(
        select(Booking)
        .where(Booking.store_id == store.id, Booking.status == COMPLETED)
        .order_by(Booking.slot_start.desc())
        .limit(HISTORY_PER_STORE)
    ).all()
    for booking in done:
        if booking.advisor_id is None:
            continue
        sent_at = booking.slot_start + timedelta(hours=1)
        inspection = _inspect(rng, booking, template, sent_at)
        if rng.random() < 0.85:
            inspection.opened_at = sent_at + timedelta(minutes=rng.randint(2, 90))
        for item in inspection.recommendations:
            if inspection.opened_at is None:
                continue
            approved = rng.random() < APPROVE_CHANCE[item.severity]
            item.decision = APPROVED if approved else DECLINED
            item.decided_at = inspection.opened_at + timedelta(minutes=rng.randint(1, 20))
            item.reminded_at = item.decided_at  # history: its reminders are long past
            _count(item, approved)
            if approved:
                db.session.add(
                    JobLine(
                        booking_id=booking.id,
                        description_zh=item.name_zh,
                        description_en=item.name_en,
                        price_fen=item.price_fen,
                        inspection_item_id=item.id,
                        created_at=item.decided_at,
                    )
                )


def _waiting_now(rng, store: Store, template: InspectionTemplate) -> None:
    booking = db.session.scalar(
        select(Booking)
        .where(Booking.store_id == store.id, Booking.status == IN_PROGRESS)
        .order_by(Booking.id)
        .limit(1)
    )
    if booking is None or booking.inspection is not None or booking.advisor_id is None:
        return
    inspection = _inspect(rng, booking, template, now() - timedelta(minutes=20))
    severities = {"刹车片": RED, "空调滤清器": AMBER, "雨刮片": AMBER}
    notes = {
        "刹车片": "前刹车片剩余约 2 mm，低于 3 mm 安全线。",
        "空调滤清器": "滤芯发黑，有异味。",
    }
    for item in inspection.items:
        item.severity = severities.get(item.name_zh, GREEN)
        item.note = notes.get(item.name_zh, "")
        if item.severity != GREEN:
            item.image = store_image(
                _worn_part_jpeg(rng, item.severity), owner=booking.owner, field="photo"
            )
    db.session.flush()


def load_inspection_demo(seed: int = 7) -> int:
    """Add a checklist per store and the inspections above; nothing if they exist already."""
    if db.session.scalar(select(Inspection.id).limit(1)) is not None:
        return 0
    rng = random.Random(seed)
    stores = list(db.session.scalars(select(Store).order_by(Store.id)))
    for store in stores:
        template = _template(store)
        _decided_history(rng, store, template)
        _waiting_now(rng, store, template)
    db.session.flush()
    return len(stores)
